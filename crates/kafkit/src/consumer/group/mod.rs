//! Group membership protocols: `kip848` is KIP-848 (ConsumerGroupHeartbeat), `classic` is
//! JoinGroup/SyncGroup/Heartbeat with client-side assignors. Both are sans-IO state machines
//! the consumer engine drives with the same actions.

pub mod classic;
pub mod kip848;

use std::collections::BTreeSet;
use std::time::Duration;

use uuid::Uuid;

use crate::error::Error;
use crate::events::TopicPartition;

/// What the member subscribes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    /// Topics by name.
    Topics(BTreeSet<String>),
    /// A regular expression (RE2J, whole-name match) the broker evaluates.
    Pattern(String),
}

/// Something the driver must do.
#[derive(Debug, Clone)]
pub enum Action {
    /// Look these topic ids up in metadata and report them with `on_topic_names`.
    ResolveTopicIds(Vec<Uuid>),
    /// Stop fetching these, commit what was processed (auto-commit), run the revoke hook, then `on_revoked`.
    Revoke(Vec<TopicPartition>),
    /// Fetch committed offsets, run the assign hook, start fetching, then `on_assigned`.
    Assign(Vec<TopicPartition>),
    /// Drop these without committing, run the lost hook, then `on_lost_handled`.
    Lost(Vec<TopicPartition>),
    /// The member joined (GROUP_JOIN event), every topic named.
    Joined {
        /// Member id.
        member_id: String,
        /// Epoch.
        epoch: i32,
        /// Assignment known at the join.
        assignment: Vec<TopicPartition>,
        /// From the first join request to the answer that completed the join.
        duration: Duration,
        /// Classic: the leader's member id.
        leader_id: Option<String>,
    },
    /// A heartbeat was answered (HEARTBEAT event), with the assignment changes it brought.
    HeartbeatEvent {
        /// Epoch.
        epoch: i32,
        /// Newly owned.
        added: Vec<TopicPartition>,
        /// No longer owned.
        removed: Vec<TopicPartition>,
    },
    /// The member cannot go on: report to the user.
    Fatal(Error),
    /// Worth reporting; membership continues.
    Warn(Error),
    /// The coordinator moved: find it again (the driver applies its own backoff).
    FindCoordinator,
    /// Classic leader: compute the group's assignment and report it with
    /// `on_assignment_computed`.
    ComputeAssignment(classic::AssignmentJob),
    /// The leave completed.
    Left,
}

/// A member of either protocol, as the engine drives it.
// One per consumer, never moved in a hot path: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Member {
    /// KIP-848.
    Consumer(kip848::Kip848Membership),
    /// Classic.
    Classic(classic::ClassicMembership),
}

/// A request for the group coordinator.
pub(crate) enum GroupRequest {
    /// ConsumerGroupHeartbeat.
    Consumer(crate::protocol::messages::ConsumerGroupHeartbeatRequest),
    /// JoinGroup, SyncGroup, Heartbeat or LeaveGroup.
    Classic(classic::ClassicRequest),
}

/// The coordinator's answer.
pub(crate) enum GroupResponse {
    /// ConsumerGroupHeartbeat.
    Consumer(crate::protocol::messages::ConsumerGroupHeartbeatResponse),
    /// One of the classic ones.
    Classic(classic::ClassicResponse),
}

impl Member {
    pub fn is_classic(&self) -> bool {
        matches!(self, Member::Classic(_))
    }

    /// How long a KIP-848 heartbeat may wait for its answer: a few heartbeat intervals (the
    /// broker's session is several), capped by the request timeout. A silent coordinator is
    /// then given up well inside the session, with time left to find the new one.
    pub fn heartbeat_timeout(&self, request_timeout: Duration) -> Duration {
        match self {
            Member::Consumer(m) => (m.heartbeat_interval() * 3)
                .max(Duration::from_secs(3))
                .min(request_timeout),
            Member::Classic(m) => {
                m.request_timeout(classic::ClassicKind::Heartbeat, request_timeout)
            }
        }
    }

    /// How long a classic request of `kind` may wait for its answer (see
    /// [`classic::ClassicMembership::request_timeout`]).
    pub fn classic_timeout(
        &self,
        kind: classic::ClassicKind,
        request_timeout: Duration,
    ) -> Duration {
        match self {
            Member::Classic(m) => m.request_timeout(kind, request_timeout),
            Member::Consumer(_) => request_timeout,
        }
    }

    pub fn member_id(&self) -> &str {
        match self {
            Member::Consumer(m) => m.member_id(),
            Member::Classic(m) => m.member_id(),
        }
    }

    /// Member epoch (KIP-848) or generation (classic).
    pub fn member_epoch(&self) -> i32 {
        match self {
            Member::Consumer(m) => m.member_epoch(),
            Member::Classic(m) => m.member_epoch(),
        }
    }

