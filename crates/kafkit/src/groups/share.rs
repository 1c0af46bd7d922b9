//! A share group member's life over ShareGroupHeartbeat (KIP-932), without I/O: join at epoch
//! 0 with the subscribed topics, heartbeat at the pace the broker sets, take each assignment
//! the broker sends (share groups have no revocation to wait for: a partition may be read by
//! several members at once), rejoin when fenced, leave at epoch -1. The driver sends what
//! `poll_heartbeat` returns and feeds the answers back.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use crate::protocol::messages::{ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse};
use uuid::Uuid;

use crate::error::{Error, ResponseError};
use crate::groups::membership::Membership;
use crate::retry::{Backoff, FENCED_REJOIN, HEARTBEAT_RETRY};

/// The epoch that joins, and the one that leaves.
const JOIN: i32 = 0;
const LEAVE: i32 = -1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Unsubscribed,
    Joining,
    Stable,
    Leaving,
    Left,
    Fatal,
}

/// What the driver must do.
#[derive(Debug)]
pub(crate) enum ShareAction {
    /// The partitions this member reads now, by topic id (the full set).
    Assignment(BTreeMap<Uuid, BTreeSet<i32>>),
    /// Joined at this epoch.
    Joined(i32),
    /// The member cannot go on.
    Fatal(Error),
    /// Worth telling the user; the membership goes on.
    Warn(Error),
    /// The coordinator moved: find it again.
    FindCoordinator,
    /// The leave is done.
    Left,
}

pub(crate) struct ShareMembership {
    group_id: String,
    member_id: String,
    rack_id: Option<String>,
    state: State,
    epoch: i32,
    topics: BTreeSet<String>,
    /// The topics the broker has been told (sent again only when they change).
    topics_sent: Option<BTreeSet<String>>,
    interval: Duration,
    next_heartbeat: Option<Instant>,
    retry_at: Option<Instant>,
    failures: Backoff,
    in_flight: bool,
    leave_sent: bool,
    actions: VecDeque<ShareAction>,
}

impl ShareMembership {
    pub fn new(group_id: String, member_id: String, rack_id: Option<String>) -> Self {
        ShareMembership {
            group_id,
            member_id,
            rack_id,
            state: State::Unsubscribed,
            epoch: JOIN,
            topics: BTreeSet::new(),
            topics_sent: None,
            interval: Duration::from_secs(5),
            next_heartbeat: None,
            retry_at: None,
            failures: Backoff::default(),
            in_flight: false,
            leave_sent: false,
            actions: VecDeque::new(),
        }
    }

    #[cfg(test)]
    pub fn state(&self) -> State {
        self.state
    }

    /// Subscribes (or changes the topics): joins if not in the group; in it, the next
    /// heartbeat carries the new topics.
    pub fn subscribe(&mut self, topics: BTreeSet<String>, now: Instant) {
        self.topics = topics;
        match self.state {
            State::Unsubscribed | State::Left => self.join(now),
            State::Stable => self.next_heartbeat = Some(now),
            _ => {}
        }
    }

    fn join(&mut self, now: Instant) {
        self.state = State::Joining;
        self.epoch = JOIN;
        self.topics_sent = None;
        self.next_heartbeat = Some(now);
    }

    /// The heartbeat to send now, if one is due.
    pub fn poll_heartbeat(&mut self, now: Instant) -> Option<ShareGroupHeartbeatRequest> {
        if self.next_deadline().is_none_or(|d| d > now) {
            return None;
        }
        let mut req = ShareGroupHeartbeatRequest::default();
        req.group_id = self.group_id.clone();
        req.member_id = self.member_id.clone();
        if self.state == State::Leaving {
            req.member_epoch = LEAVE;
            self.leave_sent = true;
        } else {
            req.member_epoch = self.epoch;
            if self.topics_sent.as_ref() != Some(&self.topics) {
                req.subscribed_topic_names = Some(self.topics.iter().cloned().collect());
                self.topics_sent = Some(self.topics.clone());
            }
            if self.epoch == JOIN {
                req.rack_id = self.rack_id.clone();
            }
        }
        self.in_flight = true;
        self.next_heartbeat = Some(now + self.interval);
        Some(req)
    }

    /// The heartbeat got no answer (or could not be sent): try again after a backoff, with
    /// every field.
    pub fn on_failed(&mut self, err: &Error, now: Instant) {
        self.in_flight = false;
        if self.state == State::Leaving {
            // The session timeout removes a member whose leave did not arrive.
            self.finish_leave();
            return;
        }
        tracing::debug!(group = %self.group_id, error = %err, "share group heartbeat failed");
        self.backoff(now);
    }

    fn backoff(&mut self, now: Instant) {
        self.retry_at = Some(now + self.failures.failed(&HEARTBEAT_RETRY));
        self.next_heartbeat = Some(now);
        self.topics_sent = None;
    }

    fn finish_leave(&mut self) {
        self.leave_sent = false;
        self.epoch = JOIN;
        self.state = State::Left;
        self.actions.push_back(ShareAction::Left);
    }

