//! The pace of fetches to one broker, the rule both consumers follow: a fetch that fails as a
//! whole backs off ([`PACING`]), and one whose answer brought nothing (a broker answering at
//! once whatever `max_wait` says) is followed by the next no sooner than [`IDLE_FETCH_EVERY`]
//! after it was sent. A long poll (`max_wait` of at least that) is never slowed down.
//! Sans-IO: the caller says what happened and when.

use tokio::time::Instant;

use crate::retry::{Backoff, IDLE_FETCH_EVERY, PACING};

#[derive(Debug, Default)]
pub(crate) struct BrokerPace {
    /// When the fetch in flight (or the last one) was sent.
    sent: Option<Instant>,
    /// No fetch to this broker before then.
    not_before: Option<Instant>,
    /// Fetches in a row that failed as a whole.
    failures: Backoff,
}

impl BrokerPace {
    /// Whether a fetch may be sent now.
    pub fn may_fetch(&self, now: Instant) -> bool {
        self.not_before.is_none_or(|t| t <= now)
    }

    /// When the next fetch may go, while it is held.
    pub fn not_before(&self) -> Option<Instant> {
        self.not_before
    }

    /// A fetch is sent now.
    pub fn sent(&mut self, now: Instant) {
        self.sent = Some(now);
        self.not_before = None;
    }

    /// The fetch failed as a whole: the next one backs off.
    pub fn failed(&mut self, now: Instant) {
        self.not_before = Some(self.failures.tried(&PACING, now));
    }

    /// The broker answered; `idle`: the answer moved nothing.
    pub fn answered(&mut self, idle: bool, now: Instant) {
        self.failures.reset();
        self.not_before = if idle {
            self.sent.map(|s| s + IDLE_FETCH_EVERY).filter(|t| *t > now)
        } else {
            None
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn idle_answers_hold_the_next_fetch_and_failures_back_off() {
        let mut p = BrokerPace::default();
        let t0 = Instant::now();
        assert!(p.may_fetch(t0));
        p.sent(t0);
        // Answered at once with nothing: held until 100 ms after the send.
        p.answered(true, t0 + Duration::from_millis(5));
        assert!(!p.may_fetch(t0 + Duration::from_millis(50)));
        assert!(p.may_fetch(t0 + IDLE_FETCH_EVERY));
        // A long poll that ended empty after max_wait is not held.
        p.sent(t0 + IDLE_FETCH_EVERY);
        p.answered(true, t0 + Duration::from_millis(700));
        assert!(p.may_fetch(t0 + Duration::from_millis(700)));
        // Records: never held.
        p.sent(t0);
        p.answered(false, t0);
        assert!(p.may_fetch(t0));
        // Failures back off, more each time, and an answer ends it.
        p.failed(t0);
        let first = p.not_before().unwrap() - t0;
        p.failed(t0);
        let second = p.not_before().unwrap() - t0;
        assert!(
            first >= Duration::from_millis(80) && second > first,
            "{first:?} {second:?}"
        );
        p.answered(false, t0);
        assert!(p.may_fetch(t0));
    }
}
