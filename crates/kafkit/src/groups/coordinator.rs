//! Where a group member's coordinator is: known (with its connection), being looked for, or
//! to be looked for after a backoff. Sans-IO: the consumer and share engines run the lookup
//! (`cluster::coordinator::connect_coordinator`) and report its end here, so the pace of
//! lookups and when the user hears about them is one rule for every kind of group.

use tokio::time::Instant;

use crate::cluster::coordinator::COORDINATOR_BACKOFF;
use crate::error::{Error, ErrorKind};
use crate::net::Connection;
use crate::retry::Backoff;

/// Failed lookups in a row after which a coordinator that answers but is not ready (still
/// loading its partition after a start) is worth telling the user about.
const SAY_AFTER_FAILURES: u32 = 20;

#[derive(Default)]
pub(crate) struct CoordinatorLookup {
    conn: Option<Connection>,
    finding: bool,
    backoff: Backoff,
    /// The user was told the coordinator cannot be found (once, until it is).
    said: bool,
}

impl CoordinatorLookup {
    /// The coordinator's connection, when it is known.
    pub fn known(&self) -> Option<&Connection> {
        self.conn.as_ref()
    }

    /// Whether a lookup should start now (none is known, none is running, the backoff is
    /// over). Marks the lookup as started when it says yes.
    pub fn start(&mut self, now: Instant) -> bool {
        if self.conn.is_some() || self.finding || !self.backoff.ready(now) {
            return false;
        }
        self.finding = true;
        true
    }

    /// The lookup found the coordinator.
    pub fn found(&mut self, conn: Connection) {
        self.conn = Some(conn);
        self.finding = false;
        self.backoff.reset();
        self.said = false;
    }

    /// The lookup failed: the next one waits. Returns true when the user should now be told
    /// (once): at once when no broker answered, and when a coordinator that answers stays
    /// unready for many lookups in a row.
    pub fn failed(&mut self, e: &Error, now: Instant) -> bool {
        self.finding = false;
        self.lost(now);
        let unanswered = matches!(e.kind(), ErrorKind::Connection | ErrorKind::Timeout(_));
        if self.said || !(unanswered || self.backoff.failures() >= SAY_AFTER_FAILURES) {
            return false;
        }
        self.said = true;
        true
    }

    /// The coordinator moved or stopped answering: look for it again after the backoff.
    pub fn lost(&mut self, now: Instant) {
        self.conn = None;
        self.backoff.tried(&COORDINATOR_BACKOFF, now);
    }

    /// The connection to the coordinator broke: look for it again at once (the first lookup
    /// after a break goes without waiting; repeated ones are paced by `failed`).
    pub fn disconnected(&mut self) {
        self.conn = None;
    }

    /// The lookup's answer is set aside: forget the coordinator and any backoff (the member
    /// changes protocol and looks again at once).
    pub fn reset(&mut self) {
        self.conn = None;
        self.finding = false;
        self.backoff.reset();
    }

    /// When the next lookup may start, while one waits for its backoff.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.conn.is_some() || self.finding {
            return None;
        }
        self.backoff.until()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn refused() -> Error {
        Error::new(ErrorKind::Connection, "find_coordinator", "refused")
    }

    fn not_ready() -> Error {
        Error::new(
            ErrorKind::Kafka(crate::error::ResponseError::CoordinatorNotAvailable),
            "find_coordinator",
            "loading",
        )
    }

    #[tokio::test(start_paused = true)]
    async fn lookups_are_paced_and_the_user_is_told_once() {
        let mut l = CoordinatorLookup::default();
        let t0 = Instant::now();
        assert!(l.start(t0), "the first lookup goes at once");
        assert!(!l.start(t0), "one lookup at a time");
        assert!(l.failed(&refused(), t0), "no broker answered: said at once");
        assert!(!l.start(t0), "the next lookup waits for the backoff");
        let next = l.next_deadline().expect("a backoff");
        assert!(next - t0 >= Duration::from_millis(80) && next - t0 <= Duration::from_secs(1));
        assert!(l.start(next));
        assert!(!l.failed(&refused(), next), "said once");
        assert!(l.start(l.next_deadline().unwrap()));
        assert!(l.known().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn an_unready_coordinator_is_said_only_when_it_lasts() {
        let mut l = CoordinatorLookup::default();
        let mut now = Instant::now();
        let mut said = 0;
        for _ in 0..SAY_AFTER_FAILURES + 5 {
            now = l.next_deadline().unwrap_or(now);
            assert!(l.start(now));
            said += usize::from(l.failed(&not_ready(), now));
            assert!(l.next_deadline().unwrap() - now <= Duration::from_millis(1200));
        }
        assert_eq!(said, 1);
        assert_eq!(l.backoff.failures(), SAY_AFTER_FAILURES + 5);
    }
}
