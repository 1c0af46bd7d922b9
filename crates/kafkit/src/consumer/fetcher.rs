//! Building Fetch requests and turning Fetch responses into records (sans-IO).
//!
//! Decoding is lazy and zero-copy: record keys, values and headers are slices of the response
//! buffer. Under read_committed, records of aborted transactions and control records are
//! skipped, as the broker's aborted-transaction list says.
//!
//! The response walk also keeps what decoded records may cost within the fetch's [`Budget`]
//! and stops a partition at records that cannot be read. Tests are in `fetcher_tests.rs`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use crate::protocol::messages::fetch_response::AbortedTransaction;
use crate::protocol::messages::{FetchRequest, FetchResponse};
use bytes::Bytes;
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
    req.replica_id = -1;
    req.replica_state.replica_id = -1;
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
    req.rack_id = config.rack_id.clone().unwrap_or_default();
    let mut topics: BTreeMap<&str, FetchTopic> = BTreeMap::new();
    for t in targets {
        let topic = topics.entry(t.partition.topic.as_str()).or_insert_with(|| {
            let mut ft = FetchTopic::default();
            if version >= 13 {
                ft.topic_id = t.topic_id;
            } else {
                ft.topic = t.partition.topic.clone();
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
            .map(|e| (e.node_id, e.host.as_str(), e.port)),
    );
    let mut out = Vec::new();
    for t in resp.responses {
        let topic_name = if t.topic.is_empty() {
            match names.get(&t.topic_id) {
                Some(n) => n.clone(),
                None => continue,
            }
        } else {
            t.topic.to_string()
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
                preferred_read_replica: (p.error_code == 0 && p.preferred_read_replica >= 0)
                    .then_some(p.preferred_read_replica),
                diverging: (p.error_code == 0 && p.diverging_epoch.end_offset >= 0)
                    .then_some((p.diverging_epoch.epoch, p.diverging_epoch.end_offset)),
                bytes: p.records.as_ref().map_or(0, Bytes::len),
                needs_bytes: None,
                cut: false,
                failure: None,
                needs_whole_budget: false,
                retained: 0,
                leader_hint: (p.error_code != 0 && p.current_leader.leader_id >= 0).then(|| {
                    let leader = p.current_leader.leader_id;
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
                aborting.insert(a.producer_id);
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
#[path = "fetcher_tests.rs"]
mod tests;
