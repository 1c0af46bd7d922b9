//! Per-partition batches: records are appended into the open batch of their partition; the
//! sender drains sealed (full or lingered) batches, per leader, into Produce requests.
//!
//! Ordering under idempotence: a partition's batches get consecutive sequence numbers when
//! first sent; after a retriable failure the partition stops sending new batches until what is
//! in flight has come back, then resends the failed batches in sequence order.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;
use tokio::time::Instant;

use super::record::{BatchOutcome, BatchResult};
use crate::error::Error;
use crate::protocol::record_batch::RecordBatchBuilder;

/// A batch of records for one partition.
pub(crate) struct Batch {
    pub id: u64,
    pub topic: Arc<str>,
    pub partition: i32,
    /// Records while the batch is filling (and until it is first sent).
    pub builder: Option<RecordBatchBuilder>,
    /// The encoded batch, once sent at least once (kept for retries).
    pub data: Option<Bytes>,
    pub record_count: i32,
    /// Bytes of `buffer_memory` this batch holds.
    pub reserved: usize,
    pub created: Instant,
    /// -1 until the first send assigns it (idempotence).
    pub base_sequence: i32,
    pub attempts: u32,
    /// Why the last attempt failed, for the error when the delivery timeout ends the retries.
    pub last_error: Option<crate::Error>,
    pub retry_at: Option<Instant>,
    pub done: watch::Sender<BatchResult>,
}

impl Batch {
    pub fn expired(&self, now: Instant, delivery_timeout: Duration) -> bool {
        now >= self.created + delivery_timeout
    }
}

#[derive(Default)]
pub(crate) struct PartitionQueue {
    pub open: Option<Batch>,
    pub ready: VecDeque<Batch>,
    pub in_flight: usize,
    pub next_sequence: i32,
    /// A batch failed: send nothing new until in-flight requests return, then resend in order.
    pub retrying: bool,
    /// The broker acknowledged a batch of this producer epoch. Until then one batch at a time:
    /// a broker with no state for the producer accepts any first sequence, so a later batch
    /// overtaking a failed first one would strand it.
    pub acked: bool,
}

#[derive(Default)]
pub(crate) struct TopicQueues {
    pub partitions: HashMap<i32, PartitionQueue>,
    /// Sticky partition for keyless records (KIP-480): kept until its batch fills.
    pub sticky: Option<i32>,
}

/// Everything not yet acknowledged.
#[derive(Default)]
pub(crate) struct Accumulator {
    pub topics: HashMap<Arc<str>, TopicQueues>,
    /// Ids of batches not yet completed (flush waits on these).
    pub outstanding: BTreeSet<u64>,
    pub next_batch_id: u64,
    /// Batches with an id up to this are sent without waiting for linger.
    pub flush_upto: Option<u64>,
    pub closed: bool,
}

/// One batch chosen for sending, with where it goes.
pub(crate) struct Ready {
    pub leader: i32,
    pub batch: Batch,
}

/// How the sender decides per partition.
pub(crate) struct DrainLimits {
    pub linger: Duration,
    pub delivery_timeout: Duration,
    pub max_in_flight_per_partition: usize,
    /// Assign sequence numbers on first send.
    pub idempotent: bool,
}

impl Accumulator {
    /// The interned topic name.
    pub fn topic_key(&mut self, topic: &str) -> Arc<str> {
        if let Some((k, _)) = self.topics.get_key_value(topic) {
            return k.clone();
        }
        let k: Arc<str> = Arc::from(topic);
        self.topics.insert(k.clone(), TopicQueues::default());
        k
    }

    pub fn new_batch(
        &mut self,
        topic: Arc<str>,
        partition: i32,
        builder: RecordBatchBuilder,
    ) -> Batch {
        let id = self.next_batch_id;
        self.next_batch_id += 1;
        self.outstanding.insert(id);
        let (done, _) = watch::channel(None);
        Batch {
            id,
            topic,
            partition,
            builder: Some(builder),
            data: None,
            record_count: 0,
            reserved: 0,
            created: Instant::now(),
            base_sequence: -1,
            attempts: 0,
            last_error: None,
            retry_at: None,
            done,
        }
    }

