//! A consumer group member's protocols: `kip848` is KIP-848 (ConsumerGroupHeartbeat),
//! `classic` is JoinGroup/SyncGroup/Heartbeat with client-side assignors. Both are sans-IO
//! state machines the group consumer's engine drives through one interface
//! ([`ConsumerMembership`]) with the same actions.

pub mod classic;
pub mod kip848;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::error::Error;
use crate::events::{GroupProtocol, TopicPartition};
pub(crate) use crate::groups::membership::Membership;

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
    /// Look these topic ids up in metadata after this wait (ids looked up in vain before
    /// back off) and report them with `on_topic_names`.
    ResolveTopicIds(Vec<Uuid>, Duration),
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

/// A consumer group member of either protocol, as the consumer engine drives it: the
/// rebalance steps (revoke, assign, lose) and the requests of its protocol. Classic and KIP-848
/// members implement it; the session holds one as a `Box<dyn ConsumerMembership>`, and a
/// fallback to classic swaps it.
pub(crate) trait ConsumerMembership: Membership<Action = Action> + Send {
    /// The protocol it speaks.
    fn protocol(&self) -> GroupProtocol;

    fn is_classic(&self) -> bool {
        self.protocol() == GroupProtocol::Classic
    }

    /// How long a request of `kind` (`None`: a KIP-848 heartbeat) may wait for its answer.
    fn request_timeout(
        &self,
        kind: Option<classic::ClassicKind>,
        request_timeout: Duration,
    ) -> Duration;

    /// The partitions the member owns at its current epoch (generation): those applied,
    /// those being revoked until the revocation is acknowledged, and those being assigned.
    /// A commit sent with the current epoch may carry these, and only these.
    fn owned_partitions(&self) -> BTreeSet<TopicPartition>;

    /// Partitions of the assignment step in progress.
    fn assigning(&self) -> Vec<TopicPartition>;

    /// The member's assignment is changing.
    fn is_rebalancing(&self) -> bool;

    /// Subscribes, or changes the subscription.
    fn subscribe(&mut self, sub: Subscription, now: Instant);

    /// Rejoins after a stale leave.
    fn rejoin(&mut self, now: Instant);

    /// The handler outlived `max_poll_interval`: leave, as the Java client does.
    fn on_poll_stale(&mut self, now: Instant);

    /// The next request for the coordinator, if one is due.
    fn poll_request(&mut self, now: Instant) -> Option<GroupRequest>;

    /// The coordinator's answer to the last request.
    fn on_response(&mut self, resp: GroupResponse, now: Instant);

    /// A request (of `kind`, for classic ones) got no answer.
    fn on_failed(&mut self, kind: Option<classic::ClassicKind>, err: &Error, now: Instant);

    /// The driver finished a revocation.
    fn on_revoked(&mut self, now: Instant);

    /// The driver finished an assignment.
    fn on_assigned(&mut self, now: Instant);

    /// The driver dropped lost partitions.
    fn on_lost_handled(&mut self, now: Instant);

    /// Classic: start a rebalance (the leader saw the subscribed topics change).
    fn request_rejoin(&mut self, _now: Instant) {}

    /// KIP-848: the names found for the topic ids asked (ids missing from `names` were not
    /// found).
    fn on_topic_names(&mut self, _asked: &[Uuid], _names: &HashMap<Uuid, String>, _now: Instant) {}

    /// Classic leader: the assignment computed for `generation`.
    fn on_assignment_computed(
        &mut self,
        _generation: i32,
        _result: crate::error::Result<BTreeMap<String, classic::assignor::MemberAssignment>>,
        _now: Instant,
    ) {
    }
}
