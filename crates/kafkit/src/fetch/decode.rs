//! Record batches of one partition into messages: lazy and zero-copy (keys, values and
//! headers are slices of the answer's buffer), within a [`Budget`], stopping at records that
//! cannot be read. Fetch and ShareFetch answers both come through here.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;

use super::budget::{Budget, HEADER_COST, MESSAGE_COST};
use super::leader::LeaderHint;
use super::message::{Message, MessageHeader};
use crate::error::{Error, ErrorKind};
use crate::events::TopicPartition;
use crate::protocol::messages::fetch_response::AbortedTransaction;
use crate::protocol::record_batch::BatchIter;

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
    pub leader_hint: Option<LeaderHint>,
    /// The leader asks this consumer to read from that replica instead (KIP-392: a replica
    /// in the consumer's rack). No records come with it.
    pub preferred_read_replica: Option<i32>,
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
pub(crate) fn decode_records(
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
        // Room for the batch's records at once, rather than growing (and copying) the vector
        // as they come: the count is untrusted, so no more than the budget could take.
        let count = usize::try_from(batch.record_count()).unwrap_or(0);
        out.messages
            .reserve(count.min(budget.left / MESSAGE_COST).min(1 << 16));
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
