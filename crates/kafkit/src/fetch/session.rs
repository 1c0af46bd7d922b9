//! Incremental fetch sessions (KIP-227), one per broker, sans-IO.
//!
//! The first fetch to a broker is full and asks it to open a session (epoch 0). After that a
//! fetch carries only the partitions whose position, epochs or size limit changed since the
//! broker last heard of them, and forgets those no longer fetched (paused, held by the handler,
//! revoked); the broker answers only for partitions with records or errors. A member with
//! hundreds of caught-up partitions thus sends and receives a few bytes per poll instead of
//! every partition each time. Any failure closes the session and the next fetch is full again.

use std::collections::HashMap;

use uuid::Uuid;

use super::{FetchPosition, FetchTarget};
use crate::events::TopicPartition;

/// The epoch that opens a session (or, with an existing id, closes it and opens another).
const OPEN_EPOCH: i32 = 0;

/// What the broker holds for one partition of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Held {
    topic_id: Uuid,
    position: FetchPosition,
    max_bytes: i32,
}

/// What one fetch puts on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionFetch {
    /// 0: no session (a full fetch that opens one when `epoch` is 0).
    pub session_id: i32,
    pub epoch: i32,
    /// The partitions to send: all of them on a full fetch, the changed ones otherwise.
    pub send: Vec<FetchTarget>,
    /// Partitions the broker should stop fetching for this session.
    pub forget: Vec<(TopicPartition, Uuid)>,
}

/// One broker's session.
#[derive(Debug, Default)]
pub(crate) struct FetchSession {
    id: i32,
    /// The epoch of the next fetch.
    epoch: i32,
    held: HashMap<TopicPartition, Held>,
    /// What the broker will hold once the fetch in flight succeeds.
    pending: Option<HashMap<TopicPartition, Held>>,
}

impl FetchSession {
    /// The fetch for `targets`, every partition to read from this broker now.
    pub fn prepare(&mut self, targets: &[FetchTarget]) -> SessionFetch {
        let next: HashMap<TopicPartition, Held> = targets
            .iter()
            .map(|t| {
                (
                    t.partition.clone(),
                    Held {
                        topic_id: t.topic_id,
                        position: t.position,
                        max_bytes: t.max_bytes,
                    },
                )
            })
            .collect();
        let fetch = if self.id == 0 || self.epoch == OPEN_EPOCH {
            SessionFetch {
                session_id: self.id,
                epoch: OPEN_EPOCH,
                send: targets.to_vec(),
                forget: Vec::new(),
            }
        } else {
            let send = targets
                .iter()
                .filter(|t| next.get(&t.partition) != self.held.get(&t.partition))
                .cloned()
                .collect();
            let mut forget: Vec<(TopicPartition, Uuid)> = self
                .held
                .iter()
                .filter(|(tp, _)| !next.contains_key(*tp))
                .map(|(tp, h)| (tp.clone(), h.topic_id))
                .collect();
            forget.sort_by(|a, b| a.0.cmp(&b.0));
            SessionFetch {
                session_id: self.id,
                epoch: self.epoch,
                send,
                forget,
            }
        };
        self.pending = Some(next);
        fetch
    }

    /// The fetch succeeded; `session_id` is the one the broker answered with (0: it keeps no
    /// session, and the next fetch is full again).
    pub fn on_answer(&mut self, session_id: i32) {
        let Some(next) = self.pending.take() else {
            return;
        };
        if session_id == 0 {
            *self = FetchSession::default();
            return;
        }
        let opened = self.epoch == OPEN_EPOCH;
        self.id = session_id;
        self.held = next;
        // Epochs run 1..=i32::MAX and wrap to 1 (0 opens, -1 means sessionless).
        self.epoch = if opened || self.epoch == i32::MAX {
            1
        } else {
            self.epoch + 1
        };
    }

    /// The fetch failed (a session error, a timeout, a lost connection): the broker's view
    /// is unknown. The next fetch closes this session and opens another.
    pub fn on_error(&mut self) {
        self.pending = None;
        self.held.clear();
        self.epoch = OPEN_EPOCH;
    }