    /// Takes the batches that may be sent now. `leader_of` maps a partition to its leader node
    /// (None = unknown: metadata must be refreshed). Returns the batches, the batches that
    /// expired (to fail), whether a metadata refresh is needed, and when to look again.
    pub fn drain(
        &mut self,
        now: Instant,
        limits: &DrainLimits,
        mut leader_of: impl FnMut(&str, i32) -> Option<i32>,
    ) -> Drained {
        let mut out = Drained::default();
        let flush_upto = self.flush_upto;
        for (topic, tq) in self.topics.iter_mut() {
            for (&partition, q) in tq.partitions.iter_mut() {
                // Seal an open batch whose linger is over (or that a flush asked for) - but
                // only when the partition could send it now. A partition that cannot (batches
                // already waiting, a retry under way, its in-flight limit reached, no leader)
                // keeps filling its open batch: after a stall the backlog then goes out in full
                // batches, not as one tiny batch per linger. An open batch past the delivery
                // timeout is sealed so that it fails.
                if let Some(open) = &q.open {
                    let due = open.created + limits.linger;
                    let expired = open.expired(now, limits.delivery_timeout);
                    let leaderless = leader_of(topic, partition).is_none();
                    if leaderless {
                        out.need_metadata = true;
                    }
                    let blocked = leaderless
                        || !q.ready.is_empty()
                        || (q.retrying && q.in_flight > 0)
                        || q.in_flight >= limits.max_in_flight_per_partition
                        || (limits.idempotent && !q.acked && q.in_flight > 0);
                    let flushing = flush_upto.is_some_and(|f| open.id <= f);
                    if expired || flushing || (due <= now && !blocked) {
                        if let Some(b) = q.open.take() {
                            q.ready.push_back(b);
                        }
                    } else if due > now {
                        out.wake_at(due);
                    } else {
                        out.wake_at(open.created + limits.delivery_timeout);
                    }
                }
                // Expired batches fail (not in flight). The queue is oldest first, so only its
                // front is checked: a scan of the whole queue per drain would be quadratic.
                while q
                    .ready
                    .front()
                    .is_some_and(|b| b.expired(now, limits.delivery_timeout))
                {
                    if let Some(b) = q.ready.pop_front() {
                        out.expired.push(b);
                    }
                }
                if q.ready.is_empty() || (q.retrying && q.in_flight > 0) {
                    continue;
                }
                let Some(leader) = leader_of(topic, partition) else {
                    out.need_metadata = true;
                    continue;
                };
                // One batch per partition per request; more go in following requests.
                if q.in_flight >= limits.max_in_flight_per_partition
                    || (limits.idempotent && !q.acked && q.in_flight > 0)
                {
                    continue;
                }
                if let Some(at) = q.ready.front().and_then(|b| b.retry_at) {
                    if at > now {
                        out.wake_at(at);
                        continue;
                    }
                }
                if let Some(mut batch) = q.ready.pop_front() {
                    if limits.idempotent && batch.base_sequence < 0 {
                        batch.base_sequence = q.next_sequence;
                        // Sequences wrap at i32::MAX, as the broker expects.
                        q.next_sequence =
                            q.next_sequence.wrapping_add(batch.record_count) & i32::MAX;
                    }
                    q.in_flight += 1;
                    out.ready.push(Ready { leader, batch });
                }
            }
        }
        out
    }

    pub fn queue(&mut self, topic: &str, partition: i32) -> Option<&mut PartitionQueue> {
        self.topics.get_mut(topic)?.partitions.get_mut(&partition)
    }

    /// Completes a batch: wakes its records' futures and forgets it.
    pub fn complete(&mut self, batch: &Batch, result: Result<BatchOutcome, Error>) {
        self.outstanding.remove(&batch.id);
        let _ = batch.done.send(Some(result));
    }

    /// Whether every batch with id ≤ `upto` has completed.
    pub fn flushed(&self, upto: u64) -> bool {
        self.outstanding.first().is_none_or(|&first| first > upto)
    }

