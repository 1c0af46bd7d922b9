//! Building Fetch requests and turning Fetch responses into records (sans-IO).
//!
//! Decoding is lazy and zero-copy: record keys, values and headers are slices of the response
//! buffer. Under read_committed, records of aborted transactions and control records are
//! skipped, as the broker's aborted-transaction list says.
//!
//! Over 600 lines because a third is tests (budget cuts, epochs, divergence, sizing); the
//! code itself is one request builder and one response walk.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use kafka_protocol::messages::fetch_response::AbortedTransaction;
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::config::{ConsumerConfig, IsolationLevel};
use super::fetch_session::SessionFetch;
use super::message::{Message, MessageHeader};
use crate::error::{Error, ErrorKind, Result};
use crate::events::TopicPartition;
use crate::protocol::record_batch::BatchIter;

/// Where a partition is read from next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchPosition {
    /// Next offset to read.
    pub offset: i64,
    /// The leader epoch metadata knows (lets the broker detect a stale leader: FENCED_LEADER_EPOCH).
    pub current_leader_epoch: i32,
    /// The leader epoch of the record before `offset` (-1: unknown). The leader checks it
    /// against its log (Fetch v12+) and answers with a diverging epoch when the log was
    /// truncated under the consumer by an unclean leader election (KIP-320).
    pub last_fetched_epoch: i32,
}

/// A partition to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchTarget {
    /// Partition.
    pub partition: TopicPartition,
    /// Its topic id (Fetch v13+ names topics by id).
    pub topic_id: Uuid,
    /// Position.
    pub position: FetchPosition,
    /// Bytes of this partition to return at most.
    pub max_bytes: i32,
}

/// Builds a Fetch request: within `session` when one is given and the version has topic ids
/// (v13+; sessions need v7+), otherwise full and sessionless.
pub(crate) fn build_request(
    version: i16,
    config: &ConsumerConfig,
    targets: &[FetchTarget],
    session: Option<&SessionFetch>,
) -> FetchRequest {
    let mut req = FetchRequest::default();
    req.replica_id = BrokerId(-1);
    req.replica_state.replica_id = BrokerId(-1);
    req.replica_state.replica_epoch = -1;
    req.max_wait_ms = config.max_wait.as_millis().min(i32::MAX as u128) as i32;
    req.min_bytes = config.min_bytes;
    // A batch bigger than max_bytes fits only if the response may be that big too.
    req.max_bytes = targets
        .iter()
        .map(|t| t.max_bytes)
        .fold(config.max_bytes, i32::max);
    req.isolation_level = config.isolation_level as i8;
    let session = session.filter(|_| version >= 13);
    let targets = match session {
        Some(s) => {
            req.session_id = s.session_id;
            req.session_epoch = s.epoch;
            let mut forgotten: BTreeMap<Uuid, Vec<i32>> = BTreeMap::new();
            for (tp, id) in &s.forget {
                forgotten.entry(*id).or_default().push(tp.partition);
            }
            req.forgotten_topics_data = forgotten
                .into_iter()
                .map(|(id, partitions)| {
                    let mut f = ForgottenTopic::default();
                    f.topic_id = id;
                    f.partitions = partitions;
                    f
                })
                .collect();
            s.send.as_slice()
        }
        None => {
            // Sessionless: every partition, every time.
            req.session_id = 0;
            req.session_epoch = -1;
            targets
        }
    };
    req.rack_id = StrBytes::from_string(config.rack_id.clone().unwrap_or_default());
    let mut topics: BTreeMap<&str, FetchTopic> = BTreeMap::new();
    for t in targets {
        let topic = topics.entry(t.partition.topic.as_str()).or_insert_with(|| {
            let mut ft = FetchTopic::default();
            if version >= 13 {
                ft.topic_id = t.topic_id;
            } else {
                ft.topic = TopicName(StrBytes::from_string(t.partition.topic.clone()));
            }
            ft
        });
        let mut p = FetchPartition::default();
        p.partition = t.partition.partition;
        p.current_leader_epoch = t.position.current_leader_epoch;
        p.fetch_offset = t.position.offset;
        p.last_fetched_epoch = if version >= 12 {
            t.position.last_fetched_epoch
        } else {
            -1
        };
        p.log_start_offset = -1;
        p.partition_max_bytes = t.max_bytes;
        p.high_watermark = i64::MAX;
        topic.partitions.push(p);
    }
    req.topics = topics.into_values().collect();
    req
}

