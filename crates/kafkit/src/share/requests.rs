//! The share protocol's requests as the broker gets them: ShareFetch (with the acknowledgements
//! riding along) and ShareAcknowledge built from a session's plan, and sent on the member's
//! own socket; ShareGroupHeartbeat on the coordinator's.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use kafka_protocol::messages::share_acknowledge_request::{
    AcknowledgePartition, AcknowledgeTopic, AcknowledgementBatch as AckBatch,
};
use kafka_protocol::messages::share_fetch_request::{
    AcknowledgementBatch as FetchAckBatch, FetchPartition, FetchTopic, ForgottenTopic,
};
use kafka_protocol::messages::{
    ShareAcknowledgeRequest, ShareFetchRequest, ShareGroupHeartbeatRequest,
    ShareGroupHeartbeatResponse,
};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::acks::{ranges, AckRange};
use super::fetch::{self, ShareAnswer};
use super::session::{by_topic, FetchPlan};
use super::ShareConsumerConfig;
use crate::consumer::fetcher::Budget;
use crate::error::{Error, ErrorKind, Result};
use crate::events::TopicPartition;
use crate::net::{Connection, Lane};
use crate::Kafka;

/// Acknowledgements by partition: offset → wire type.
pub(crate) type AckSet = BTreeMap<TopicPartition, BTreeMap<i64, i8>>;

/// Who asks, and how topics are named both ways.
pub(crate) struct Who<'a> {
    pub group: &'a str,
    pub member: &'a str,
    pub names: &'a HashMap<Uuid, String>,
    pub ids: &'a BTreeMap<String, Uuid>,
}

impl Who<'_> {
    fn partition(&self, id: &Uuid, p: i32) -> TopicPartition {
        TopicPartition::new(self.names.get(id).cloned().unwrap_or_default(), p)
    }
}

fn batches<B: Default>(
    acks: Option<&BTreeMap<i64, i8>>,
    make: impl Fn(&mut B, AckRange),
) -> Vec<B> {
    acks.map(|a| {
        ranges(a)
            .into_iter()
            .map(|r| {
                let mut b = B::default();
                make(&mut b, r);
                b
            })
            .collect()
    })
    .unwrap_or_default()
}

/// The ShareFetch for `plan`, carrying `acks`.
pub(crate) fn fetch(
    who: &Who<'_>,
    config: &ShareConsumerConfig,
    plan: &FetchPlan,
    acks: &AckSet,
) -> ShareFetchRequest {
    let mut req = ShareFetchRequest::default();
    req.group_id = Some(StrBytes::from_string(who.group.to_string()).into());
    req.member_id = Some(StrBytes::from_string(who.member.to_string()));
    req.share_session_epoch = plan.epoch;
    req.max_wait_ms = config.max_wait.as_millis().min(i32::MAX as u128) as i32;
    req.min_bytes = config.min_bytes;
    req.max_bytes = config.max_bytes;
    req.max_records = config.max_records;
    req.batch_size = config.max_records;
    let listed: BTreeSet<&TopicPartition> = plan.listed.iter().chain(acks.keys()).collect();
    req.topics = by_topic(listed, who.ids)
        .into_iter()
        .map(|(id, partitions)| {
            let mut t = FetchTopic::default();
            t.topic_id = id;
            t.partitions = partitions
                .into_iter()
                .map(|p| {
                    let mut fp = FetchPartition::default();
                    fp.partition_index = p;
                    fp.partition_max_bytes = config.max_bytes;
                    fp.acknowledgement_batches = batches(
                        acks.get(&who.partition(&id, p)),
                        |b: &mut FetchAckBatch, r| {
                            b.first_offset = r.first;
                            b.last_offset = r.last;
                            b.acknowledge_types = r.types;
                        },
                    );
                    fp
                })
                .collect();
            t
        })
        .collect();
    req.forgotten_topics_data = by_topic(&plan.forget, who.ids)
        .into_iter()
        .map(|(id, partitions)| {
            let mut f = ForgottenTopic::default();
            f.topic_id = id;
            f.partitions = partitions;
            f
        })
        .collect();
    req
}

