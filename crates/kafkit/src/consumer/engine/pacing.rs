//! Pacing of offset lookups: what keeps a lookup that an error makes repeat from going out in a
//! loop as fast as the broker answers. (Fetches are paced per broker by their source,
//! `fetch/source.rs`.)
//!
//! - Per partition, offset lookups (the start position of a newly assigned partition, or a
//!   reset after OFFSET_OUT_OF_RANGE) back off from the second one on, until the partition's
//!   position moves again: a reset that fails, or finds an offset that is out of range again,
//!   is tried again at most 10 times a second, then once a second.
//! - A partition that waits for its position while the others are read is named in a warning
//!   once.
//!
//! Sans-IO: callers say what happened and when; its tests use a paused clock.

use std::collections::{BTreeMap, HashMap, HashSet};

use tokio::time::Instant;

use super::super::config::AutoOffsetReset;
use super::partitions::Partitions;
use crate::error::Error;
use crate::events::TopicPartition;
use crate::retry::{Backoff, PACING};

#[derive(Default)]
pub(super) struct Pacing {
    /// Offset lookups of each partition since its position last moved.
    lookups: HashMap<TopicPartition, Backoff>,
    /// Partitions waiting for an offset lookup, with the policy it follows.
    waiting: BTreeMap<TopicPartition, AutoOffsetReset>,
    /// Partitions the user was told wait for their position.
    warned: HashSet<TopicPartition>,
}

impl Pacing {
    /// These partitions' positions moved (records came, or records were skipped): their next
    /// lookup goes at once again.
    pub fn moved(&mut self, tps: &[TopicPartition]) {
        for tp in tps {
            self.lookups.remove(tp);
        }
    }

    /// These partitions need their offsets looked up (as `reset` says): at once if none was
    /// looked up since it last moved, else once its backoff ends.
    pub fn look_up(
        &mut self,
        tps: impl IntoIterator<Item = TopicPartition>,
        reset: AutoOffsetReset,
    ) {
        for tp in tps {
            self.waiting.insert(tp, reset);
        }
    }

    /// The lookups due now, by policy: partitions still assigned and still without a position
    /// (one sought meanwhile has its own), whose backoff has ended. Each counts as a try.
    pub fn due_lookups(
        &mut self,
        parts: &Partitions,
        now: Instant,
    ) -> Vec<(AutoOffsetReset, Vec<TopicPartition>)> {
        self.waiting
            .retain(|tp, _| parts.states.get(tp).is_some_and(|st| st.position.is_none()));
        self.lookups.retain(|tp, _| parts.states.contains_key(tp));
        self.warned.retain(|tp| parts.states.contains_key(tp));
        let mut due: Vec<(AutoOffsetReset, Vec<TopicPartition>)> = Vec::new();
        let lookups = &mut self.lookups;
        self.waiting.retain(|tp, reset| {
            let b = lookups.entry(tp.clone()).or_default();
            if !b.ready(now) {
                return true;
            }
            b.tried(&PACING, now);
            match due.iter_mut().find(|(r, _)| r == reset) {
                Some((_, tps)) => tps.push(tp.clone()),
                None => due.push((*reset, vec![tp.clone()])),
            }
            false
        });
        due
    }

    /// Partitions whose lookup failed: looked up again after their backoff. Returns the
    /// warnings to give: one per partition, the first time it fails.
    pub fn lookup_failed(
        &mut self,
        failed: Vec<(TopicPartition, Error)>,
        reset: AutoOffsetReset,
    ) -> Vec<String> {
        let mut warnings = Vec::new();
        for (tp, e) in failed {
            if self.warned.insert(tp.clone()) {
                warnings.push(format!("partition {tp} waits: its offset cannot be looked up ({e}); the consumer's other partitions are read meanwhile, and this one is looked up again, backing off to once a second, until it can be"));
            } else {
                tracing::debug!(partition = %tp, error = %e, "offset lookup failed again");
            }
            self.waiting.insert(tp, reset);
        }
        warnings
    }

    /// The earliest time a paced lookup may go.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.waiting
            .keys()
            .filter_map(|tp| self.lookups.get(tp).and_then(|b| b.until()))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn tp(p: i32) -> TopicPartition {
        TopicPartition::new("t", p)
    }

    #[tokio::test(start_paused = true)]
    async fn lookups_of_a_partition_back_off_until_it_moves() {
        let mut p = Pacing::default();
        let mut parts = Partitions::default();
        parts.add_waiting(&[tp(0), tp(1)]);
        let t0 = Instant::now();
        p.look_up([tp(0), tp(1)], AutoOffsetReset::Earliest);
        let due = p.due_lookups(&parts, t0);
        assert_eq!(due, vec![(AutoOffsetReset::Earliest, vec![tp(0), tp(1)])]);
        assert!(p.due_lookups(&parts, t0).is_empty(), "taken");
        // tp(0)'s reset gave an offset that is out of range again: the next lookup waits.
        p.look_up([tp(0)], AutoOffsetReset::Earliest);
        assert!(p.due_lookups(&parts, t0).is_empty());
        let at = p.next_deadline().unwrap();
        assert!(at > t0 + Duration::from_millis(70), "{:?}", at - t0);
        assert_eq!(p.due_lookups(&parts, at).len(), 1);
        // Once it has moved, the next reset goes at once.
        p.moved(&[tp(0)]);
        p.look_up([tp(0)], AutoOffsetReset::Earliest);
        assert_eq!(p.due_lookups(&parts, at).len(), 1);
        // A partition sought or revoked meanwhile is not looked up.
        p.look_up([tp(1)], AutoOffsetReset::Latest);
        parts.states.get_mut(&tp(1)).unwrap().position = Some(4);
        assert!(p
            .due_lookups(&parts, at + Duration::from_secs(5))
            .is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn repeated_failed_lookups_go_out_about_once_a_second_and_warn_once() {
        let mut p = Pacing::default();
        let mut parts = Partitions::default();
        parts.add_waiting(&[tp(0)]);
        let t0 = Instant::now();
        p.look_up([tp(0)], AutoOffsetReset::Earliest);
        let mut now = t0;
        let (mut lookups, mut warnings) = (0, Vec::new());
        while now < t0 + Duration::from_secs(10) {
            for (reset, tps) in p.due_lookups(&parts, now) {
                lookups += tps.len();
                let failed = tps
                    .into_iter()
                    .map(|tp| (tp, Error::closed("list_offsets")));
                warnings.extend(p.lookup_failed(failed.collect(), reset));
            }
            now = p
                .next_deadline()
                .unwrap()
                .max(now + Duration::from_millis(1));
        }
        assert!((11..=16).contains(&lookups), "{lookups} lookups in 10 s");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("t-0"), "{warnings:?}");
    }
}
