//! The topic ids an assignment names (KIP-848 and share group heartbeats carry ids, not
//! names): what metadata has named, and for each id it did not know, the pace and count of
//! its lookups. One rule for both kinds of group: an unknown id holds back nothing, is looked
//! up again at the `PACING` pace, and after [`NAME_LOOKUPS`] lookups in vain is named in one
//! warning (and events stop waiting for it).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

use crate::retry::{Backoff, PACING};

/// Lookups that found no name for a topic id before the user is warned and events leave its
/// partitions out (the topic was deleted, or metadata cannot name it).
pub(crate) const NAME_LOOKUPS: u32 = 3;

/// Names of topic ids, and the lookups of those not named yet (sans-IO).
#[derive(Debug, Default)]
pub(crate) struct TopicIds {
    names: HashMap<Uuid, String>,
    lookups: HashMap<Uuid, Backoff>,
    misses: HashMap<Uuid, u32>,
}

impl TopicIds {
    /// Every id named so far.
    pub fn names(&self) -> &HashMap<Uuid, String> {
        &self.names
    }

    pub fn name(&self, id: &Uuid) -> Option<&String> {
        self.names.get(id)
    }

    pub fn is_named(&self, id: &Uuid) -> bool {
        self.names.contains_key(id)
    }

    /// Named, or looked up [`NAME_LOOKUPS`] times in vain: nothing should wait for it.
    pub fn settled(&self, id: &Uuid) -> bool {
        self.is_named(id) || self.misses.get(id).is_some_and(|n| *n >= NAME_LOOKUPS)
    }

    /// Names metadata already holds (its cache), for ids not named yet.
    pub fn learn<'a>(&mut self, known: impl IntoIterator<Item = (&'a Uuid, &'a str)>) {
        for (id, name) in known {
            self.names.entry(*id).or_insert_with(|| name.to_string());
        }
    }

    /// How long a lookup of `ids` waits first: an id metadata did not know is asked again
    /// only after its backoff.
    pub fn wait(&self, ids: &[Uuid], now: Instant) -> Duration {
        ids.iter()
            .filter_map(|id| self.lookups.get(id).and_then(Backoff::until))
            .max()
            .map_or(Duration::ZERO, |u| u.saturating_duration_since(now))
    }

    /// A lookup of `asked` ended with `found`: the ids still unknown back off and count a
    /// miss. Returns one warning for each id that has just reached [`NAME_LOOKUPS`] misses,
    /// naming `group` ("group 'g'") and the partitions `target` assigns it.
    pub fn answered(
        &mut self,
        asked: &[Uuid],
        found: &HashMap<Uuid, String>,
        now: Instant,
        group: &str,
        target: Option<&BTreeMap<Uuid, BTreeSet<i32>>>,
    ) -> Vec<String> {
        for (id, name) in found {
            self.names.insert(*id, name.clone());
        }
        let mut give_up = Vec::new();
        for id in asked {
            if self.names.contains_key(id) {
                self.lookups.remove(id);
                continue;
            }
            self.lookups.entry(*id).or_default().tried(&PACING, now);
            let misses = self.misses.entry(*id).or_default();
            *misses += 1;
            if *misses == NAME_LOOKUPS {
                let partitions: Vec<i32> = target
                    .and_then(|t| t.get(id))
                    .map(|ps| ps.iter().copied().collect())
                    .unwrap_or_default();
                give_up.push(warning(group, id, &partitions));
            }
        }
        give_up
    }
}

/// The warning for an id given up on.
fn warning(group: &str, id: &Uuid, partitions: &[i32]) -> String {
    format!(
        "{group}: the assignment names topic id {id} (partitions {partitions:?}), which metadata does not know after {NAME_LOOKUPS} lookups; the member's other partitions are read meanwhile, and the id is looked up again, backing off to once a second, until metadata names it"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_unknown_id_backs_off_and_is_given_up_once() {
        let mut ids = TopicIds::default();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let now = Instant::now();
        assert_eq!(ids.wait(&[a, b], now), Duration::ZERO);
        let found: HashMap<Uuid, String> = [(a, "orders".to_string())].into_iter().collect();
        let target: BTreeMap<Uuid, BTreeSet<i32>> = [(b, [2, 5].into_iter().collect())].into();
        let mut given_up = Vec::new();
        for i in 0..5 {
            let at = now + Duration::from_secs(i);
            given_up.extend(ids.answered(&[a, b], &found, at, "group 'g'", Some(&target)));
            assert!(ids.wait(&[b], at) > Duration::ZERO, "b backs off");
            assert_eq!(ids.wait(&[a], at), Duration::ZERO, "a is named");
            assert_eq!(ids.settled(&b), i + 1 >= u64::from(NAME_LOOKUPS));
        }
        assert_eq!(given_up.len(), 1, "warned once: {given_up:?}");
        assert!(
            given_up[0].starts_with(&format!(
                "group 'g': the assignment names topic id {b} (partitions [2, 5])"
            )),
            "{given_up:?}"
        );
        assert_eq!(ids.name(&a).map(String::as_str), Some("orders"));
    }

    #[tokio::test(start_paused = true)]
    async fn lookups_of_an_id_metadata_does_not_know_are_paced() {
        let mut ids = TopicIds::default();
        let (unknown, known) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut now = Instant::now();
        let mut lookups = 0;
        let end = now + Duration::from_secs(10);
        while now < end {
            lookups += 1;
            ids.answered(&[unknown], &HashMap::new(), now, "group 'g'", None);
            let wait = ids.wait(&[unknown], now);
            assert!(wait >= Duration::from_millis(80) && wait <= Duration::from_secs(1));
            assert_eq!(
                ids.wait(&[known], now),
                Duration::ZERO,
                "only the unknown id waits"
            );
            tokio::time::advance(wait).await;
            now = Instant::now();
        }
        assert!((11..=16).contains(&lookups), "{lookups} lookups in 10 s");
        // Named at last: no wait any more.
        let names = [(unknown, "t".to_string())].into_iter().collect();
        ids.answered(&[unknown], &names, now, "group 'g'", None);
        assert_eq!(ids.wait(&[unknown], now), Duration::ZERO);
    }
}