    /// The session's id (0: none).
    #[cfg(test)]
    pub fn id(&self) -> i32 {
        self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(p: i32, offset: i64) -> FetchTarget {
        FetchTarget {
            partition: TopicPartition::new("t", p),
            topic_id: Uuid::from_u128(7),
            position: FetchPosition {
                offset,
                current_leader_epoch: 1,
                last_fetched_epoch: 1,
            },
            max_bytes: 1024,
        }
    }

    fn sent(f: &SessionFetch) -> Vec<(i32, i64)> {
        f.send
            .iter()
            .map(|t| (t.partition.partition, t.position.offset))
            .collect()
    }

    #[test]
    fn the_first_fetch_is_full_then_only_changes_travel() {
        let mut s = FetchSession::default();
        let all = [target(0, 10), target(1, 20), target(2, 30)];
        let f = s.prepare(&all);
        assert_eq!((f.session_id, f.epoch), (0, 0));
        assert_eq!(sent(&f), vec![(0, 10), (1, 20), (2, 30)]);
        s.on_answer(42);
        // Partition 1 read records; 0 and 2 are caught up: only 1 goes.
        let f = s.prepare(&[target(0, 10), target(1, 25), target(2, 30)]);
        assert_eq!((f.session_id, f.epoch), (42, 1));
        assert_eq!(sent(&f), vec![(1, 25)]);
        assert!(f.forget.is_empty());
        s.on_answer(42);
        // Nothing changed: an empty incremental fetch (a long poll of the whole session).
        let f = s.prepare(&[target(0, 10), target(1, 25), target(2, 30)]);
        assert_eq!(f.epoch, 2);
        assert!(f.send.is_empty() && f.forget.is_empty());
        s.on_answer(42);
        // Partition 2 is held by the handler: forgotten, and sent again when it returns.
        let f = s.prepare(&[target(0, 10), target(1, 25)]);
        assert_eq!(
            f.forget,
            vec![(TopicPartition::new("t", 2), Uuid::from_u128(7))]
        );
        s.on_answer(42);
        let f = s.prepare(&[target(0, 10), target(1, 25), target(2, 31)]);
        assert_eq!(sent(&f), vec![(2, 31)]);
    }

    #[test]
    fn a_changed_epoch_or_size_limit_is_a_change() {
        let mut s = FetchSession::default();
        s.prepare(&[target(0, 10)]);
        s.on_answer(5);
        let mut t = target(0, 10);
        t.position.current_leader_epoch = 2;
        assert_eq!(sent(&s.prepare(&[t.clone()])), vec![(0, 10)]);
        s.on_answer(5);
        t.max_bytes = 4096;
        assert_eq!(sent(&s.prepare(&[t])), vec![(0, 10)]);
    }

    #[test]
    fn a_failure_closes_the_session_and_the_next_fetch_is_full() {
        let mut s = FetchSession::default();
        s.prepare(&[target(0, 10), target(1, 20)]);
        s.on_answer(9);
        s.prepare(&[target(0, 11), target(1, 20)]);
        s.on_error();
        let f = s.prepare(&[target(0, 11), target(1, 20)]);
        assert_eq!((f.session_id, f.epoch), (9, 0), "close 9 and open another");
        assert_eq!(sent(&f), vec![(0, 11), (1, 20)]);
        s.on_answer(10);
        assert_eq!(s.id(), 10);
        assert_eq!(s.prepare(&[target(0, 11), target(1, 20)]).epoch, 1);
    }

    #[test]
    fn a_broker_that_keeps_no_session_gets_full_fetches() {
        let mut s = FetchSession::default();
        s.prepare(&[target(0, 10)]);
        s.on_answer(0);
        let f = s.prepare(&[target(0, 10)]);
        assert_eq!((f.session_id, f.epoch), (0, 0));
        assert_eq!(sent(&f), vec![(0, 10)]);
    }

    #[test]
    fn the_epoch_wraps_to_one() {
        let mut s = FetchSession::default();
        s.prepare(&[target(0, 10)]);
        s.on_answer(3);
        s.epoch = i32::MAX;
        assert_eq!(s.prepare(&[target(0, 10)]).epoch, i32::MAX);
        s.on_answer(3);
        assert_eq!(s.prepare(&[target(0, 10)]).epoch, 1);
    }
}
