//! Handing batches to the handler: one batch per partition at a time, in order, none for a
//! partition paused or being revoked; and taking back batches nobody is reading.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::partitions::{InHand, Partitions};
use crate::error::Error;
use crate::events::TopicPartition;
use crate::fetch::message::Batch;

/// A batch handed to the handler, tagged with the assignment generation it came from; or,
/// with `error`, the news that the partition stopped at records that cannot be read (the
/// batch is then empty).
pub(crate) struct Delivery {
    pub generation: u64,
    pub batch: Batch,
    pub error: Option<Error>,
    /// The handler's progress, shared with the engine (which reads it when it commits or
    /// revokes, and marks the batch obsolete on a seek or revocation).
    pub progress: Arc<InHand>,
}

/// The engine's ends of the delivery queue.
pub(super) struct Deliveries {
    tx: mpsc::Sender<Delivery>,
    /// The handler's end, to take back batches nobody is reading (stream dropped, run not
    /// started) so revocation and stop never wait on them.
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Delivery>>>,
    /// The partition after the last one queued: the next round starts there, so a partition
    /// that always has records does not keep the ones after it waiting (round robin).
    cursor: Option<TopicPartition>,
}

impl Deliveries {
    pub fn new(
        tx: mpsc::Sender<Delivery>,
        rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Delivery>>>,
    ) -> Self {
        Deliveries {
            tx,
            rx,
            cursor: None,
        }
    }

    /// Queues the next buffered batch of every partition the handler is not busy with, until
    /// the queue is full, starting after the partition queued last.
    pub fn deliver(&mut self, parts: &mut Partitions, revoking: &BTreeSet<TopicPartition>) {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let Partitions { states, .. } = parts;
        // Two passes over the map (after the cursor, then up to it), borrowed in place: this
        // runs on every engine step.
        let split = self.cursor.take();
        let (passes, count) = match &split {
            Some(c) => ([(Excluded(c), Unbounded), (Unbounded, Included(c))], 2),
            None => ([(Unbounded, Unbounded), (Unbounded, Unbounded)], 1),
        };
        let mut last = None;
        'passes: for range in passes.into_iter().take(count) {
            for (tp, st) in states.range_mut::<TopicPartition, _>(range) {
                if st.in_process || st.paused || revoking.contains(tp) {
                    continue;
                }
                let (batch, error) = match st.buffered.pop_front() {
                    Some(batch) => (batch, None),
                    // What was read before a failure has gone to the handler: now the failure.
                    None => match st.failure.as_mut().filter(|f| !f.reported) {
                        Some(f) => {
                            f.reported = true;
                            let empty = Batch::new(
                                Arc::from(tp.topic.as_str()),
                                tp.partition,
                                -1,
                                Vec::new(),
                                0,
                            );
                            (empty, Some(f.error.clone()))
                        }
                        None => continue,
                    },
                };
                let bytes = batch.approx_bytes();
                let epoch = batch.messages.first().map_or(-1, |m| m.leader_epoch);
                let first = batch.first_offset();
                let progress = InHand::new();
                match self.tx.try_send(Delivery {
                    generation: st.generation,
                    batch,
                    error,
                    progress: progress.clone(),
                }) {
                    Ok(()) => {
                        last = Some(tp.clone());
                        st.in_process = true;
                        st.progress = Some((progress, epoch));
                        st.in_hand_from = Some(first).filter(|f| *f >= 0);
                        // Still counted while queued and with the handler.
                        st.in_hand_bytes = bytes;
                    }
                    Err(
                        mpsc::error::TrySendError::Full(d) | mpsc::error::TrySendError::Closed(d),
                    ) => {
                        match d.error {
                            Some(_) => {
                                if let Some(f) = st.failure.as_mut() {
                                    f.reported = false;
                                }
                            }
                            None => st.buffered.push_front(d.batch),
                        }
                        break 'passes;
                    }
                }
            }
        }
        self.cursor = last.or(split);
    }

    /// Takes back the batches queued for a handler that is not reading (no `run`, stream
    /// dropped): they return to their partition's buffer, unprocessed.
    pub fn reclaim_unread(&self, parts: &mut Partitions) {
        let Ok(mut rx) = self.rx.try_lock() else {
            return;
        };
        while let Ok(d) = rx.try_recv() {
            if !d.progress.withdraw() {
                continue; // already dropped (its partition revoked)
            }
            let tp = TopicPartition::new(d.batch.topic.to_string(), d.batch.partition);
            if let Some(st) = parts.states.get_mut(&tp) {
                if st.generation == d.generation {
                    st.in_process = false;
                    // Its bytes move back from the handler to the buffer: still counted.
                    st.in_hand_bytes = 0;
                    match d.error {
                        Some(_) => {
                            if let Some(f) = st.failure.as_mut() {
                                f.reported = false;
                            }
                        }
                        None => st.buffered.push_front(d.batch),
                    }
                } else {
                    parts.release_in_hand(&tp);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::message::Batch;

    /// With room for one batch at a time (a handler of one partition at a time), partitions
    /// take turns: one that always has records does not keep the others waiting.
    #[test]
    fn partitions_take_turns() {
        let mut parts = Partitions::default();
        let tps: Vec<_> = (0..3).map(|p| TopicPartition::new("t", p)).collect();
        parts.assign(tps.iter().map(|tp| (tp.clone(), 0, None)));
        for (p, tp) in tps.iter().enumerate() {
            let st = parts.states.get_mut(tp).unwrap();
            for o in 0..3 {
                st.buffered.push_back(Batch::of(p as i32, o..o + 1));
            }
        }
        let (tx, rx) = mpsc::channel(1);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let mut d = Deliveries::new(tx, rx.clone());
        let mut order = Vec::new();
        for _ in 0..7 {
            d.deliver(&mut parts, &BTreeSet::new());
            let got = rx.try_lock().unwrap().try_recv().unwrap();
            assert!(got.progress.take());
            order.push((got.batch.partition, got.batch.first_offset()));
            // Done with it.
            let st = parts
                .states
                .get_mut(&TopicPartition::new("t", got.batch.partition))
                .unwrap();
            st.in_process = false;
            st.progress = None;
        }
        assert_eq!(
            order,
            vec![(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1), (0, 2)]
        );
    }
}