    /// Removes every batch not in flight (open and queued).
    pub fn take_queued(&mut self) -> Vec<Batch> {
        let mut out = Vec::new();
        for tq in self.topics.values_mut() {
            for q in tq.partitions.values_mut() {
                out.extend(q.open.take());
                out.extend(q.ready.drain(..));
            }
        }
        out
    }
}

/// What [`Accumulator::drain`] found.
#[derive(Default)]
pub(crate) struct Drained {
    pub ready: Vec<Ready>,
    pub expired: Vec<Batch>,
    pub need_metadata: bool,
    pub next_wakeup: Option<Instant>,
}

impl Drained {
    fn wake_at(&mut self, at: Instant) {
        self.next_wakeup = Some(self.next_wakeup.map_or(at, |w| w.min(at)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::compression::Compression;

    const LIMITS: DrainLimits = DrainLimits {
        linger: Duration::from_millis(5),
        delivery_timeout: Duration::from_secs(120),
        max_in_flight_per_partition: 1,
        idempotent: true,
    };

    /// One partition with an open batch of one record.
    fn with_open_batch(acc: &mut Accumulator) {
        let topic = acc.topic_key("t");
        let mut b = acc.new_batch(topic.clone(), 0, RecordBatchBuilder::new(Compression::None));
        if let Some(builder) = b.builder.as_mut() {
            builder.append(0, None, Some(b"v"), &[]);
        }
        b.record_count = 1;
        let q = acc
            .topics
            .get_mut(&topic)
            .unwrap()
            .partitions
            .entry(0)
            .or_default();
        q.open = Some(b);
        q.acked = true;
    }

    #[tokio::test(start_paused = true)]
    async fn a_partition_that_cannot_send_keeps_filling_its_batch() {
        let mut acc = Accumulator::default();
        with_open_batch(&mut acc);
        acc.queue("t", 0).unwrap().in_flight = 1; // at its limit: a request is out
        tokio::time::advance(Duration::from_millis(50)).await; // linger long over
        let d = acc.drain(Instant::now(), &LIMITS, |_, _| Some(1));
        assert!(d.ready.is_empty());
        assert!(
            acc.queue("t", 0).unwrap().open.is_some(),
            "still open, still filling"
        );
        // The request comes back: now the batch goes.
        acc.queue("t", 0).unwrap().in_flight = 0;
        let d = acc.drain(Instant::now(), &LIMITS, |_, _| Some(1));
        assert_eq!(d.ready.len(), 1);
        assert_eq!(d.ready[0].batch.base_sequence, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn no_leader_keeps_the_batch_open_and_asks_for_metadata() {
        let mut acc = Accumulator::default();
        with_open_batch(&mut acc);
        tokio::time::advance(Duration::from_millis(50)).await;
        let d = acc.drain(Instant::now(), &LIMITS, |_, _| None);
        assert!(d.need_metadata);
        assert!(d.ready.is_empty() && d.expired.is_empty());
        // Past the delivery timeout it is sealed, and fails.
        tokio::time::advance(LIMITS.delivery_timeout).await;
        let d = acc.drain(Instant::now(), &LIMITS, |_, _| None);
        assert_eq!(d.expired.len(), 1);
    }

    /// A partition whose failed batches have all ended (retrying, nothing in flight) is free
    /// again: its new batch goes at linger (found by the hostile-broker suite).
    #[tokio::test(start_paused = true)]
    async fn a_retry_with_nothing_in_flight_does_not_hold_new_batches() {
        let mut acc = Accumulator::default();
        with_open_batch(&mut acc);
        acc.queue("t", 0).unwrap().retrying = true;
        tokio::time::advance(LIMITS.linger).await;
        let d = acc.drain(Instant::now(), &LIMITS, |_, _| Some(1));
        assert_eq!(d.ready.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_partition_free_to_send_seals_at_linger() {
        let mut acc = Accumulator::default();
        with_open_batch(&mut acc);
        let d = acc.drain(Instant::now(), &LIMITS, |_, _| Some(1));
        assert!(d.ready.is_empty(), "linger not over");
        assert!(d.next_wakeup.is_some());
        tokio::time::advance(LIMITS.linger).await;
        let d = acc.drain(Instant::now(), &LIMITS, |_, _| Some(1));
        assert_eq!(d.ready.len(), 1);
    }
}
