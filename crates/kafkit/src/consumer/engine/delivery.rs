//! Handing batches to the handler: one batch per partition at a time, in order, none for a
//! partition paused or being revoked; and taking back batches nobody is reading.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::super::message::Batch;
use super::super::partitions::{InHand, Partitions};
use crate::events::TopicPartition;

/// A batch handed to the handler, tagged with the assignment generation it came from.
pub(crate) struct Delivery {
    pub generation: u64,
    pub batch: Batch,
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
}

impl Deliveries {
    pub fn new(
        tx: mpsc::Sender<Delivery>,
        rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Delivery>>>,
    ) -> Self {
        Deliveries { tx, rx }
    }

    /// Queues the next buffered batch of every partition the handler is not busy with, until
    /// the queue is full.
    pub fn deliver(&self, parts: &mut Partitions, revoking: &BTreeSet<TopicPartition>) {
        for (tp, st) in parts.states.iter_mut() {
            if st.in_process || st.paused || revoking.contains(tp) {
                continue;
            }
            let Some(batch) = st.buffered.pop_front() else {
                continue;
            };
            let bytes = batch.approx_bytes();
            let epoch = batch.messages.first().map_or(-1, |m| m.leader_epoch);
            let first = batch.first_offset();
            let progress = InHand::new();
            match self.tx.try_send(Delivery {
                generation: st.generation,
                batch,
                progress: progress.clone(),
            }) {
                Ok(()) => {
                    st.in_process = true;
                    st.progress = Some((progress, epoch));
                    st.in_hand_from = Some(first);
                    parts.buffered_bytes = parts.buffered_bytes.saturating_sub(bytes);
                }
                Err(mpsc::error::TrySendError::Full(d) | mpsc::error::TrySendError::Closed(d)) => {
                    st.buffered.push_front(d.batch);
                    return;
                }
            }
        }
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
                    parts.buffered_bytes += d.batch.approx_bytes();
                    st.buffered.push_front(d.batch);
                }
            }
        }
    }
}
