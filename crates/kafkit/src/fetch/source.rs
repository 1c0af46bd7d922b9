//! The per-broker fetch sources both consumers read through. For each broker: whether a fetch
//! is in flight (one at a time: a broker answers a connection's requests in order, so a second
//! would only queue behind the first's long poll), the memory that fetch may fill until it is
//! answered, its pace ([`BrokerPace`]) and its session (KIP-227 for Fetch, KIP-932 for
//! ShareFetch). And, for partitions with no leader, how often metadata is asked again.
//!
//! The group consumer's planner (`consumer/engine/fetching.rs`) and the share consumer's
//! (`share/engine/records.rs`) choose the partitions; what a broker may be sent, and when, is decided
//! here for both. Sans-IO: callers say what happened and when; the tests use a paused clock.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::pace::BrokerPace;

/// How soon metadata is asked again while a partition has no leader.
pub(crate) const NO_LEADER_RETRY: Duration = Duration::from_millis(200);

/// One broker's source.
#[derive(Debug, Default)]
pub(crate) struct Source<S> {
    /// The fetch session with this broker.
    pub session: S,
    in_flight: bool,
    /// What the fetch in flight may fill: not free until it is answered, or two fetches could
    /// each be given the same free space.
    reserved: usize,
    pace: BrokerPace,
}

impl<S> Source<S> {
    /// Whether a fetch is out.
    pub fn in_flight(&self) -> bool {
        self.in_flight
    }
}

/// How a fetch ended, as its source sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// It failed as a whole: the next one backs off.
    Failed,
    /// The broker answered; `idle`: nothing moved (the next one is held, see [`BrokerPace`]).
    Answered { idle: bool },
}

/// Every broker's source, with sessions of kind `S`.
#[derive(Debug)]
pub(crate) struct Sources<S> {
    nodes: HashMap<i32, Source<S>>,
    /// A partition had no leader: metadata is asked again at this time at the earliest.
    metadata_retry_at: Option<Instant>,
}

impl<S> Default for Sources<S> {
    fn default() -> Self {
        Sources {
            nodes: HashMap::new(),
            metadata_retry_at: None,
        }
    }
}

impl<S: Default> Sources<S> {
    /// Whether a fetch may be sent to `node` now: none is out, and its pace allows.
    pub fn ready(&self, node: i32, now: Instant) -> bool {
        self.nodes
            .get(&node)
            .is_none_or(|n| !n.in_flight && n.pace.may_fetch(now))
    }

    /// Whether any fetch is out.
    pub fn any_in_flight(&self) -> bool {
        self.nodes.values().any(|n| n.in_flight)
    }

    /// The memory the fetches in flight may still fill.
    pub fn reserved(&self) -> usize {
        self.nodes.values().map(|n| n.reserved).sum()
    }

    /// A fetch to `node` goes now and may fill `reserved` bytes; returns its session, for the
    /// request.
    pub fn begin(&mut self, node: i32, reserved: usize, now: Instant) -> &mut S {
        let n = self.nodes.entry(node).or_default();
        n.in_flight = true;
        n.reserved = reserved;
        n.pace.sent(now);
        &mut n.session
    }

    /// `node`'s fetch ended: another may start, paced by how this one ended. Returns the
    /// session, which the caller moves on (answered) or resets (failed).
    pub fn end(&mut self, node: i32, ended: Ended, now: Instant) -> &mut S {
        let n = self.nodes.entry(node).or_default();
        n.in_flight = false;
        n.reserved = 0;
        match ended {
            Ended::Failed => n.pace.failed(now),
            Ended::Answered { idle } => n.pace.answered(idle, now),
        }
        &mut n.session
    }

    /// `node`'s source, made on first use.
    pub fn get_mut(&mut self, node: i32) -> &mut Source<S> {
        self.nodes.entry(node).or_default()
    }

    /// `node`'s source, if it was ever used.
    pub fn get(&self, node: i32) -> Option<&Source<S>> {
        self.nodes.get(&node)
    }