    pub fn on_response(&mut self, resp: ShareGroupHeartbeatResponse, now: Instant) {
        self.in_flight = false;
        if self.state == State::Leaving && self.leave_sent {
            self.finish_leave();
            return;
        }
        if resp.error_code != 0 {
            self.on_error(
                resp.error_code,
                resp.error_message.as_deref().unwrap_or(""),
                now,
            );
            return;
        }
        if self.state == State::Fatal || resp.member_epoch < 0 {
            return;
        }
        self.failures.reset();
        self.retry_at = None;
        if resp.heartbeat_interval_ms > 0 {
            self.interval = Duration::from_millis(resp.heartbeat_interval_ms as u64);
            self.next_heartbeat = Some(now + self.interval);
        }
        self.epoch = resp.member_epoch;
        if self.state == State::Joining {
            self.state = State::Stable;
            self.actions.push_back(ShareAction::Joined(self.epoch));
        }
        if let Some(a) = resp.assignment {
            let mut target: BTreeMap<Uuid, BTreeSet<i32>> = BTreeMap::new();
            for t in a.topic_partitions {
                target
                    .entry(t.topic_id)
                    .or_default()
                    .extend(t.partitions.into_iter().filter(|p| *p >= 0));
            }
            target.retain(|_, ps| !ps.is_empty());
            self.actions.push_back(ShareAction::Assignment(target));
        }
    }

    fn on_error(&mut self, code: i16, message: &str, now: Instant) {
        use ResponseError::*;
        let e = ResponseError::try_from_code(code).unwrap_or(Unknown(code));
        let group = format!("share group '{}'", self.group_id);
        let detail = |fix: &str| {
            crate::groups::coordinator_error(e, "share_group_heartbeat", &group, fix, message)
        };
        match e {
            FencedMemberEpoch | UnknownMemberId => {
                tracing::warn!(group = %self.group_id, error = ?e, "share group member fenced; rejoining (its acquired records go back to the group)");
                self.actions.push_back(ShareAction::Assignment(BTreeMap::new()));
                let wait = self.failures.failed(&FENCED_REJOIN);
                self.join(now);
                self.retry_at = Some(now + wait);
            }
            NotCoordinator | CoordinatorNotAvailable => {
                self.actions.push_back(ShareAction::FindCoordinator);
                self.backoff(now);
            }
            CoordinatorLoadInProgress => self.backoff(now),
            TopicAuthorizationFailed => {
                self.actions.push_back(ShareAction::Warn(detail(
                    "not authorized to read some subscribed topics; grant READ on them (the member stays in the group)",
                )));
                self.topics_sent = None;
                self.retry_at = Some(now + self.interval);
            }
            UnsupportedVersion => self.fatal(detail(
                "the broker does not serve share groups; use Apache Kafka 4.2+ (share groups are on when the cluster's share.version feature is 1 or more: kafka-features.sh upgrade --feature share.version=1)",
            )),
            GroupAuthorizationFailed => self.fatal(detail(
                "not authorized to join this share group; grant READ on the group to this principal",
            )),
            GroupMaxSizeReached => self.fatal(detail(
                "the share group is full; raise group.share.max.size on the broker or use fewer members",
            )),
            InconsistentGroupProtocol | GroupIdNotFound => self.fatal(detail(
                "this group id belongs to a consumer group of another type; give the share group a name of its own",
            )),
            InvalidRequest => self.fatal(detail(
                "the broker rejected the heartbeat as invalid (a kafkit bug: please report it)",
            )),
            _ if e.is_retriable() => self.backoff(now),
            _ => self.fatal(detail("unexpected error from the group coordinator")),
        }
    }

    fn fatal(&mut self, e: Error) {
        self.state = State::Fatal;
        self.actions.push_back(ShareAction::Fatal(e));
    }
}

impl Membership for ShareMembership {
    type Action = ShareAction;

    fn member_id(&self) -> &str {
        &self.member_id
    }

    fn member_epoch(&self) -> i32 {
        self.epoch
    }

    /// Whether the member has left (or never joined).
    fn has_left(&self) -> bool {
        matches!(self.state, State::Left | State::Fatal | State::Unsubscribed)
    }

    /// Leaves the group: the next heartbeat is the leave.
    fn leave(&mut self, now: Instant) {
        match self.state {
            State::Unsubscribed | State::Left | State::Fatal => {
                self.state = State::Left;
                self.actions.push_back(ShareAction::Left);
            }
            State::Joining if self.epoch == JOIN && !self.in_flight => {
                // Never joined: nothing to leave.
                self.state = State::Left;
                self.actions.push_back(ShareAction::Left);
            }
            _ => {
                self.state = State::Leaving;
                self.next_heartbeat = Some(now);
                self.retry_at = None;
            }
        }
    }

    fn poll_action(&mut self) -> Option<ShareAction> {
        self.actions.pop_front()
    }