/// What a fetch brought for one partition.
#[derive(Debug, Clone)]
pub struct FetchedPartition {
    /// Partition.
    pub partition: TopicPartition,
    /// The offset this fetch started at.
    pub fetch_offset: i64,
    /// The partition's error, if any (the records are then empty).
    pub error: Option<Error>,
    /// High watermark.
    pub high_watermark: i64,
    /// Last stable offset (read_committed limit).
    pub last_stable_offset: i64,
    /// Records at or after `fetch_offset`, control and aborted ones removed.
    pub messages: Vec<Message>,
    /// Where the next fetch starts: after the last batch seen (skipped ones included).
    pub next_offset: i64,
    /// The leader epoch of the batch that ends before `next_offset`, when this fetch moved it.
    pub next_epoch: Option<i32>,
    /// The leader's log diverges from what was read (KIP-320): the last epoch it has at or
    /// below the one sent, and where that epoch ends in its log. No records come with it.
    pub diverging: Option<(i32, i64)>,
    /// Bytes of record data received.
    pub bytes: usize,
    /// Only part of the next batch came (it is larger than the partition's limit): fetch again
    /// asking for this many bytes.
    pub needs_bytes: Option<i32>,
    /// Decoding stopped at the response's budget: more records came than there was room for;
    /// they are fetched again from `next_offset`.
    pub cut: bool,
    /// The records at `next_offset` cannot be read (corrupt, or a batch that inflates past the
    /// whole prefetch budget): the partition stops there, with this error for the application.
    pub failure: Option<Error>,
    /// The compressed batch at `next_offset` inflates past this fetch's share of the budget:
    /// it is fetched again alone, with the consumer's whole prefetch space.
    pub needs_whole_budget: bool,
    /// Bytes the decoded messages keep alive (inflated buffers or batch bytes they slice, and
    /// their structs): what the prefetch budget counts for them.
    pub retained: usize,
    /// With a leadership error, the new leader the broker named (KIP-951): node id, leader
    /// epoch and, when the response gave it, its address.
    pub leader_hint: Option<(i32, i32, Option<String>)>,
    /// The leader asks this consumer to read from that replica instead (KIP-392: a replica
    /// in the consumer's rack). No records come with it.
    pub preferred_read_replica: Option<i32>,
}

/// What a decoded message takes besides the bytes it slices (the struct, its topic handle),
/// and each of its headers: counted against the [`Budget`].
const MESSAGE_COST: usize = 128;
const HEADER_COST: usize = std::mem::size_of::<MessageHeader>();

/// The memory one Fetch response's records may take once decoded: a share of the consumer's
/// free prefetch space. It counts what a kept record holds alive, not only its key and value:
/// the whole inflated buffer of a compressed batch (its records are slices of it), the bytes of
/// an uncompressed batch, and each message's and header's struct. A compressed batch inflates
/// within what is left and never past it. A response whose records take more is cut at the
/// record that crosses it (at least one record is decoded, so reading always progresses); the
/// rest is fetched again later.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    total: usize,
    left: usize,
    spent: bool,
    /// The fetch holds the consumer's whole prefetch space: a batch that inflates past it can
    /// never be read (an error for the application, not a retry).
    whole: bool,
    check_crcs: bool,
}

impl Budget {
    /// A share of `bytes` of the prefetch space.
    pub fn new(bytes: usize) -> Self {
        Budget {
            total: bytes,
            left: bytes,
            spent: false,
            whole: false,
            check_crcs: true,
        }
    }

    /// The whole prefetch space, `bytes`.
    pub fn whole(bytes: usize) -> Self {
        Budget {
            whole: true,
            ..Budget::new(bytes)
        }
    }

    /// Whether batch CRCs are checked (default true).
    pub fn check_crcs(mut self, on: bool) -> Self {
        self.check_crcs = on;
        self
    }

    /// The bytes it started with.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Whether decoding must stop before the next batch.
    fn exhausted(&self) -> bool {
        self.spent && self.left == 0
    }

    fn spend(&mut self, bytes: usize) {
        self.left = self.left.saturating_sub(bytes);
        self.spent = true;
    }
}