/// The ShareAcknowledge of `acks` at session epoch `epoch` (-1 also ends the session).
pub(crate) fn acknowledge(who: &Who<'_>, epoch: i32, acks: &AckSet) -> ShareAcknowledgeRequest {
    let mut req = ShareAcknowledgeRequest::default();
    req.group_id = Some(StrBytes::from_string(who.group.to_string()).into());
    req.member_id = Some(StrBytes::from_string(who.member.to_string()));
    req.share_session_epoch = epoch;
    req.topics = by_topic(acks.keys(), who.ids)
        .into_iter()
        .map(|(id, partitions)| {
            let mut t = AcknowledgeTopic::default();
            t.topic_id = id;
            t.partitions = partitions
                .into_iter()
                .map(|p| {
                    let mut ap = AcknowledgePartition::default();
                    ap.partition_index = p;
                    ap.acknowledgement_batches =
                        batches(acks.get(&who.partition(&id, p)), |b: &mut AckBatch, r| {
                            b.first_offset = r.first;
                            b.last_offset = r.last;
                            b.acknowledge_types = r.types;
                        });
                    ap
                })
                .collect();
            t
        })
        .collect();
    req
}

/// Sends a ShareFetch to `node` on the member's socket and decodes the answer.
pub(crate) async fn send_fetch(
    kafka: &Kafka,
    node: i32,
    lane: Lane,
    req: &ShareFetchRequest,
    names: &HashMap<Uuid, String>,
    timeout: Duration,
    budget: Budget,
) -> Result<ShareAnswer> {
    let conn = kafka.pool().get(node, lane).await?;
    let v = conn.version::<ShareFetchRequest>()?;
    let resp = conn.send_timeout(req, v, timeout).await?;
    fetch::parse(resp, names, &mut { budget })
}

/// Sends a ShareAcknowledge; the outcome per partition.
pub(crate) async fn send_acknowledge(
    kafka: &Kafka,
    node: i32,
    lane: Lane,
    req: &ShareAcknowledgeRequest,
    names: &HashMap<Uuid, String>,
) -> Result<Vec<(TopicPartition, Option<Error>)>> {
    let conn = kafka.pool().get(node, lane).await?;
    let v = conn.version::<ShareAcknowledgeRequest>()?;
    let resp = conn.send_version(req, v).await?;
    Error::check(resp.error_code, "share_acknowledge", || {
        "the broker refused the acknowledgements".to_string()
    })?;
    let mut out = Vec::new();
    for t in resp.responses {
        let Some(name) = names.get(&t.topic_id) else {
            continue;
        };
        for p in t.partitions {
            let tp = TopicPartition::new(name.clone(), p.partition_index);
            let e = Error::from_code(
                p.error_code,
                "share_acknowledge",
                format!("acknowledging records of {tp}"),
            );
            out.push((tp, e));
        }
    }
    Ok(out)
}

pub(crate) async fn send_heartbeat(
    conn: &Connection,
    req: &ShareGroupHeartbeatRequest,
    timeout: Duration,
) -> Result<ShareGroupHeartbeatResponse> {
    let v = conn.version::<ShareGroupHeartbeatRequest>()?;
    conn.send_timeout(req, v, timeout).await
}

/// The broker must serve ShareGroupHeartbeat v1 (Kafka 4.1+; production-ready in 4.2).
pub(crate) fn check_share_protocol(conn: &Connection) -> Result<()> {
    let key = 76;
    match conn.api_versions().range(key) {
        Some((_, max)) if max >= 1 => Ok(()),
        other => Err(Error::new(
            ErrorKind::Unsupported,
            "share_consumer",
            format!(
                "the broker at {} does not serve share groups (KIP-932){}; use Apache Kafka 4.2+ with the share.version feature at 1 or more (kafka-features.sh upgrade --feature share.version=1)",
                conn.addr(),
                match other {
                    Some((min, max)) => format!(" (it offers ShareGroupHeartbeat v{min}-v{max}, kafkit needs v1)"),
                    None => String::new(),
                }
            ),
        )),
    }
}

