//! The share protocol's requests as the broker gets them: ShareFetch (with the acknowledgements
//! riding along; sent through the fetch core, `fetch/send.rs`) and ShareAcknowledge built from a
//! session's plan, sent on the member's own socket; ShareGroupHeartbeat on the coordinator's.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use crate::protocol::messages::share_acknowledge_request::{
    AcknowledgePartition, AcknowledgeTopic, AcknowledgementBatch as AckBatch,
};
use crate::protocol::messages::share_fetch_request::{
    AcknowledgementBatch as FetchAckBatch, FetchPartition, FetchTopic, ForgottenTopic,
};
use crate::protocol::messages::{
    ShareAcknowledgeRequest, ShareFetchRequest, ShareGroupHeartbeatRequest,
    ShareGroupHeartbeatResponse,
};
use uuid::Uuid;

use crate::error::{Error, ErrorKind, Result};
use crate::events::TopicPartition;
use crate::fetch::share_session::{by_topic, FetchPlan};
use crate::net::{Connection, Lane};
use crate::share::acks::{ranges, AckRange};
use crate::share::ShareConsumerConfig;
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
    req.group_id = Some(who.group.to_string());
    req.member_id = Some(who.member.to_string());
    req.share_session_epoch = plan.epoch;
    req.max_wait_ms = config.max_wait.as_millis().min(i32::MAX as u128) as i32;
    req.min_bytes = config.min_bytes;
    req.max_bytes = config.max_bytes;
    req.max_records = config.max_records;
    req.batch_size = config.max_records;
    req.share_acquire_mode = config.acquire_mode.code();
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
    req.group_id = Some(who.group.to_string());
    req.member_id = Some(who.member.to_string());
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

/// The strict record limit is ShareFetch v2's: at v1 the field would be dropped (it is
/// ignorable) and fetches would quietly hand out whole batches.
pub(crate) fn check_acquire_mode(req: &ShareFetchRequest, version: i16, addr: &str) -> Result<()> {
    if version < 2 && req.share_acquire_mode != 0 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "share_fetch",
            format!(
                "the broker at {addr} offers ShareFetch v{version}, which has no strict record limit (ShareAcquireMode::RecordLimit needs v2, Apache Kafka 4.2+); upgrade the broker or use ShareAcquireMode::BatchOptimized"
            ),
        ));
    }
    Ok(())
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

/// The ShareAcknowledge version that renews locks.
pub(crate) const RENEW_VERSION: i16 = 2;

/// The renewal of `acks`' locks: their acknowledgement request with `IsRenewAck` set.
pub(crate) fn renewal(req: &ShareAcknowledgeRequest) -> ShareAcknowledgeRequest {
    let mut req = req.clone();
    req.is_renew_ack = true;
    req
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
    let resp = conn
        .send_version(&renewal(req), RENEW_VERSION)
        .await
        .map_err(|e| e.during("renew"))?;
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
    fn a_renewal_is_the_acknowledgement_with_is_renew_ack_at_v2() {
        use crate::protocol::wire::{decode_all, encode_to_bytes};
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
        let req = renewal(&acknowledge(&who, 7, &acks));
        let bytes = encode_to_bytes(&req, RENEW_VERSION).unwrap();
        // body: "g" (2 bytes), "m" (2 bytes), epoch 7 (4 bytes), then IsRenewAck.
        assert_eq!(&bytes[4..8], &7i32.to_be_bytes());
        assert_eq!(bytes[8], 1, "IsRenewAck");
        let back: ShareAcknowledgeRequest = decode_all(bytes, RENEW_VERSION).unwrap();
        assert_eq!(back, req);
        // v1 has no renewals: asking for one there is an error, not a silent acknowledgement.
        assert!(encode_to_bytes(&req, 1).is_err());
    }

    #[test]
    fn a_strict_record_limit_is_refused_where_the_broker_would_drop_it() {
        let mut req = ShareFetchRequest::default();
        assert!(check_acquire_mode(&req, 1, "b:9092").is_ok());
        req.share_acquire_mode = crate::share::ShareAcquireMode::RecordLimit.code();
        assert!(check_acquire_mode(&req, 2, "b:9092").is_ok());
        let e = check_acquire_mode(&req, 1, "b:9092").unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Unsupported);
        for part in ["b:9092", "ShareFetch v1", "RecordLimit", "BatchOptimized"] {
            assert!(e.to_string().contains(part), "{part}: {e}");
        }
    }

    #[test]
    fn a_fetch_encodes_at_v1_and_at_v2() {
        use crate::protocol::wire::encode_to_bytes;
        let mut acks = AckSet::new();
        acks.insert(TopicPartition::new("t", 0), [(5, 0)].into_iter().collect());
        let names: HashMap<Uuid, String> = [(Uuid::from_u128(9), "t".to_string())].into();
        let ids: BTreeMap<String, Uuid> = [("t".to_string(), Uuid::from_u128(9))].into();
        let who = Who {
            group: "g",
            member: "m",
            names: &names,
            ids: &ids,
        };
        let plan = FetchPlan {
            epoch: 1,
            listed: [TopicPartition::new("t", 0)].into(),
            forget: BTreeSet::new(),
            acks_allowed: true,
        };
        let req = fetch(&who, &ShareConsumerConfig::new("g"), &plan, &acks);
        // Every field set is one both stable versions have (PartitionMaxBytes, v0 only, is
        // left unset: the generated encoder refuses a field a version lacks).
        encode_to_bytes(&req, 1).unwrap();
        encode_to_bytes(&req, 2).unwrap();
    }
}