    /// Every source used so far.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &Source<S>)> {
        self.nodes.iter().map(|(k, v)| (*k, v))
    }

    /// A partition to read has no leader: whether metadata should be asked again now (at most
    /// every [`NO_LEADER_RETRY`], or a leaderless partition would ask at every turn).
    pub fn leaderless(&mut self, now: Instant) -> bool {
        if self.metadata_retry_at.is_some_and(|r| r > now) {
            return false;
        }
        self.metadata_retry_at = Some(now + NO_LEADER_RETRY);
        true
    }

    /// The earliest time a held fetch may go, or metadata be asked again.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.nodes
            .values()
            .filter_map(|n| n.pace.not_before())
            .chain(self.metadata_retry_at)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::IDLE_FETCH_EVERY;

    #[tokio::test(start_paused = true)]
    async fn one_fetch_at_a_time_per_broker_and_idle_answers_space_the_next() {
        let mut s: Sources<u32> = Sources::default();
        let t0 = Instant::now();
        assert!(s.ready(1, t0));
        *s.begin(1, 1000, t0) += 1;
        assert!(!s.ready(1, t0), "one in flight");
        assert!(s.ready(2, t0), "another broker is not held");
        assert_eq!(s.reserved(), 1000);
        assert!(s.any_in_flight());
        // Answered at once with nothing: held until IDLE_FETCH_EVERY after the send.
        let at = t0 + Duration::from_millis(3);
        assert_eq!(
            *s.end(1, Ended::Answered { idle: true }, at),
            1,
            "its session"
        );
        assert_eq!(s.reserved(), 0, "the space is free again");
        assert!(!s.ready(1, at));
        assert_eq!(s.next_deadline(), Some(t0 + IDLE_FETCH_EVERY));
        assert!(s.ready(1, t0 + IDLE_FETCH_EVERY));
        // A long poll that ran its max_wait is not held at all.
        let t1 = t0 + Duration::from_secs(1);
        s.begin(1, 0, t1);
        s.end(
            1,
            Ended::Answered { idle: true },
            t1 + Duration::from_millis(500),
        );
        assert!(s.ready(1, t1 + Duration::from_millis(500)));
        // Records: the next fetch goes at once.
        let t2 = t0 + Duration::from_secs(2);
        s.begin(1, 0, t2);
        s.end(1, Ended::Answered { idle: false }, t2);
        assert!(s.ready(1, t2));
        assert_eq!(s.next_deadline(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn fetches_that_fail_back_off_until_one_is_answered() {
        let mut s: Sources<()> = Sources::default();
        let mut now = Instant::now();
        let mut waits = Vec::new();
        for _ in 0..8 {
            s.begin(1, 0, now);
            s.end(1, Ended::Failed, now);
            let until = s.next_deadline().unwrap();
            assert!(!s.ready(1, now));
            waits.push(until - now);
            now = until;
        }
        assert!(waits[0] <= Duration::from_millis(120), "{waits:?}");
        assert!(waits[3] >= Duration::from_millis(640), "{waits:?}");
        assert!(
            waits.iter().all(|w| *w <= Duration::from_secs(1)),
            "{waits:?}"
        );
        s.begin(1, 0, now);
        s.end(1, Ended::Answered { idle: false }, now);
        s.begin(1, 0, now);
        s.end(1, Ended::Failed, now);
        assert!(
            s.next_deadline().unwrap() - now <= Duration::from_millis(120),
            "an answer starts the backoff over"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_leader_asks_for_metadata_at_most_every_200_ms() {
        let mut s: Sources<()> = Sources::default();
        let t0 = Instant::now();
        assert!(s.leaderless(t0));
        assert!(!s.leaderless(t0 + Duration::from_millis(100)));
        assert_eq!(s.next_deadline(), Some(t0 + NO_LEADER_RETRY));
        assert!(s.leaderless(t0 + NO_LEADER_RETRY));
    }
}