// ---- Renewing an acquisition lock (KIP-1222, ShareAcknowledge v2) --------------------------
//
// kafka-protocol 0.18 encodes and decodes ShareAcknowledge up to v1. v2 differs on the wire
// only by `IsRenewAck` (a bool after ShareSessionEpoch) in the request and by
// `AcquisitionLockTimeoutMs` (an int32 after ErrorMessage) in the response, so a renewal is the
// v1 encoding with that byte added, and its answer is decoded as v1 once those four bytes are
// taken out (the pre-decoder checks the answer against the v2 schema first). Drop this once the
// crate encodes v2.

/// The ShareAcknowledge version that renews locks.
pub(crate) const RENEW_VERSION: i16 = 2;

/// Turns an encoded ShareAcknowledge v1 frame (length, header v2, body) into v2 with
/// IsRenewAck set.
pub(crate) fn renew_frame(v1: &[u8]) -> Option<Vec<u8>> {
    let mut at = 4; // length
    at += 2; // api key
    let version_at = at;
    at += 2 + 4; // version, correlation id
    let client_len = i16::from_be_bytes(v1.get(at..at + 2)?.try_into().ok()?);
    at += 2 + usize::try_from(client_len.max(0)).ok()?;
    at = skip_tagged(v1, at)?;
    // Body: group id, member id (compact nullable strings), then the epoch.
    at = skip_compact_string(v1, at)?;
    at = skip_compact_string(v1, at)?;
    at += 4;
    if at > v1.len() {
        return None;
    }
    let mut out = Vec::with_capacity(v1.len() + 1);
    out.extend_from_slice(&v1[..at]);
    out.push(1);
    out.extend_from_slice(&v1[at..]);
    let len = i32::try_from(out.len() - 4).ok()?;
    out[..4].copy_from_slice(&len.to_be_bytes());
    out[version_at..version_at + 2].copy_from_slice(&RENEW_VERSION.to_be_bytes());
    Some(out)
}

/// Takes `AcquisitionLockTimeoutMs` out of a ShareAcknowledge v2 response frame (header v1,
/// body), leaving a v1 response.
pub(crate) fn v2_answer_as_v1(frame: &[u8]) -> Option<bytes::Bytes> {
    let mut at = 4; // correlation id
    at = skip_tagged(frame, at)?;
    at += 4 + 2; // throttle, error code
    at = skip_compact_string(frame, at)?;
    if at + 4 > frame.len() {
        return None;
    }
    let mut out = Vec::with_capacity(frame.len() - 4);
    out.extend_from_slice(&frame[..at]);
    out.extend_from_slice(&frame[at + 4..]);
    Some(bytes::Bytes::from(out))
}

fn varint(b: &[u8], mut at: usize) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for shift in (0..35).step_by(7) {
        let byte = *b.get(at)?;
        at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some((v, at));
        }
    }
    None
}

fn skip_compact_string(b: &[u8], at: usize) -> Option<usize> {
    let (n, at) = varint(b, at)?;
    let end = at.checked_add(usize::try_from(n.saturating_sub(1)).ok()?)?;
    (end <= b.len()).then_some(end)
}

fn skip_tagged(b: &[u8], at: usize) -> Option<usize> {
    let (count, mut at) = varint(b, at)?;
    for _ in 0..count.min(1024) {
        let (_, next) = varint(b, at)?;
        let (size, next) = varint(b, next)?;
        at = next.checked_add(usize::try_from(size).ok()?)?;
    }
    (at <= b.len()).then_some(at)
}

