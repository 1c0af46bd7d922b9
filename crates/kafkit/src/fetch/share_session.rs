//! A share session with one broker (KIP-932): the epoch sequence every ShareFetch and
//! ShareAcknowledge to it follows (0 opens, then 1, 2, … wrapping to 1, -1 closes), and which
//! partitions the broker's session holds, so a fetch lists only what was added or forgotten
//! and the partitions it acknowledges. Sans-IO.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use crate::events::TopicPartition;

/// The epoch that opens a session.
const OPEN: i32 = 0;
/// The epoch that closes it.
pub(crate) const CLOSE: i32 = -1;

/// What the next ShareFetch to the broker carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FetchPlan {
    pub epoch: i32,
    /// Partitions listed: those new to the session, and those with acknowledgements.
    pub listed: BTreeSet<TopicPartition>,
    /// Partitions the session drops.
    pub forget: BTreeSet<TopicPartition>,
    /// Whether acknowledgements may ride along (not on a fetch that opens a session: the
    /// records they are for belonged to the session before).
    pub acks_allowed: bool,
}

#[derive(Debug, Default)]
pub(crate) struct ShareSession {
    /// The epoch of the next request.
    epoch: i32,
    /// What the broker's session fetches.
    held: BTreeSet<TopicPartition>,
}

impl ShareSession {
    /// The next fetch for `wanted` (the partitions this member is assigned that this broker
    /// leads), acknowledging for `acked`.
    pub fn next_fetch(
        &mut self,
        wanted: &BTreeSet<TopicPartition>,
        acked: &BTreeSet<TopicPartition>,
    ) -> FetchPlan {
        let plan = if self.epoch == OPEN {
            FetchPlan {
                epoch: OPEN,
                listed: wanted.clone(),
                forget: BTreeSet::new(),
                acks_allowed: false,
            }
        } else {
            let mut listed: BTreeSet<TopicPartition> =
                wanted.difference(&self.held).cloned().collect();
            listed.extend(acked.iter().filter(|tp| self.held.contains(tp)).cloned());
            FetchPlan {
                epoch: self.epoch,
                listed,
                forget: self.held.difference(wanted).cloned().collect(),
                acks_allowed: true,
            }
        };
        self.held = wanted.clone();
        self.advance();
        plan
    }

    /// The epoch for a ShareAcknowledge now, or `None` with no session open (the records it
    /// would acknowledge were released with the old session).
    pub fn next_ack(&mut self) -> Option<i32> {
        if self.epoch == OPEN {
            return None;
        }
        let e = self.epoch;
        self.advance();
        Some(e)
    }

    /// The broker lost or refused the session: the next fetch opens a new one.
    pub fn reset(&mut self) {
        self.epoch = OPEN;
        self.held.clear();
    }

    /// Whether a session is open.
    pub fn is_open(&self) -> bool {
        self.epoch != OPEN
    }

    fn advance(&mut self) {
        self.epoch = if self.epoch == i32::MAX {
            1
        } else {
            self.epoch + 1
        };
    }
}

/// Groups partitions by topic id for a request.
pub(crate) fn by_topic<'a>(
    tps: impl IntoIterator<Item = &'a TopicPartition>,
    ids: &BTreeMap<String, Uuid>,
) -> BTreeMap<Uuid, Vec<i32>> {
    let mut out: BTreeMap<Uuid, Vec<i32>> = BTreeMap::new();
    for tp in tps {
        if let Some(id) = ids.get(&tp.topic) {
            out.entry(*id).or_default().push(tp.partition);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ps: &[i32]) -> BTreeSet<TopicPartition> {
        ps.iter().map(|p| TopicPartition::new("t", *p)).collect()
    }

    #[test]
    fn the_first_fetch_opens_with_everything_then_only_changes_are_listed() {
        let mut s = ShareSession::default();
        assert_eq!(s.next_ack(), None, "no session to acknowledge in yet");
        let first = s.next_fetch(&set(&[0, 1]), &BTreeSet::new());
        assert_eq!(first.epoch, 0);
        assert_eq!(first.listed, set(&[0, 1]));
        assert!(!first.acks_allowed);
        let second = s.next_fetch(&set(&[0, 1]), &set(&[1]));
        assert_eq!(second.epoch, 1);
        assert_eq!(
            second.listed,
            set(&[1]),
            "only the partition with acknowledgements"
        );
        assert!(second.forget.is_empty() && second.acks_allowed);
        let third = s.next_fetch(&set(&[1, 2]), &BTreeSet::new());
        assert_eq!(
            (third.epoch, third.listed, third.forget),
            (2, set(&[2]), set(&[0]))
        );
        assert_eq!(
            s.next_ack(),
            Some(3),
            "acknowledgements take the next epoch too"
        );
        assert_eq!(s.next_fetch(&set(&[1, 2]), &BTreeSet::new()).epoch, 4);
    }

    #[test]
    fn a_reset_reopens_and_the_epoch_wraps_to_one() {
        let mut s = ShareSession::default();
        s.next_fetch(&set(&[0]), &BTreeSet::new());
        s.reset();
        let again = s.next_fetch(&set(&[0]), &BTreeSet::new());
        assert_eq!((again.epoch, again.listed), (0, set(&[0])));
        s.epoch = i32::MAX;
        assert_eq!(s.next_ack(), Some(i32::MAX));
        assert_eq!(
            s.next_ack(),
            Some(1),
            "never 0 (open) or -1 (close) by wrapping"
        );
    }
}
