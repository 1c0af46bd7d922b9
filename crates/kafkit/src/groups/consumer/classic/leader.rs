//! What a classic member does beyond the protocol's requests: as the group's leader it computes
//! the assignment from the subscribed topics' partition counts and watches those counts (new
//! partitions or topics start a rebalance); with a pattern subscription it looks for matching
//! topics every few seconds (the classic protocol has no broker-side regex).
//!
//! [`LeaderChecks`] decides when each lookup is due (sans-IO, driven by the engine); the async
//! functions below do the lookups.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::time::Instant;

use super::assignor::MemberAssignment;
use super::AssignmentJob;
use crate::cluster::TopicSelection;
use crate::error::{Error, Result};
use crate::Kafka;

/// How often a classic pattern subscription looks for new matching topics, and the leader
/// looks at the partition counts again.
pub(crate) const CHECK_INTERVAL: Duration = Duration::from_secs(3);

/// What a classic leader assigned, by member id.
pub(crate) type Assignments = BTreeMap<String, MemberAssignment>;

/// The topics the group subscribes to and the partition count of those that exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopicCounts {
    pub topics: BTreeSet<String>,
    pub counts: BTreeMap<String, i32>,
}

/// When the pattern and partition-count lookups are due. One of each runs at a time.
#[derive(Debug, Default)]
pub(crate) struct LeaderChecks {
    pattern_at: Option<Instant>,
    pattern_running: bool,
    /// The generation this member assigned as leader, and the counts it used.
    assigned: Option<(i32, TopicCounts)>,
    counts_at: Option<Instant>,
    counts_running: bool,
}

impl LeaderChecks {
    /// A pattern subscription starts: look for matching topics now.
    pub fn watch_pattern(&mut self, now: Instant) {
        self.pattern_at = Some(now);
    }

    /// A topic-list subscription replaced the pattern.
    pub fn stop_pattern(&mut self) {
        self.pattern_at = None;
    }

    /// Whether the pattern lookup should start now (it is then running until
    /// [`Self::pattern_done`]).
    pub fn pattern_due(&mut self, now: Instant) -> bool {
        if self.pattern_running || self.pattern_at.is_none_or(|at| at > now) {
            return false;
        }
        self.pattern_running = true;
        self.pattern_at = None;
        true
    }

    /// The pattern lookup ended; the next one is due in [`CHECK_INTERVAL`].
    pub fn pattern_done(&mut self, now: Instant) {
        self.pattern_running = false;
        self.pattern_at = Some(now + CHECK_INTERVAL);
    }

    /// This member assigned generation `generation` as leader from `counts`.
    pub fn assigned(&mut self, generation: i32, counts: TopicCounts, now: Instant) {
        self.assigned = Some((generation, counts));
        self.counts_at = Some(now + CHECK_INTERVAL);
    }

    /// The counts to compare with the cluster's now, if that check is due. `generation` is
    /// the member's current one: a leader of an older generation checks nothing.
    pub fn counts_due(&mut self, now: Instant, generation: i32) -> Option<(i32, TopicCounts)> {
        let (assigned, counts) = self.assigned.as_ref()?;
        if self.counts_running || self.counts_at.is_none_or(|at| at > now) {
            return None;
        }
        if *assigned != generation {
            self.assigned = None;
            return None;
        }
        self.counts_running = true;
        Some((*assigned, counts.clone()))
    }

    /// The count check ended. Returns whether the group must rebalance: the counts changed
    /// and this member still leads that generation.
    pub fn counts_done(&mut self, changed: Option<i32>, generation: i32, now: Instant) -> bool {
        self.counts_running = false;
        match changed {
            Some(g) if g == generation => {
                self.assigned = None;
                true
            }
            Some(_) => false,
            None => {
                self.counts_at = Some(now + CHECK_INTERVAL);
                false
            }
        }
    }

    /// The earliest time a check is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        let counts = self.counts_at.filter(|_| self.assigned.is_some());
        match (self.pattern_at, counts) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Topics whose whole name matches `pattern` (internal ones excluded).
pub(crate) async fn matching_topics(kafka: &Kafka, pattern: &str) -> Result<BTreeSet<String>> {
    let re = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
        Error::config(format!(
            "subscription pattern '{pattern}' is not a valid regular expression ({e}); fix the pattern"
        ))
    })?;
    let md = kafka.cluster().refresh(TopicSelection::All).await?;
    Ok(md
        .topics
        .values()
        .filter(|t| !t.is_internal && re.is_match(&t.name))
        .map(|t| t.name.clone())
        .collect())
}