/// Decodes a Fetch response. `names` resolves topic ids (v13+); `offsets` are the positions
/// the request asked for. Unknown topics or partitions in the response are ignored.
pub fn parse_response(
    resp: FetchResponse,
    names: &HashMap<Uuid, String>,
    offsets: &HashMap<TopicPartition, i64>,
    isolation: IsolationLevel,
    budget: &mut Budget,
) -> Result<Vec<FetchedPartition>> {
    Error::check(resp.error_code, "fetch", || {
        "the broker rejected the fetch".to_string()
    })?;
    let endpoints = crate::cluster::metadata::hinted_endpoints(
        resp.node_endpoints
            .iter()
            .map(|e| (e.node_id.0, e.host.as_str(), e.port)),
    );
    let mut out = Vec::new();
    for t in resp.responses {
        let topic_name = if t.topic.0.is_empty() {
            match names.get(&t.topic_id) {
                Some(n) => n.clone(),
                None => continue,
            }
        } else {
            t.topic.0.to_string()
        };
        let topic: Arc<str> = Arc::from(topic_name.as_str());
        for p in t.partitions {
            let tp = TopicPartition::new(topic_name.clone(), p.partition_index);
            let Some(&fetch_offset) = offsets.get(&tp) else {
                continue;
            };
            let mut fp = FetchedPartition {
                partition: tp,
                fetch_offset,
                error: Error::from_code(
                    p.error_code,
                    "fetch",
                    format!("partition {}-{}", topic_name, p.partition_index),
                ),
                high_watermark: p.high_watermark,
                last_stable_offset: p.last_stable_offset,
                messages: Vec::new(),
                next_offset: fetch_offset,
                next_epoch: None,
                preferred_read_replica: (p.error_code == 0 && p.preferred_read_replica.0 >= 0)
                    .then_some(p.preferred_read_replica.0),
                diverging: (p.error_code == 0 && p.diverging_epoch.end_offset >= 0)
                    .then_some((p.diverging_epoch.epoch, p.diverging_epoch.end_offset)),
                bytes: p.records.as_ref().map_or(0, Bytes::len),
                needs_bytes: None,
                cut: false,
                failure: None,
                needs_whole_budget: false,
                retained: 0,
                leader_hint: (p.error_code != 0 && p.current_leader.leader_id.0 >= 0).then(|| {
                    let leader = p.current_leader.leader_id.0;
                    (
                        leader,
                        p.current_leader.leader_epoch,
                        endpoints.get(&leader).cloned(),
                    )
                }),
            };
            if fp.error.is_none() && fp.diverging.is_none() {
                if let Some(records) = p.records {
                    let aborted = if isolation == IsolationLevel::ReadCommitted {
                        p.aborted_transactions.unwrap_or_default()
                    } else {
                        Vec::new()
                    };
                    // A cause with records before it comes back at the next fetch.
                    let _ = decode_records(&topic, records, aborted, budget, &mut fp);
                }
            }
            out.push(fp);
        }
    }
    Ok(out)
}

/// Every record of `records` at or after `from` (control records left out, no transaction
/// filtering), within `budget`: for share fetches, where the broker decides what is delivered.
/// Returns the records read and, when decoding stopped before the end, where and why: records
/// that cannot be read, or records past the budget (the broker acquired them for this member;
/// they go back to it, released, rather than being fetched again).
pub(crate) fn decode_all(
    topic: &Arc<str>,
    partition: i32,
    records: Bytes,
    from: i64,
    budget: &mut Budget,
) -> (Vec<Message>, Option<(i64, Error)>) {
    let tp = TopicPartition::new(topic.to_string(), partition);
    let mut out = FetchedPartition {
        partition: tp.clone(),
        fetch_offset: from,
        error: None,
        high_watermark: -1,
        last_stable_offset: -1,
        messages: Vec::new(),
        next_offset: from,
        next_epoch: None,
        diverging: None,
        bytes: records.len(),
        needs_bytes: None,
        cut: false,
        failure: None,
        needs_whole_budget: false,
        retained: 0,
        leader_hint: None,
        preferred_read_replica: None,
    };
    let cause = decode_records(topic, records, Vec::new(), budget, &mut out);
    let stopped = match cause {
        Some(e) => Some(Error::new(
            match e.kind() {
                ErrorKind::TooLarge => ErrorKind::TooLarge,
                _ => ErrorKind::CorruptRecord,
            },
            "share_fetch",
            format!(
                "records of {tp} from offset {} cannot be read: {}",
                out.next_offset,
                e.message()
            ),
        )),
        None if out.cut || out.needs_whole_budget => Some(Error::new(
            ErrorKind::TooLarge,
            "share_fetch",
            format!(
                "the records acquired from {tp} from offset {} decode to more than max_bytes allows; raise max_bytes or lower max_records",
                out.next_offset
            ),
        )),
        None => None,
    };
    (out.messages, stopped.map(|e| (out.next_offset, e)))
}