/// Renews the acquisition lock of `acks` (offsets with type 4) at session epoch `epoch`.
pub(crate) async fn send_renew(
    kafka: &Kafka,
    node: i32,
    lane: Lane,
    req: &ShareAcknowledgeRequest,
    names: &HashMap<Uuid, String>,
) -> Result<Vec<(TopicPartition, Option<Error>)>> {
    let conn = kafka.pool().get(node, lane).await?;
    let offered = conn.api_versions().range(79).map_or(0, |(_, max)| max);
    if offered < RENEW_VERSION {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "renew",
            format!(
                "the broker at {} cannot renew acquisition locks (it offers ShareAcknowledge v{offered}; renewing needs v2, Apache Kafka 4.2+)",
                conn.addr()
            ),
        ));
    }
    let mut buf = bytes::BytesMut::new();
    let correlation_id = conn.next_correlation_id();
    crate::net::frame::encode_request(&mut buf, req, 1, correlation_id, conn.client_id())?;
    let frame = renew_frame(&buf).ok_or_else(|| {
        Error::protocol("renew", "could not frame the ShareAcknowledge v2 request")
    })?;
    let answer = conn
        .send_raw(
            vec![bytes::Bytes::from(frame)],
            correlation_id,
            "ShareAcknowledge",
        )
        .await?;
    let max = kafka.config().max_response_size;
    crate::protocol::schema::check_response(79, RENEW_VERSION, 1, &answer, max).map_err(|m| {
        if m.too_large {
            return crate::net::connection::response_too_large(
                &m,
                "renew",
                "ShareAcknowledge",
                RENEW_VERSION,
                conn.addr(),
            );
        }
        Error::protocol(
            "renew",
            format!(
                "malformed ShareAcknowledge v2 response from {}: {m}",
                conn.addr()
            ),
        )
    })?;
    let v1 = v2_answer_as_v1(&answer)
        .ok_or_else(|| Error::protocol("renew", "short ShareAcknowledge v2 response"))?;
    let resp = crate::net::connection::decode_response::<ShareAcknowledgeRequest>(
        v1,
        1,
        conn.addr(),
        max,
    )?;
    Error::check(resp.error_code, "renew", || {
        "the broker refused to renew the locks".to_string()
    })?;
    let mut out = Vec::new();
    for t in resp.responses {
        let Some(name) = names.get(&t.topic_id) else {
            continue;
        };
        for p in t.partitions {
            let tp = TopicPartition::new(name.clone(), p.partition_index);
            let e = Error::from_code(p.error_code, "renew", format!("renewing locks of {tp}"));
            out.push((tp, e));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_renewal_is_the_v1_request_with_is_renew_ack_after_the_epoch() {
        let mut acks = AckSet::new();
        acks.insert(TopicPartition::new("t", 0), [(5, 4)].into_iter().collect());
        let names: HashMap<Uuid, String> = [(Uuid::from_u128(9), "t".to_string())].into();
        let ids: BTreeMap<String, Uuid> = [("t".to_string(), Uuid::from_u128(9))].into();
        let who = Who {
            group: "g",
            member: "m",
            names: &names,
            ids: &ids,
        };
        let req = acknowledge(&who, 7, &acks);
        let mut buf = bytes::BytesMut::new();
        crate::net::frame::encode_request(&mut buf, &req, 1, 42, &StrBytes::from_static_str("c"))
            .unwrap();
        let v2 = renew_frame(&buf).unwrap();
        assert_eq!(v2.len(), buf.len() + 1);
        assert_eq!(
            i32::from_be_bytes(v2[..4].try_into().unwrap()) as usize,
            v2.len() - 4
        );
        assert_eq!(
            i16::from_be_bytes(v2[6..8].try_into().unwrap()),
            2,
            "header says v2"
        );
        // header: key, version, correlation, client id "c", no tags = 2+2+4+3+1 = 12 bytes;
        // body: "g" (2 bytes), "m" (2 bytes), epoch 7 (4 bytes), then IsRenewAck.
        let body = 4 + 12;
        assert_eq!(&v2[body + 4..body + 8], &7i32.to_be_bytes());
        assert_eq!(v2[body + 8], 1, "IsRenewAck");
        assert_eq!(&v2[body + 9..], &buf[body + 8..], "the rest is unchanged");
    }

    #[test]
    fn the_v2_lock_timeout_is_taken_out_of_the_answer_and_garbage_is_refused() {
        // correlation id, no tags, throttle 0, error 0, null message, lock 5000, no
        // responses, no endpoints, no tags.
        let mut v2 = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        v2.extend_from_slice(&5000i32.to_be_bytes());
        v2.extend_from_slice(&[1, 1, 0]);
        let v1 = v2_answer_as_v1(&v2).unwrap();
        assert_eq!(&v1[..], &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0]);
        assert!(v2_answer_as_v1(&v2[..9]).is_none());
        assert!(renew_frame(&[0, 0, 0, 9, 0]).is_none());
    }
}