    /// The partitions the member owns at its current epoch (generation): those applied,
    /// those being revoked until the revocation is acknowledged, and those being assigned.
    /// A commit sent with the current epoch may carry these, and only these.
    pub fn owned_partitions(&self) -> BTreeSet<TopicPartition> {
        match self {
            Member::Consumer(m) => m.owned_partitions(),
            Member::Classic(m) => m.owned_partitions(),
        }
    }

    pub fn assigning(&self) -> Vec<TopicPartition> {
        match self {
            Member::Consumer(m) => m.assigning(),
            Member::Classic(m) => m.assigning(),
        }
    }

    pub fn is_rebalancing(&self) -> bool {
        match self {
            Member::Consumer(m) => m.is_rebalancing(),
            Member::Classic(m) => m.is_rebalancing(),
        }
    }

    pub fn has_left(&self) -> bool {
        match self {
            Member::Consumer(m) => m.has_left(),
            Member::Classic(m) => m.has_left(),
        }
    }

    pub fn subscribe(&mut self, sub: Subscription, now: std::time::Instant) {
        match self {
            Member::Consumer(m) => m.subscribe(sub, now),
            Member::Classic(m) => m.subscribe(sub, now),
        }
    }

    pub fn rejoin(&mut self, now: std::time::Instant) {
        match self {
            Member::Consumer(m) => m.rejoin(now),
            Member::Classic(m) => m.rejoin(now),
        }
    }

    pub fn leave(&mut self, now: std::time::Instant) {
        match self {
            Member::Consumer(m) => m.leave(now),
            Member::Classic(m) => m.leave(now),
        }
    }

    pub fn on_poll_stale(&mut self, now: std::time::Instant) {
        match self {
            Member::Consumer(m) => m.on_poll_stale(now),
            Member::Classic(m) => m.on_poll_stale(now),
        }
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        match self {
            Member::Consumer(m) => m.poll_action(),
            Member::Classic(m) => m.poll_action(),
        }
    }

    pub fn next_deadline(&self) -> Option<std::time::Instant> {
        match self {
            Member::Consumer(m) => m.next_deadline(),
            Member::Classic(m) => m.next_deadline(),
        }
    }

    pub fn poll_request(&mut self, now: std::time::Instant) -> Option<GroupRequest> {
        match self {
            Member::Consumer(m) => m.poll_heartbeat(now).map(GroupRequest::Consumer),
            Member::Classic(m) => m.poll_request(now).map(GroupRequest::Classic),
        }
    }

    pub fn on_response(&mut self, resp: GroupResponse, now: std::time::Instant) {
        match (self, resp) {
            (Member::Consumer(m), GroupResponse::Consumer(r)) => m.on_heartbeat_response(r, now),
            (Member::Classic(m), GroupResponse::Classic(r)) => m.on_response(r, now),
            // The member switched protocol (fallback) while a request was out: drop it.
            _ => {}
        }
    }

    pub fn on_failed(
        &mut self,
        kind: Option<classic::ClassicKind>,
        err: &Error,
        now: std::time::Instant,
    ) {
        match (self, kind) {
            (Member::Consumer(m), None) => m.on_heartbeat_failed(err, now),
            (Member::Classic(m), Some(k)) => m.on_request_failed(k, err, now),
            _ => {}
        }
    }

    pub fn on_revoked(&mut self, now: std::time::Instant) {
        match self {
            Member::Consumer(m) => m.on_revoked(now),
            Member::Classic(m) => m.on_revoked(now),
        }
    }

    pub fn on_assigned(&mut self, now: std::time::Instant) {
        match self {
            Member::Consumer(m) => m.on_assigned(now),
            Member::Classic(m) => m.on_assigned(now),
        }
    }

    pub fn on_lost_handled(&mut self, now: std::time::Instant) {
        match self {
            Member::Consumer(m) => m.on_lost_handled(now),
            Member::Classic(m) => m.on_lost_handled(now),
        }
    }

    /// Classic: start a rebalance (the leader saw the subscribed topics change).
    pub fn request_rejoin(&mut self, now: std::time::Instant) {
        if let Member::Classic(m) = self {
            m.request_rejoin(now)
        }
    }

    /// The names found for the topic ids asked (ids missing from `names` were not found).
    pub fn on_topic_names(
        &mut self,
        asked: &[Uuid],
        names: &std::collections::HashMap<Uuid, String>,
    ) {
        if let Member::Consumer(m) = self {
            m.on_topic_names(asked, names)
        }
    }

    pub fn on_assignment_computed(
        &mut self,
        generation: i32,
        result: crate::error::Result<
            std::collections::BTreeMap<String, classic::assignor::MemberAssignment>,
        >,
        now: std::time::Instant,
    ) {
        if let Member::Classic(m) = self {
            m.on_assignment_computed(generation, result, now)
        }
    }
}