/// Decodes one partition's `records` into `out` (starting at `out.fetch_offset`), within
/// `budget`. Records that cannot be read stop the partition (`out.failure`) unless records
/// before them were decoded: those are delivered first (the cause is returned), and the next
/// fetch starts at the bad ones and fails there.
fn decode_records(
    topic: &Arc<str>,
    records: Bytes,
    mut aborted: Vec<AbortedTransaction>,
    budget: &mut Budget,
    out: &mut FetchedPartition,
) -> Option<Error> {
    let partition = out.partition.partition;
    let fetch_offset = out.fetch_offset;
    // Aborted transactions start to apply at their first offset, in offset order.
    aborted.sort_by_key(|a| std::cmp::Reverse(a.first_offset));
    let mut aborting: HashSet<i64> = HashSet::new();
    let mut whole_batch = false;
    // Length of the rest of the first batch (after base offset and this field).
    let first_len = records
        .get(8..12)
        .map(|h| i32::from_be_bytes([h[0], h[1], h[2], h[3]]));
    let batches = BatchIter::new(records, usize::MAX).check_crcs(budget.check_crcs);
    for batch in batches {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => return unreadable(out, e, None),
        };
        whole_batch = true;
        let last = batch.last_offset();
        if last < fetch_offset {
            continue;
        }
        if budget.exhausted() {
            out.cut = true;
            return None;
        }
        while aborted.last().is_some_and(|a| a.first_offset <= last) {
            if let Some(a) = aborted.pop() {
                aborting.insert(a.producer_id.0);
            }
        }
        // Where the partition stood before this batch, for a stop before any of its records.
        let before = (out.next_offset, out.next_epoch);
        if last + 1 > out.next_offset {
            out.next_offset = last + 1;
            out.next_epoch = Some(batch.partition_leader_epoch()).filter(|e| *e >= 0);
        }
        if batch.is_control() {
            // A commit or abort marker ends that producer's transaction.
            if batch.is_transactional() {
                aborting.remove(&batch.producer_id());
            }
            continue;
        }
        if batch.is_transactional() && aborting.contains(&batch.producer_id()) {
            continue;
        }
        let skip_to = last.checked_add(1);
        let recs = match batch.records_within(budget.left) {
            Ok(r) => r,
            Err(e) if e.kind() == &ErrorKind::TooLarge && (budget.spent || !budget.whole) => {
                // Past what is left of this fetch's share: fetched again later; when nothing
                // came before it, alone and with the whole prefetch space.
                (out.next_offset, out.next_epoch) = before;
                out.cut = true;
                out.needs_whole_budget = !budget.spent;
                return None;
            }
            Err(e) => {
                (out.next_offset, out.next_epoch) = before;
                let e = if e.kind() == &ErrorKind::TooLarge {
                    Error::new(
                        ErrorKind::TooLarge,
                        "fetch",
                        format!("its batch inflates past {} bytes, all the memory this consumer may give fetched records (max_prefetch_bytes; max_bytes for a share consumer): raise it to read the batch", budget.left),
                    )
                } else {
                    e
                };
                return unreadable(out, e, skip_to);
            }
        };
        // What any record of this batch keeps alive while it is held.
        let pinned = if recs.is_compressed() {
            recs.buffer_len()
        } else {
            batch.wire_len()
        };
        let leader_epoch = batch.partition_leader_epoch();
        let mut took: Option<i64> = None;
        for record in recs {
            let r = match record {
                Ok(r) => r,
                Err(e) => {
                    match took {
                        Some(t) => out.next_offset = t + 1,
                        None => (out.next_offset, out.next_epoch) = before,
                    }
                    return unreadable(out, e, skip_to);
                }
            };
            if r.offset < fetch_offset {
                continue;
            }
            // Out of budget, the rest of the batch is fetched again from this record (the
            // first message always goes: progress).
            if budget.exhausted() {
                out.cut = true;
                out.next_offset = r.offset;
                if took.is_none() {
                    out.next_epoch = before.1;
                }
                return None;
            }
            let mut cost = MESSAGE_COST + r.headers.len() * HEADER_COST;
            if took.is_none() {
                cost += pinned;
            }
            budget.spend(cost);
            out.retained += cost;
            took = Some(r.offset);
            out.messages.push(Message {
                topic: topic.clone(),
                partition,
                offset: r.offset,
                timestamp: r.timestamp,
                key: r.key,
                value: r.value,
                headers: r
                    .headers
                    .into_iter()
                    .map(|h| MessageHeader {
                        key: h.key,
                        value: h.value,
                    })
                    .collect(),
                leader_epoch,
            });
        }
    }
    if !whole_batch && out.bytes > 0 {
        // Only the start of a batch larger than the partition's limit came: its header says
        // how big it is (base offset, then length of the rest).
        if let Some(rest) = first_len.filter(|r| *r > 0) {
            out.needs_bytes = Some(rest.saturating_add(12));
            return None;
        }
        let e = Error::new(
            ErrorKind::TooLarge,
            "fetch",
            "a record batch is larger than max_bytes_per_partition and its start does not say how large; raise max_bytes_per_partition",
        );
        return unreadable(out, e, None);
    }
    None
}