    /// When `poll_heartbeat` has something to send, if not already in flight.
    fn next_deadline(&self) -> Option<Instant> {
        if self.in_flight || self.leave_sent {
            return None;
        }
        let due = match self.state {
            State::Joining | State::Stable | State::Leaving => self.next_heartbeat?,
            _ => return None,
        };
        Some(self.retry_at.map_or(due, |r| r.max(due)))
    }
}

#[cfg(test)]
mod tests {
    use crate::protocol::messages::share_group_heartbeat_response::{Assignment, TopicPartitions};

    use super::*;

    const T: Uuid = Uuid::from_u128(7);

    fn member(now: Instant) -> ShareMembership {
        let mut m = ShareMembership::new("g".into(), "m-1".into(), Some("r1".into()));
        m.subscribe(["t".to_string()].into(), now);
        m
    }

    fn answer(epoch: i32, parts: Option<&[i32]>) -> ShareGroupHeartbeatResponse {
        let mut r = ShareGroupHeartbeatResponse::default();
        r.member_epoch = epoch;
        r.heartbeat_interval_ms = 1000;
        r.assignment = parts.map(|ps| {
            let mut a = Assignment::default();
            let mut t = TopicPartitions::default();
            t.topic_id = T;
            t.partitions = ps.to_vec();
            a.topic_partitions = vec![t];
            a
        });
        r
    }

    fn error(code: i16) -> ShareGroupHeartbeatResponse {
        let mut r = ShareGroupHeartbeatResponse::default();
        r.error_code = code;
        r.member_epoch = -1;
        r
    }

    #[test]
    fn the_join_carries_everything_later_heartbeats_only_the_epoch() {
        let now = Instant::now();
        let mut m = member(now);
        let join = m.poll_heartbeat(now).unwrap();
        assert_eq!(join.member_epoch, 0);
        assert_eq!(join.member_id.as_str(), "m-1");
        assert_eq!(join.rack_id.as_deref(), Some("r1"));
        assert_eq!(join.subscribed_topic_names.as_ref().map(Vec::len), Some(1));
        assert!(m.poll_heartbeat(now).is_none(), "one in flight");
        m.on_response(answer(3, Some(&[0, 1])), now);
        let actions: Vec<ShareAction> = std::iter::from_fn(|| m.poll_action()).collect();
        assert!(matches!(actions[0], ShareAction::Joined(3)));
        let ShareAction::Assignment(a) = &actions[1] else {
            panic!("{actions:?}")
        };
        assert_eq!(a[&T], [0, 1].into_iter().collect());
        assert!(m.poll_heartbeat(now + Duration::from_millis(999)).is_none());
        let hb = m.poll_heartbeat(now + Duration::from_secs(1)).unwrap();
        assert_eq!(hb.member_epoch, 3);
        assert!(hb.subscribed_topic_names.is_none() && hb.rack_id.is_none());
    }

    #[test]
    fn a_fenced_member_drops_its_assignment_and_rejoins_at_epoch_zero_with_the_same_id() {
        let now = Instant::now();
        let mut m = member(now);
        m.poll_heartbeat(now).unwrap();
        m.on_response(answer(3, Some(&[0])), now);
        while m.poll_action().is_some() {}
        let later = now + Duration::from_secs(1);
        m.poll_heartbeat(later).unwrap();
        m.on_response(error(110), later); // FENCED_MEMBER_EPOCH
        assert!(matches!(m.poll_action(), Some(ShareAction::Assignment(a)) if a.is_empty()));
        let at = m.next_deadline().unwrap();
        assert!(at > later, "backs off before rejoining");
        let rejoin = m.poll_heartbeat(at).unwrap();
        assert_eq!((rejoin.member_epoch, rejoin.member_id.as_str()), (0, "m-1"));
        assert!(rejoin.subscribed_topic_names.is_some());
    }

    #[test]
    fn a_broker_without_share_groups_is_fatal_with_the_feature_to_turn_on() {
        let now = Instant::now();
        let mut m = member(now);
        m.poll_heartbeat(now).unwrap();
        m.on_response(error(35), now); // UNSUPPORTED_VERSION
        let Some(ShareAction::Fatal(e)) = m.poll_action() else {
            panic!()
        };
        assert!(e.to_string().contains("share.version"), "{e}");
        assert_eq!(m.state(), State::Fatal);
    }

    #[test]
    fn leaving_sends_epoch_minus_one_and_any_answer_ends_it() {
        let now = Instant::now();
        let mut m = member(now);
        m.poll_heartbeat(now).unwrap();
        m.on_response(answer(2, Some(&[0])), now);
        while m.poll_action().is_some() {}
        m.leave(now);
        let leave = m.poll_heartbeat(now).unwrap();
        assert_eq!(leave.member_epoch, -1);
        m.on_response(error(25), now); // UNKNOWN_MEMBER_ID: already gone
        assert!(matches!(m.poll_action(), Some(ShareAction::Left)));
        assert!(m.has_left());
    }
}
