//! The state of each assigned partition: position, pause, prefetched batches, processed offset.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, Ordering};
use std::sync::Arc;

use crate::events::TopicPartition;
use crate::fetch::message::Batch;

/// A batch with the handler, as the handler and the engine share it: a record costs the
/// handler an atomic store, not a message to the engine.
#[derive(Debug)]
pub(crate) struct InHand {
    /// The next offset to process, as the handler advances (-1: nothing yet).
    pub next: AtomicI64,
    /// A seek, a revocation or a loss made the batch obsolete (`BatchContext::is_stale`).
    pub obsolete: AtomicBool,
    /// QUEUED until the handler takes the batch; the engine may drop a batch still QUEUED
    /// (its partition revoked), which the handler then skips. Without this a revocation
    /// waited for the handler to reach the queued batch behind other partitions' (seconds
    /// with a slow handler, found by tests/cluster.rs).
    state: AtomicU8,
}

const QUEUED: u8 = 0;
const TAKEN: u8 = 1;
const DROPPED: u8 = 2;

impl InHand {
    pub fn new() -> Arc<Self> {
        Arc::new(InHand {
            next: AtomicI64::new(-1),
            obsolete: AtomicBool::new(false),
            state: AtomicU8::new(QUEUED),
        })
    }

    /// The handler takes the batch: false when the engine dropped it first (skip it, and
    /// report nothing).
    pub fn take(&self) -> bool {
        self.state
            .compare_exchange(QUEUED, TAKEN, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The engine takes the batch back if the handler has not taken it yet.
    pub fn withdraw(&self) -> bool {
        self.state
            .compare_exchange(QUEUED, DROPPED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub fn next(&self) -> i64 {
        self.next.load(Ordering::Acquire)
    }

    pub fn is_obsolete(&self) -> bool {
        self.obsolete.load(Ordering::Acquire)
    }

    fn make_obsolete(&self) {
        self.obsolete.store(true, Ordering::Release);
    }
}

/// One assigned partition.
#[derive(Debug, Default)]
pub(crate) struct PartitionState {
    /// Next offset to fetch; `None` until committed offsets / reset policy resolved it.
    pub position: Option<i64>,
    /// The leader epoch of the record before `position`, when known (from the fetched batch or
    /// the committed offset): the leader checks it to detect a truncated log (KIP-320).
    pub last_epoch: Option<i32>,
    /// Paused by the user: not fetched, not delivered.
    pub paused: bool,
    /// Fetched batches waiting for the handler.
    pub buffered: VecDeque<Batch>,
    /// A batch is with the handler.
    pub in_process: bool,
    /// Next offset after the last record the handler finished (what a commit stores).
    pub processed: Option<(i64, i32)>,
    /// Last committed offset (to skip commits with nothing new).
    pub committed: Option<i64>,
    /// Bumped on each (re)assignment and seek, so late deliveries of an older one are dropped.
    pub generation: u64,
    /// A fetch error put this partition on hold until this time.
    pub backoff_until: Option<tokio::time::Instant>,
    /// The next fetch asks for this many bytes of this partition: its next batch is larger
    /// than `max_bytes_per_partition` (producers with a large batch size write such batches).
    pub fetch_max_bytes: Option<i32>,
    /// The last fetch found nothing new: the next one long-polls.
    pub caught_up: bool,
    /// Fetched from this replica rather than the leader until then (KIP-392: the leader
    /// named a replica in this consumer's rack).
    pub read_replica: Option<(i32, tokio::time::Instant)>,
    /// The handler's progress in the batch it holds (next offset to process), and that
    /// batch's leader epoch.
    pub progress: Option<(Arc<InHand>, i32)>,
    /// The first offset of the batch with the handler.
    pub in_hand_from: Option<i64>,
    /// Bytes the batch with the handler keeps alive (counted in `buffered_bytes` until the
    /// handler is done with it: a batch it holds is memory too).
    pub in_hand_bytes: usize,
    /// Records at `position` cannot be read: the partition is not fetched until a seek (or a
    /// new assignment), and the error goes to the application once, after what was read
    /// before it.
    pub failure: Option<Failure>,
    /// The compressed batch at `position` inflates past one fetch's share of the prefetch
    /// space: it is fetched alone, with all of it, once nothing else is held.
    pub needs_whole_budget: bool,
    /// The offset a fetch found out of range, while its reset is looked up: the reset's
    /// warning says how far reading moved from it.
    pub out_of_range_at: Option<i64>,
}

/// Why a partition stopped, and whether the application has been told.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub error: crate::error::Error,
    pub reported: bool,
}

impl PartitionState {
    /// The offset of the next record the application gets (`Consumer::position`): after what
    /// the handler processed, else the start of what it holds or what is buffered, else the
    /// fetch position. `None` while the start position is being looked up.
    pub fn next_to_process(&self) -> Option<i64> {
        let in_hand = self
            .progress
            .as_ref()
            .map(|(h, _)| h.next())
            .filter(|n| *n >= 0);
        in_hand
            .into_iter()
            .chain(self.processed.map(|(o, _)| o))
            .max()
            .or(self.in_hand_from.filter(|_| self.in_process))
            .or_else(|| self.buffered.front().map(|b| b.first_offset()))
            .or(self.position)
    }
}

/// All assigned partitions, and the byte budget of buffered records.
#[derive(Debug, Default)]
pub(crate) struct Partitions {
    pub states: BTreeMap<TopicPartition, PartitionState>,
    /// Bytes kept alive by fetched records: buffered, queued for the handler or with it.
    /// Bounded by `max_prefetch_bytes` (fetches are planned within what is free).
    pub buffered_bytes: usize,
    next_generation: u64,
}

impl Partitions {
    /// Adds partitions at the given positions (offset, and the leader epoch of the record
    /// before it when known).
    pub fn assign(
        &mut self,
        positions: impl IntoIterator<Item = (TopicPartition, i64, Option<i32>)>,
    ) {
        for (tp, offset, epoch) in positions {
            self.next_generation += 1;
            let st = self.states.entry(tp).or_default();
            st.position = Some(offset);
            st.last_epoch = epoch;
            st.generation = self.next_generation;
            st.committed = Some(offset);
        }
    }

    /// Adds partitions whose start position is not known yet: they are not fetched until a
    /// seek or [`start_at`](Self::start_at) gives them one.
    pub fn add_waiting(&mut self, tps: &[TopicPartition]) {
        for tp in tps {
            self.next_generation += 1;
            let st = self.states.entry(tp.clone()).or_default();
            st.generation = self.next_generation;
        }
    }

    /// A start position was found for a partition still without one (a seek meanwhile wins);
    /// `committed`: it is the group's committed offset.
    pub fn start_at(
        &mut self,
        tp: &TopicPartition,
        offset: i64,
        epoch: Option<i32>,
        committed: bool,
    ) {
        if let Some(st) = self.states.get_mut(tp).filter(|st| st.position.is_none()) {
            st.position = Some(offset);
            st.last_epoch = epoch;
            if committed {
                st.committed = Some(offset);
            }
        }
    }

    /// Removes partitions, dropping what was buffered for them. Returns their processed
    /// offsets (for a commit before revocation).
    pub fn remove(&mut self, tps: &[TopicPartition]) -> Vec<(TopicPartition, i64, i32)> {
        let mut processed = Vec::new();
        for tp in tps {
            if let Some(st) = self.states.remove(tp) {
                if let Some((hand, _)) = &st.progress {
                    hand.make_obsolete();
                }
                self.buffered_bytes = self
                    .buffered_bytes
                    .saturating_sub(batch_bytes(&st.buffered) + st.in_hand_bytes);
                if let Some((o, e)) = st.processed {
                    if st.committed != Some(o) {
                        processed.push((tp.clone(), o, e));
                    }
                }
            }
        }
        processed
    }

    /// Whether any of `tps` has a batch with the handler.
    pub fn any_in_process(&self, tps: &[TopicPartition]) -> bool {
        tps.iter()
            .any(|tp| self.states.get(tp).is_some_and(|s| s.in_process))
    }

    /// Processed offsets not yet committed.
    pub fn uncommitted(&self) -> Vec<(TopicPartition, i64, i32)> {
        self.states
            .iter()
            .filter_map(|(tp, st)| match st.processed {
                Some((o, e)) if st.committed != Some(o) => Some((tp.clone(), o, e)),
                _ => None,
            })
            .collect()
    }

    /// Marks offsets as committed.
    pub fn mark_committed(&mut self, offsets: &[(TopicPartition, i64)]) {
        for (tp, o) in offsets {
            if let Some(st) = self.states.get_mut(tp) {
                st.committed = Some(*o);
            }
        }
    }

    /// The batches with the handler for `tps` are obsolete (they are being revoked).
    /// Frees these partitions of batches queued for the handler but not taken yet: nothing
    /// of them was processed, and the handler will skip them.
    pub fn drop_queued(&mut self, tps: &[TopicPartition]) {
        for tp in tps {
            let Some(st) = self.states.get_mut(tp) else {
                continue;
            };
            if st.in_process
                && st
                    .progress
                    .as_ref()
                    .is_some_and(|(hand, _)| hand.withdraw())
            {
                st.in_process = false;
                st.progress = None;
                st.in_hand_from = None;
                self.buffered_bytes = self
                    .buffered_bytes
                    .saturating_sub(std::mem::take(&mut st.in_hand_bytes));
            }
        }
    }

    pub fn make_obsolete(&self, tps: &[TopicPartition]) {
        for tp in tps {
            if let Some((hand, _)) = self.states.get(tp).and_then(|s| s.progress.as_ref()) {
                hand.make_obsolete();
            }
        }
    }

    /// A seek whose offset is still to be looked up (earliest or latest): as `seek`, but the
    /// partition waits without a position, and no offset is stored for it until records are
    /// processed from the one found.
    pub fn seek_unresolved(&mut self, tp: &TopicPartition) -> bool {
        if !self.seek(tp, 0) {
            return false;
        }
        if let Some(st) = self.states.get_mut(tp) {
            st.processed = None;
            st.position = None;
        }
        true
    }

    /// A lookup found `offset` for a partition waiting without a position (its offset was out
    /// of range, or it was assigned or sought to earliest/latest). Progress that stood for the
    /// old position (a seek's offset, records processed before the range moved) no longer names
    /// the next record: it moves to `offset` too, so `Consumer::position` and the next commit
    /// say where reading goes on. (Without it, a seek below the log start left the position at
    /// the seek's offset for ever, and `kafkit consume -o N -e` waited for an end it had passed.)
    /// A partition that had no progress keeps none: nothing is stored until records are
    /// processed from the offset found.
    /// Returns the offset the broker had called out of range, when that is why the partition
    /// was looked up.
    pub fn reset_to(&mut self, tp: &TopicPartition, offset: i64) -> Option<i64> {
        let st = self.states.get_mut(tp)?;
        if st.position.is_some() {
            return None; // sought meanwhile: the seek wins
        }
        st.position = Some(offset);
        if st.processed.is_some() {
            st.processed = Some((offset, -1));
        }
        st.out_of_range_at.take()
    }

    /// Moves a partition's position (seek): buffered records are dropped, the batch with the
    /// handler becomes obsolete (its later progress is not taken), and `offset` is what the
    /// next commit stores, backwards as well as forwards (as KafkaJS's seek).
    pub fn seek(&mut self, tp: &TopicPartition, offset: i64) -> bool {
        let Some(st) = self.states.get_mut(tp) else {
            return false;
        };
        if let Some((hand, _)) = st.progress.take() {
            hand.make_obsolete();
        }
        st.processed = Some((offset, -1));
        st.committed = None;
        self.next_generation += 1;
        self.buffered_bytes = self
            .buffered_bytes
            .saturating_sub(batch_bytes(&st.buffered));
        st.buffered.clear();
        st.position = Some(offset);
        st.last_epoch = None;
        st.generation = self.next_generation;
        // A seek is how the application goes past records that cannot be read.
        st.failure = None;
        st.needs_whole_budget = false;
        st.out_of_range_at = None;
        true
    }

    /// The handler is done with the batch it held (or it was taken back unread): its bytes
    /// no longer count.
    pub fn release_in_hand(&mut self, tp: &TopicPartition) {
        if let Some(st) = self.states.get_mut(tp) {
            self.buffered_bytes = self
                .buffered_bytes
                .saturating_sub(std::mem::take(&mut st.in_hand_bytes));
        }
    }
}

impl Partitions {
    /// The leader's log ends at `end_offset` (epoch `epoch`) below this partition's position:
    /// an unclean leader election truncated it (KIP-320). Buffered records from there on no
    /// longer exist and are dropped, those before it stay; reading resumes at `end_offset`.
    /// The generation moves on, so the progress of a batch with the handler is no longer taken,
    /// and a commit never stores an offset past the truncation.
    pub fn truncate(&mut self, tp: &TopicPartition, end_offset: i64, epoch: i32) -> bool {
        let Some(st) = self.states.get_mut(tp) else {
            return false;
        };
        self.next_generation += 1;
        let before = batch_bytes(&st.buffered);
        for b in st.buffered.iter_mut() {
            b.messages.retain(|m| m.offset < end_offset);
        }
        st.buffered.retain(|b| !b.messages.is_empty());
        self.buffered_bytes = self
            .buffered_bytes
            .saturating_sub(before - batch_bytes(&st.buffered));
        st.position = Some(end_offset);
        st.last_epoch = Some(epoch).filter(|e| *e >= 0);
        st.generation = self.next_generation;
        if let Some((hand, _)) = st.progress.take() {
            hand.make_obsolete();
        }
        st.caught_up = false;
        st.backoff_until = None;
        if st.processed.is_some_and(|(o, _)| o > end_offset) {
            st.processed = Some((end_offset, epoch));
            st.committed = None;
        }
        true
    }
}

/// Bytes kept alive by buffered batches.
pub(crate) fn batch_bytes(batches: &VecDeque<Batch>) -> usize {
    batches.iter().map(Batch::approx_bytes).sum()
}

impl Batch {
    /// Bytes the batch keeps alive (the prefetch budget's unit).
    pub(crate) fn approx_bytes(&self) -> usize {
        self.retained
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_after_a_seek_below_the_log_start_moves_the_position_the_user_sees() {
        let mut p = Partitions::default();
        let (a, b) = (TopicPartition::new("t", 0), TopicPartition::new("t", 1));
        p.assign([(a.clone(), 0, None), (b.clone(), 0, None)]);
        // `a`: sought to 1, below a log start of 2; the fetch answered OFFSET_OUT_OF_RANGE.
        assert!(p.seek(&a, 1));
        p.states.get_mut(&a).unwrap().position = None;
        p.states.get_mut(&a).unwrap().out_of_range_at = Some(1);
        assert_eq!(
            p.reset_to(&a, 2),
            Some(1),
            "the reset names where it came from"
        );
        assert_eq!(p.states[&a].out_of_range_at, None);
        assert_eq!(p.states[&a].position, Some(2));
        assert_eq!(p.states[&a].next_to_process(), Some(2));
        assert_eq!(
            p.states[&a].processed,
            Some((2, -1)),
            "the next commit says 2"
        );
        // `b`: sought to latest, still unresolved: nothing to store until records are read.
        assert!(p.seek_unresolved(&b));
        p.reset_to(&b, 7);
        assert_eq!(p.states[&b].next_to_process(), Some(7));
        assert_eq!(p.states[&b].processed, None);
        // A partition sought while the lookup was out keeps the seek.
        p.states.get_mut(&b).unwrap().out_of_range_at = Some(8);
        assert!(p.seek(&b, 3));
        assert_eq!(p.reset_to(&b, 9), None);
        assert_eq!(p.states[&b].next_to_process(), Some(3));
    }

    #[test]
    fn remove_returns_only_uncommitted_progress() {
        let mut p = Partitions::default();
        let a = TopicPartition::new("t", 0);
        let b = TopicPartition::new("t", 1);
        p.assign([(a.clone(), 5, None), (b.clone(), 7, None)]);
        p.states.get_mut(&a).unwrap().processed = Some((9, 0));
        p.states.get_mut(&b).unwrap().processed = Some((7, 0));
        let out = p.remove(&[a.clone(), b.clone()]);
        assert_eq!(out, vec![(a, 9, 0)]);
        assert!(p.states.is_empty());
    }

    #[test]
    fn truncation_keeps_what_the_log_still_has_and_never_commits_past_it() {
        let mut p = Partitions::default();
        let a = TopicPartition::new("t", 0);
        p.assign([(a.clone(), 0, None)]);
        let g = p.states[&a].generation;
        {
            let st = p.states.get_mut(&a).unwrap();
            st.buffered.push_back(Batch::of(0, 10..15));
            st.buffered.push_back(Batch::of(0, 15..20));
            st.processed = Some((10, 1));
            st.position = Some(20);
        }
        p.buffered_bytes = batch_bytes(&p.states[&a].buffered);
        // The new leader's log ends at 12: 12..20 are gone, 10 and 11 are still to deliver.
        assert!(p.truncate(&a, 12, 1));
        let st = &p.states[&a];
        let left: Vec<i64> = st
            .buffered
            .iter()
            .flat_map(|b| b.messages.iter().map(|m| m.offset))
            .collect();
        assert_eq!(left, vec![10, 11]);
        assert_eq!(p.buffered_bytes, batch_bytes(&st.buffered));
        assert_eq!(st.position, Some(12));
        assert_eq!(st.last_epoch, Some(1));
        assert!(st.generation > g);
        assert_eq!(st.processed, Some((10, 1)), "progress below the cut stays");

        // Processed past the cut (the handler had read records that are gone): the commit
        // goes back to the cut, so the new leader's records there are read.
        p.states.get_mut(&a).unwrap().processed = Some((18, 1));
        assert!(p.truncate(&a, 12, 2));
        assert_eq!(p.states[&a].processed, Some((12, 2)));
        assert_eq!(p.states[&a].committed, None);
        assert!(!p.truncate(&TopicPartition::new("x", 0), 1, 0));
    }

    #[test]
    fn the_position_is_the_next_record_the_application_gets() {
        let mut p = Partitions::default();
        let a = TopicPartition::new("t", 0);
        p.add_waiting(std::slice::from_ref(&a));
        assert_eq!(p.states[&a].next_to_process(), None, "still looked up");
        p.start_at(&a, 10, Some(1), false);
        assert_eq!(p.states[&a].next_to_process(), Some(10));
        assert_eq!(p.states[&a].committed, None);
        p.start_at(&a, 99, None, true);
        assert_eq!(p.states[&a].position, Some(10), "a known position stays");
        let st = p.states.get_mut(&a).unwrap();
        st.buffered.push_back(Batch::of(0, 10..15));
        st.position = Some(15);
        assert_eq!(
            st.next_to_process(),
            Some(10),
            "buffered, not yet handed over"
        );
        st.buffered.pop_front();
        st.in_process = true;
        st.in_hand_from = Some(10);
        let hand = InHand::new();
        st.progress = Some((hand.clone(), 1));
        assert_eq!(
            st.next_to_process(),
            Some(10),
            "with the handler, nothing done"
        );
        hand.next.store(13, Ordering::Release);
        assert_eq!(st.next_to_process(), Some(13));
        assert!(p.seek(&a, 3));
        assert_eq!(
            p.states[&a].next_to_process(),
            Some(3),
            "a seek moves it back"
        );
    }

    #[test]
    fn a_seek_to_look_up_leaves_no_position_no_progress_and_an_obsolete_batch() {
        let mut p = Partitions::default();
        let a = TopicPartition::new("t", 0);
        p.assign([(a.clone(), 0, None)]);
        let g = p.states[&a].generation;
        let hand = InHand::new();
        {
            let st = p.states.get_mut(&a).unwrap();
            st.buffered.push_back(Batch::of(0, 10..15));
            st.processed = Some((10, 1));
            st.position = Some(15);
            st.progress = Some((hand.clone(), 1));
        }
        p.buffered_bytes = batch_bytes(&p.states[&a].buffered);
        assert!(p.seek_unresolved(&a));
        let st = &p.states[&a];
        assert!(st.buffered.is_empty() && p.buffered_bytes == 0);
        assert_eq!(
            (st.position, st.processed, st.committed),
            (None, None, None)
        );
        assert!(st.generation > g);
        assert!(hand.is_obsolete(), "the batch with the handler is stale");
        assert_eq!(st.next_to_process(), None, "still looked up");
        assert!(!p.seek_unresolved(&TopicPartition::new("x", 0)));
    }

    #[test]
    fn a_batch_of_left_out_records_spans_them_and_holds_none() {
        let b = Batch::skipped(Arc::from("t"), 0, 10, 7, 8);
        assert!(b.is_empty());
        assert_eq!(
            (b.first_offset(), b.last_offset(), b.offset_lag()),
            (7, 8, 1)
        );
        assert_eq!(b.approx_bytes(), 0);
    }

    #[test]
    fn seek_bumps_generation_and_clears_buffer() {
        let mut p = Partitions::default();
        let a = TopicPartition::new("t", 0);
        p.assign([(a.clone(), 0, Some(3))]);
        let g = p.states[&a].generation;
        assert!(p.seek(&a, 42));
        assert_eq!(p.states[&a].position, Some(42));
        // The epoch of a sought offset is unknown: the leader cannot check it.
        assert_eq!(p.states[&a].last_epoch, None);
        assert!(p.states[&a].generation > g);
        assert!(!p.seek(&TopicPartition::new("x", 0), 1));
    }
}