/// The partition count of each of `topics` that exists.
pub(crate) async fn partition_counts(
    kafka: &Kafka,
    topics: &[String],
) -> Result<BTreeMap<String, i32>> {
    let md = kafka
        .cluster()
        .refresh(TopicSelection::Names(topics.to_vec()))
        .await?;
    Ok(topics
        .iter()
        .filter_map(|t| md.topic(t).map(|i| (t.clone(), i.partitions.len() as i32)))
        .collect())
}

/// Whether the counts `counts` was computed from changed; `Some(generation)` if they did.
pub(crate) async fn counts_changed(
    kafka: &Kafka,
    generation: i32,
    counts: &TopicCounts,
) -> Option<i32> {
    let topics: Vec<String> = counts.topics.iter().cloned().collect();
    match partition_counts(kafka, &topics).await {
        Ok(now) if now != counts.counts => Some(generation),
        _ => None,
    }
}

/// Runs the group's assignor over the partition counts of every subscribed topic.
pub(crate) async fn compute_assignment(
    kafka: &Kafka,
    job: AssignmentJob,
) -> Result<(Assignments, TopicCounts)> {
    let topics: BTreeSet<String> = job
        .members
        .iter()
        .flat_map(|m| m.topics.iter().cloned())
        .collect();
    let list: Vec<String> = topics.iter().cloned().collect();
    let counts = partition_counts(kafka, &list).await?;
    tracing::debug!(
        assignor = job.assigner.name(),
        members = job.members.len(),
        topics = counts.len(),
        "computing the group's assignment"
    );
    let out = job.assigner.assign(&job.members, &counts)?;
    Ok((out, TopicCounts { topics, counts }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts() -> TopicCounts {
        TopicCounts {
            topics: BTreeSet::from(["t".to_string()]),
            counts: BTreeMap::from([("t".to_string(), 3)]),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_pattern_is_looked_up_at_once_then_every_interval_one_at_a_time() {
        let mut c = LeaderChecks::default();
        let t0 = Instant::now();
        assert!(!c.pattern_due(t0), "no pattern subscription");
        c.watch_pattern(t0);
        assert_eq!(c.next_deadline(), Some(t0));
        assert!(c.pattern_due(t0));
        assert!(!c.pattern_due(t0), "one lookup at a time");
        c.pattern_done(t0);
        assert!(!c.pattern_due(t0 + CHECK_INTERVAL / 2));
        assert!(c.pattern_due(t0 + CHECK_INTERVAL));
        c.stop_pattern();
        c.pattern_done(t0);
        c.stop_pattern();
        assert_eq!(c.next_deadline(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_leader_rebalances_when_the_counts_of_its_own_generation_change() {
        let mut c = LeaderChecks::default();
        let t0 = Instant::now();
        assert_eq!(c.counts_due(t0, 5), None, "not a leader");
        c.assigned(5, counts(), t0);
        assert_eq!(c.counts_due(t0, 5), None, "not yet due");
        let due = t0 + CHECK_INTERVAL;
        assert_eq!(c.next_deadline(), Some(due));
        assert_eq!(c.counts_due(due, 5), Some((5, counts())));
        assert_eq!(c.counts_due(due, 5), None, "one check at a time");
        // Unchanged: checked again later.
        assert!(!c.counts_done(None, 5, due));
        assert_eq!(c.next_deadline(), Some(due + CHECK_INTERVAL));
        let later = due + CHECK_INTERVAL;
        assert!(c.counts_due(later, 5).is_some());
        assert!(c.counts_done(Some(5), 5, later), "changed: rebalance");
        assert_eq!(
            c.next_deadline(),
            None,
            "nothing to watch until it leads again"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_member_of_a_newer_generation_neither_checks_nor_rebalances_for_an_old_one() {
        let mut c = LeaderChecks::default();
        let t0 = Instant::now();
        c.assigned(5, counts(), t0);
        assert_eq!(c.counts_due(t0 + CHECK_INTERVAL, 6), None);
        assert_eq!(c.next_deadline(), None);
        c.assigned(6, counts(), t0);
        assert!(c.counts_due(t0 + CHECK_INTERVAL, 6).is_some());
        assert!(
            !c.counts_done(Some(6), 7, t0),
            "the group moved on meanwhile"
        );
    }
}
