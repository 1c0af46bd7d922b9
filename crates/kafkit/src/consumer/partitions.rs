//! The state of each assigned partition: position, pause, prefetched batches, processed offset.

use std::collections::{BTreeMap, VecDeque};

use super::message::Batch;
use crate::events::TopicPartition;

/// One assigned partition.
#[derive(Debug, Default)]
pub(crate) struct PartitionState {
    /// Next offset to fetch; `None` until committed offsets / reset policy resolved it.
    pub position: Option<i64>,
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
    /// The handler's progress in the batch it holds (next offset to process), and that
    /// batch's leader epoch.
    pub progress: Option<(std::sync::Arc<std::sync::atomic::AtomicI64>, i32)>,
}

/// All assigned partitions, and the byte budget of buffered records.
#[derive(Debug, Default)]
pub(crate) struct Partitions {
    pub states: BTreeMap<TopicPartition, PartitionState>,
    pub buffered_bytes: usize,
    next_generation: u64,
}

impl Partitions {
    /// Adds partitions at the given positions.
    pub fn assign(&mut self, positions: impl IntoIterator<Item = (TopicPartition, i64)>) {
        for (tp, offset) in positions {
            self.next_generation += 1;
            let st = self.states.entry(tp).or_default();
            st.position = Some(offset);
            st.generation = self.next_generation;
            st.committed = Some(offset);
        }
    }

    /// Removes partitions, dropping what was buffered for them. Returns their processed
    /// offsets (for a commit before revocation).
    pub fn remove(&mut self, tps: &[TopicPartition]) -> Vec<(TopicPartition, i64, i32)> {
        let mut processed = Vec::new();
        for tp in tps {
            if let Some(st) = self.states.remove(tp) {
                self.buffered_bytes = self
                    .buffered_bytes
                    .saturating_sub(batch_bytes(&st.buffered));
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

    /// Moves a partition's position (seek): buffered records are dropped.
    pub fn seek(&mut self, tp: &TopicPartition, offset: i64) -> bool {
        let Some(st) = self.states.get_mut(tp) else {
            return false;
        };
        self.next_generation += 1;
        self.buffered_bytes = self
            .buffered_bytes
            .saturating_sub(batch_bytes(&st.buffered));
        st.buffered.clear();
        st.position = Some(offset);
        st.generation = self.next_generation;
        true
    }
}

/// Approximate bytes held by buffered batches (keys + values).
pub(crate) fn batch_bytes(batches: &VecDeque<Batch>) -> usize {
    batches.iter().map(Batch::approx_bytes).sum()
}

impl Batch {
    /// Approximate bytes of keys and values (the prefetch budget's unit).
    pub(crate) fn approx_bytes(&self) -> usize {
        self.messages
            .iter()
            .map(|m| {
                64 + m.key.as_ref().map_or(0, |k| k.len()) + m.value.as_ref().map_or(0, |v| v.len())
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_returns_only_uncommitted_progress() {
        let mut p = Partitions::default();
        let a = TopicPartition::new("t", 0);
        let b = TopicPartition::new("t", 1);
        p.assign([(a.clone(), 5), (b.clone(), 7)]);
        p.states.get_mut(&a).unwrap().processed = Some((9, 0));
        p.states.get_mut(&b).unwrap().processed = Some((7, 0));
        let out = p.remove(&[a.clone(), b.clone()]);
        assert_eq!(out, vec![(a, 9, 0)]);
        assert!(p.states.is_empty());
    }

    #[test]
    fn seek_bumps_generation_and_clears_buffer() {
        let mut p = Partitions::default();
        let a = TopicPartition::new("t", 0);
        p.assign([(a.clone(), 0)]);
        let g = p.states[&a].generation;
        assert!(p.seek(&a, 42));
        assert_eq!(p.states[&a].position, Some(42));
        assert!(p.states[&a].generation > g);
        assert!(!p.seek(&TopicPartition::new("x", 0), 1));
    }
}