/// Decoding stopped at records that cannot be read, at `out.next_offset`. With records before
/// them, those go to the application and the next fetch starts at the bad ones (and stops
/// there); without, the partition stops with the error. Returns the cause.
fn unreadable(out: &mut FetchedPartition, cause: Error, skip_to: Option<i64>) -> Option<Error> {
    if out.messages.is_empty() {
        tracing::debug!(partition = %out.partition, offset = out.next_offset, error = %cause, "records cannot be read");
        out.failure = Some(Error::corrupt_record(
            &out.partition,
            out.next_offset,
            skip_to,
            &cause,
        ));
    } else {
        out.cut = true;
    }
    Some(cause)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::compression::Compression;
    use crate::protocol::record_batch::{BatchParams, Header, RecordBatchBuilder};

    fn empty_out(bytes: usize) -> FetchedPartition {
        FetchedPartition {
            partition: TopicPartition::new("t", 0),
            fetch_offset: 100,
            error: None,
            high_watermark: 200,
            last_stable_offset: 200,
            messages: vec![],
            next_offset: 100,
            next_epoch: None,
            diverging: None,
            preferred_read_replica: None,
            bytes,
            needs_bytes: None,
            cut: false,
            failure: None,
            needs_whole_budget: false,
            retained: 0,
            leader_hint: None,
        }
    }

    /// Decodes partition t-0's `raw` records from `from` within `budget`.
    fn decode(raw: &[u8], from: i64, budget: &mut Budget) -> FetchedPartition {
        let topic: Arc<str> = Arc::from("t");
        let mut out = empty_out(raw.len());
        out.fetch_offset = from;
        out.next_offset = from;
        decode_records(
            &topic,
            Bytes::copy_from_slice(raw),
            vec![],
            budget,
            &mut out,
        );
        out
    }

    /// An uncompressed batch of `n` records of 100 bytes starting at `base`.
    fn batch(base: i64, n: usize) -> Vec<u8> {
        let mut b = RecordBatchBuilder::new(Compression::None);
        for _ in 0..n {
            b.append(0, None, Some(&[7u8; 100]), &[]);
        }
        let mut raw = b.build(BatchParams::default()).unwrap().to_vec();
        raw[..8].copy_from_slice(&base.to_be_bytes()); // not covered by the CRC
        raw
    }

    /// Puts the right CRC back after a header field covered by it was changed.
    fn recrc(raw: &mut [u8]) {
        let crc = crc32c::crc32c(&raw[21..]);
        raw[17..21].copy_from_slice(&crc.to_be_bytes());
    }

    #[test]
    fn a_response_larger_than_the_budget_is_cut_at_the_record_that_crosses_it() {
        let mut raw = batch(100, 10);
        raw.extend(batch(110, 10));
        raw.extend(batch(120, 10));
        let w = batch(100, 10).len();
        // Each batch costs its bytes once (its records slice them) and each record its
        // struct: room for the first batch and 2 records of the second.
        let room = 2 * w + 12 * MESSAGE_COST;
        let out = decode(&raw, 100, &mut Budget::new(room));
        assert_eq!(out.messages.len(), 12);
        assert_eq!(
            out.next_offset, 112,
            "the rest of the second batch comes again"
        );
        assert!(out.cut);
        assert_eq!(out.retained, room);
        // Fetched again from 112: the batch's first records are skipped, not charged.
        let again = decode(&raw, 112, &mut Budget::new(room));
        assert_eq!(again.messages.first().map(|m| m.offset), Some(112));
        assert_eq!(again.messages.len(), 12);
        // A spent budget still lets one record through (progress).
        let out = decode(&raw, 100, &mut Budget::new(0));
        assert_eq!(
            (out.messages.len(), out.next_offset, out.cut),
            (1, 101, true)
        );
    }

    /// `batch`, written by the leader of `epoch` (the field is outside the CRC).
    fn batch_in_epoch(base: i64, n: usize, epoch: i32) -> Vec<u8> {
        let mut raw = batch(base, n);
        raw[12..16].copy_from_slice(&epoch.to_be_bytes());
        raw
    }

    #[test]
    fn the_epoch_of_the_record_before_the_next_offset_is_kept_for_the_next_fetch() {
        let mut raw = batch_in_epoch(100, 10, 3);
        raw.extend(batch_in_epoch(110, 10, 5));
        let w = batch(100, 10).len();
        let stop = |room: usize| {
            let out = decode(&raw, 100, &mut Budget::new(room));
            (out.next_offset, out.next_epoch)
        };
        assert_eq!(
            stop(1 << 20),
            (120, Some(5)),
            "all read: the last batch's epoch"
        );
        assert_eq!(
            stop(2 * w + 15 * MESSAGE_COST),
            (115, Some(5)),
            "cut inside the second batch"
        );
        // Cut right before the second batch's first record: the record before is epoch 3's.
        assert_eq!(stop(w + 10 * MESSAGE_COST), (110, Some(3)));
    }

    /// A zstd batch at `base` of one record whose header value is `size` zero bytes: a few
    /// hundred bytes on the wire.
    fn bomb(base: i64, size: usize) -> Vec<u8> {
        let big = vec![0u8; size];
        let mut b = RecordBatchBuilder::new(Compression::Zstd);
        b.append(
            0,
            None,
            Some(b"v"),
            &[Header {
                key: "h",
                value: Some(&big),
            }],
        );
        let mut raw = b.build(BatchParams::default()).unwrap().to_vec();
        raw[..8].copy_from_slice(&base.to_be_bytes());
        raw
    }

    #[test]
    fn a_compressed_batch_costs_its_inflated_buffer_and_never_inflates_past_the_budget() {
        let raw = bomb(100, 1 << 20);
        assert!(raw.len() < 1024, "{}", raw.len());
        // Room for it: one record, charged the whole buffer its header value slices.
        let out = decode(&raw, 100, &mut Budget::whole(4 << 20));
        assert_eq!(out.messages.len(), 1);
        assert!(out.retained > 1 << 20, "{}", out.retained);
        // Past a share of the space, first in its response: read again alone with all of it.
        let out = decode(&raw, 100, &mut Budget::new(512 << 10));
        assert!(out.messages.is_empty() && out.cut && out.needs_whole_budget);
        assert_eq!((out.next_offset, out.failure.is_none()), (100, true));
        // Past the whole space: the partition stops there, with an error that says so.
        let out = decode(&raw, 100, &mut Budget::whole(512 << 10));
        let e = out.failure.expect("a failure");
        assert_eq!(e.kind(), &ErrorKind::TooLarge);
        assert_eq!(
            e.partition_offset(),
            Some((&TopicPartition::new("t", 0), 100))
        );
        assert!(e.to_string().contains("seek t-0 to offset 101"), "{e}");
        // After other records of the response: cut, fetched again later (no failure).
        let mut two = batch(100, 1);
        two.extend(bomb(101, 1 << 20));
        let out = decode(&two, 100, &mut Budget::whole(512 << 10));
        assert_eq!((out.messages.len(), out.next_offset), (1, 101));
        assert!(out.cut && !out.needs_whole_budget && out.failure.is_none());
    }

    /// Decodes `raw` from 100, fetch after fetch as the engine would, until the partition
    /// stops; returns the failure's text, checking it says where (`at`).
    fn failure_at(raw: &[u8], at: i64) -> String {
        let mut from = 100;
        loop {
            let out = decode(raw, from, &mut Budget::new(1 << 20));
            if let Some(e) = out.failure {
                assert!(out.messages.is_empty());
                assert_eq!(e.kind(), &ErrorKind::CorruptRecord, "{e}");
                assert_eq!(
                    e.partition_offset(),
                    Some((&TopicPartition::new("t", 0), at)),
                    "{e}"
                );
                return e.to_string();
            }
            assert!(out.cut && out.next_offset > from, "no progress, no failure");
            from = out.next_offset;
        }
    }

    fn failure(raw: &[u8]) -> String {
        failure_at(raw, 100)
    }

    #[test]
    fn corrupt_batches_stop_the_partition_with_an_error_that_says_where_and_why() {
        let good = batch(100, 3);
        let mut bad_crc = good.clone();
        let value_byte = bad_crc.len() - 2; // the last record's value; then its header count
        bad_crc[value_byte] ^= 0xff;
        assert!(failure(&bad_crc).contains("CRC"));
        // With CRC checks off the same bytes are read.
        let out = decode(&bad_crc, 100, &mut Budget::new(1 << 20).check_crcs(false));
        assert_eq!(out.messages.len(), 3);
        let mut magic = good.clone();
        magic[16] = 1;
        assert!(failure(&magic).contains("magic 1"));
        let mut short = good.clone();
        short[8..12].copy_from_slice(&(-5i32).to_be_bytes());
        assert!(failure(&short).contains("length -5"));
        // Records before the inconsistency go first; the partition stops after them.
        for (count, at, says) in [
            (-1i32, 100, "declares -1"),
            (2, 102, "holds more"),
            (4, 100, "last offset delta of 2"),
        ] {
            let mut c = good.clone();
            c[57..61].copy_from_slice(&count.to_be_bytes());
            recrc(&mut c);
            assert!(failure_at(&c, at).contains(says), "count {count}");
        }
        let mut delta = good.clone();
        delta[23..27].copy_from_slice(&1i32.to_be_bytes()); // last offset delta 1, 3 records
        recrc(&mut delta);
        assert!(failure(&delta).contains("3 records but a last offset delta of 1"));
        // Fewer records than declared (compaction leaves holes, not a short count).
        let mut fewer = batch(100, 2);
        fewer[23..27].copy_from_slice(&2i32.to_be_bytes());
        fewer[57..61].copy_from_slice(&3i32.to_be_bytes());
        recrc(&mut fewer);
        assert!(failure_at(&fewer, 102).contains("holds fewer"));
        let mut negative = good.clone();
        negative[23..27].copy_from_slice(&(-1i32).to_be_bytes());
        recrc(&mut negative);
        assert!(failure(&negative).contains("last offset delta of -1"));
    }

    #[test]
    fn records_before_a_corrupt_batch_go_first_and_the_next_fetch_stops_at_it() {
        // Offsets going backwards: 100-102, then a batch at 101.
        let mut raw = batch(100, 3);
        raw.extend(batch(101, 3));
        let out = decode(&raw, 100, &mut Budget::new(1 << 20));
        assert_eq!((out.messages.len(), out.next_offset), (3, 103));
        assert!(out.cut && out.failure.is_none());
        let mut bad = batch(100, 3);
        *bad.last_mut().unwrap() ^= 0xff;
        let mut raw = batch(97, 3);
        raw.extend(bad);
        let out = decode(&raw, 97, &mut Budget::new(1 << 20));
        assert_eq!((out.messages.len(), out.next_offset), (3, 100));
        assert!(out.failure.is_none());
        // Fetched again from 100, the bad batch comes first: the partition stops there. The
        // batch before it, below the position, does not count as progress.
        let e = decode(&raw, 100, &mut Budget::new(1 << 20)).failure;
        assert!(e.is_some_and(|e| e.partition_offset().map(|p| p.1) == Some(100)));
    }

    #[test]
    fn a_diverging_epoch_is_reported_and_its_records_are_not_read() {
        use kafka_protocol::messages::fetch_response::{
            EpochEndOffset, FetchableTopicResponse, PartitionData,
        };
        let mut resp = FetchResponse::default();
        let mut t = FetchableTopicResponse::default();
        t.topic = TopicName(StrBytes::from_static_str("t"));
        let mut p = PartitionData::default();
        p.partition_index = 0;
        p.high_watermark = 150;
        p.diverging_epoch = EpochEndOffset::default().with_epoch(4).with_end_offset(90);
        p.records = Some(Bytes::from(batch_in_epoch(100, 5, 4)));
        t.partitions.push(p);
        resp.responses.push(t);
        let offsets = HashMap::from([(TopicPartition::new("t", 0), 100i64)]);
        let out = parse_response(
            resp,
            &HashMap::new(),
            &offsets,
            IsolationLevel::ReadUncommitted,
            &mut Budget::new(1 << 20),
        )
        .unwrap();
        assert_eq!(out[0].diverging, Some((4, 90)));
        assert!(out[0].messages.is_empty());
        assert_eq!(
            out[0].next_offset, 100,
            "the position moves only by the engine"
        );
    }

    #[test]
    fn the_fetch_options_are_what_the_request_carries() {
        let target = FetchTarget {
            partition: TopicPartition::new("t", 0),
            topic_id: Uuid::nil(),
            position: FetchPosition {
                offset: 0,
                current_leader_epoch: -1,
                last_fetched_epoch: -1,
            },
            max_bytes: 2 * 1024 * 1024,
        };
        let mut config = ConsumerConfig::new("g").rack_id("rack-2");
        config.max_bytes_per_partition = 2 * 1024 * 1024;
        config.min_bytes = 1000;
        config.max_bytes = 5_000_000;
        config.max_wait = std::time::Duration::from_millis(250);
        let req = build_request(17, &config, std::slice::from_ref(&target), None);
        assert_eq!(req.max_wait_ms, 250, "maxWaitTimeInMs");
        assert_eq!(req.min_bytes, 1000, "minBytes");
        assert_eq!(req.max_bytes, 5_000_000, "maxBytes");
        assert_eq!(req.rack_id.as_str(), "rack-2", "rackId");
        assert_eq!(
            req.topics[0].partitions[0].partition_max_bytes,
            2 * 1024 * 1024,
            "maxBytesPerPartition"
        );
    }

    #[test]
    fn the_last_fetched_epoch_is_sent_from_fetch_v12() {
        let target = FetchTarget {
            partition: TopicPartition::new("t", 0),
            topic_id: Uuid::nil(),
            position: FetchPosition {
                offset: 7,
                current_leader_epoch: 9,
                last_fetched_epoch: 8,
            },
            max_bytes: 1024,
        };
        let config = ConsumerConfig::new("g");
        let sent = |v| {
            build_request(v, &config, std::slice::from_ref(&target), None).topics[0].partitions[0]
                .last_fetched_epoch
        };
        assert_eq!(sent(12), 8);
        assert_eq!(sent(17), 8);
        assert_eq!(sent(11), -1, "not in the schema before v12");
    }

    #[test]
    fn the_start_of_a_batch_too_big_for_the_limit_asks_for_its_whole_size() {
        // Base offset 100, then "5000 more bytes", then a cut header (magic 2).
        let mut raw = Vec::new();
        raw.extend_from_slice(&100i64.to_be_bytes());
        raw.extend_from_slice(&5000i32.to_be_bytes());
        raw.extend_from_slice(&[0, 0, 0, 0, 2]);
        raw.resize(1024, 0);
        let out = decode(&raw, 100, &mut Budget::new(1 << 20));
        assert_eq!(out.needs_bytes, Some(5012));
        assert!(out.messages.is_empty());
        assert_eq!(out.next_offset, 100, "the position stays");
    }

    #[test]
    fn a_fragment_too_short_to_size_stops_the_partition_naming_the_setting() {
        // Not even the batch length came.
        let out = decode(&[0u8; 10], 100, &mut Budget::new(1 << 20));
        let e = out.failure.expect("a failure");
        assert!(e.to_string().contains("max_bytes_per_partition"), "{e}");
    }

    #[test]
    fn share_decoding_says_where_it_stopped_and_why() {
        let topic: Arc<str> = Arc::from("t");
        let raw = Bytes::from(bomb(100, 1 << 20));
        let (got, stopped) = decode_all(&topic, 0, raw.clone(), 100, &mut Budget::whole(64 << 10));
        assert!(got.is_empty());
        let (at, e) = stopped.expect("stopped");
        assert_eq!((at, e.kind()), (100, &ErrorKind::TooLarge), "{e}");
        let (got, stopped) = decode_all(&topic, 0, raw, 100, &mut Budget::whole(4 << 20));
        assert_eq!((got.len(), stopped.is_none()), (1, true));
        // Good records, then a corrupt batch: the good ones, and where the bad ones start.
        let mut raw = batch(100, 2);
        let mut bad = batch(102, 2);
        let at = bad.len() - 2;
        bad[at] ^= 0x55;
        raw.extend(bad);
        let (got, stopped) = decode_all(
            &topic,
            0,
            Bytes::from(raw),
            100,
            &mut Budget::whole(1 << 20),
        );
        assert_eq!(got.len(), 2);
        let (at, e) = stopped.expect("stopped");
        assert_eq!((at, e.kind()), (102, &ErrorKind::CorruptRecord), "{e}");
        assert!(e.to_string().contains("CRC"), "{e}");
    }
}
