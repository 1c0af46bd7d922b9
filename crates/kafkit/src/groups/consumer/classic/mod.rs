//! The classic group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) as a state
//! machine without I/O, driven by the consumer engine exactly like the KIP-848 one: it asks
//! for requests with `poll_request`, gets their answers with `on_response`, and hands out the
//! same actions (revoke, assign, lost, join events, fatal errors).
//!
//! A rebalance: eager assignors revoke everything before JoinGroup; cooperative ones keep
//! their partitions, revoke only what the new assignment takes away, then rejoin once more so
//! those partitions can go to their new owner (KIP-429). The leader computes the assignment
//! (`Action::ComputeAssignment`, needs metadata, so the driver does it) and sends it with
//! SyncGroup. Heartbeats run on their own timer from the first SyncGroup answer on, whatever
//! the handler does.
//!
//! One file (with its `Membership` and `ConsumerMembership` implementations): one state
//! machine whose states and transitions read best together (its state is one owner's, so a
//! split would cut transitions apart); its requests, leader duties, assignors and tests have
//! files of their own.

pub mod assignor;
pub(crate) mod leader;
mod requests;
/// The Java consumer-protocol codec (shared with the admin client).
pub(crate) use crate::groups::wire;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::protocol::messages::{
    HeartbeatResponse, JoinGroupResponse, LeaveGroupResponse, SyncGroupResponse,
};
use bytes::Bytes;

use assignor::{GroupMember, MemberAssignment, PartitionAssigner, RebalanceProtocol};
pub use requests::{ClassicKind, ClassicRequest, ClassicResponse};

use super::{Action, ConsumerMembership, GroupRequest, GroupResponse, Membership, Subscription};
use crate::error::{Error, ErrorKind, ResponseError};
use crate::events::GroupProtocol;
use crate::events::TopicPartition;
use crate::groups::reconcile::{Reconciliation, Step};
use crate::retry::{Backoff, HEARTBEAT_RETRY};

/// Settings of a classic member.
#[derive(Debug, Clone)]
pub struct ClassicConfig {
    /// Group id.
    pub group_id: String,
    /// Static membership id (KIP-345).
    pub instance_id: Option<String>,
    /// Rack of the client, sent in the subscription.
    pub rack_id: Option<String>,
    /// The coordinator drops a member it has not heard from for this long.
    pub session_timeout: Duration,
    /// How long the coordinator waits for every member to rejoin.
    pub rebalance_timeout: Duration,
    /// Time between heartbeats.
    pub heartbeat_interval: Duration,
    /// Assignors offered, in order of preference.
    pub assigners: Vec<Arc<dyn PartitionAssigner>>,
}

/// The leader's work: share the partitions among these members with this assignor.
#[derive(Debug, Clone)]
pub struct AssignmentJob {
    /// Generation the assignment is for.
    pub generation: i32,
    /// The assignor the group agreed on.
    pub assigner: Arc<dyn PartitionAssigner>,
    /// Every member with its subscription.
    pub members: Vec<GroupMember>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Unsubscribed,
    /// Eager: revoking everything before JoinGroup.
    Preparing,
    Joining,
    /// Leader: the driver computes the assignment.
    Assigning,
    Syncing,
    Reconciling,
    Stable,
    /// Generation lost: dropping partitions before rejoining.
    Dropping,
    Leaving,
    Left,
    Stale,
    Fatal,
}

#[cfg(test)]
const MAX_BACKOFF: Duration = HEARTBEAT_RETRY.max_retry_time;

/// The membership of one consumer in a classic group.
pub struct ClassicMembership {
    cfg: ClassicConfig,
    state: State,
    member_id: String,
    generation: i32,
    /// The assignor the group chose at the last join (SyncGroup must name it).
    protocol: Option<String>,
    topics: BTreeSet<String>,
    /// Partitions owned, and the revoke or assign step with the driver.
    parts: Reconciliation<TopicPartition>,
    target: Option<BTreeSet<TopicPartition>>,
    /// The SyncGroup payload (empty for followers).
    sync_assignments: Vec<(String, Bytes)>,
    /// When the next JoinGroup / SyncGroup / LeaveGroup may go.
    due: Option<Instant>,
    next_heartbeat: Option<Instant>,
    in_flight: bool,
    failures: Backoff,
    /// A rebalance was asked for while a step ran.
    rejoin_needed: bool,
    /// Cooperative: partitions were revoked in this round, so rejoin once it is applied.
    revoked_this_round: bool,
    leave_sent: bool,
    stale_leave: bool,
    actions: VecDeque<Action>,
    /// When the join under way started (the GROUP_JOIN event's duration).
    join_started: Option<Instant>,
    /// The leader the last JoinGroup answer named.
    leader_id: String,
}

impl ClassicMembership {
    /// A member that has not joined yet.
    pub fn new(cfg: ClassicConfig) -> Self {
        ClassicMembership {
            cfg,
            state: State::Unsubscribed,
            member_id: String::new(),
            generation: -1,
            protocol: None,
            topics: BTreeSet::new(),
            parts: Reconciliation::default(),
            target: None,
            sync_assignments: Vec::new(),
            due: None,
            next_heartbeat: None,
            in_flight: false,
            failures: Backoff::default(),
            rejoin_needed: false,
            revoked_this_round: false,
            leave_sent: false,
            stale_leave: false,
            actions: VecDeque::new(),
            join_started: None,
            leader_id: String::new(),
        }
    }

    /// How long a request of `kind` may wait for its answer. JoinGroup is answered when every
    /// member has rejoined, so it gets the rebalance timeout on top. The others are answered
    /// at once (SyncGroup after the leader's assignment): they get a few heartbeat intervals
    /// (SyncGroup half the session), never more than half the session, so that a hung
    /// coordinator is given up with time left to find the new one before the session ends.
    pub fn request_timeout(&self, kind: ClassicKind, request_timeout: Duration) -> Duration {
        let half_session = self.cfg.session_timeout / 2;
        let floor = Duration::from_secs(3);
        match kind {
            ClassicKind::Join => self.cfg.rebalance_timeout + request_timeout,
            ClassicKind::Sync => half_session.max(floor).min(request_timeout),
            ClassicKind::Heartbeat | ClassicKind::Leave => (self.cfg.heartbeat_interval * 3)
                .max(floor)
                .min(half_session)
                .min(request_timeout),
        }
    }

    /// Eager unless every assignor offered is cooperative (the group may pick any of them).
    fn eager(&self) -> bool {
        self.cfg
            .assigners
            .iter()
            .any(|a| a.protocol() == RebalanceProtocol::Eager)
    }

    fn start_join(&mut self, now: Instant) {
        if matches!(self.state, State::Leaving | State::Fatal) {
            return;
        }
        if self.parts.busy() {
            self.rejoin_needed = true;
            return;
        }
        self.rejoin_needed = false;
        self.revoked_this_round = false;
        self.target = None;
        self.join_started.get_or_insert(now);
        if self.eager() {
            if let Some(all) = self.parts.revoke_all() {
                self.state = State::Preparing;
                self.actions
                    .push_back(Action::Revoke(all.into_iter().collect()));
                return;
            }
        }
        self.state = State::Joining;
        self.due = Some(now);
    }

    fn leave_ready(&self) -> bool {
        self.state == State::Leaving && !self.parts.busy() && !self.leave_sent
    }

    /// A request to send now, if one is due.
    pub fn poll_request(&mut self, now: Instant) -> Option<ClassicRequest> {
        if self.leave_ready() && self.due.is_some_and(|d| d <= now) {
            // Nothing to leave without a member id; a static member keeps its place until
            // its session times out (as in the Java client).
            if self.member_id.is_empty() || self.cfg.instance_id.is_some() {
                self.finish_leave();
                return None;
            }
            self.leave_sent = true;
            return Some(requests::leave(&self.cfg, &self.member_id));
        }
        if self.in_flight || self.next_deadline().is_none_or(|d| d > now) {
            return None;
        }
        let req = match self.state {
            State::Joining => {
                self.due = None;
                requests::join(
                    &self.cfg,
                    &self.member_id,
                    &self.topics,
                    self.parts.owned(),
                    self.generation,
                )
            }
            State::Syncing => {
                self.due = None;
                let assignments = std::mem::take(&mut self.sync_assignments);
                requests::sync(
                    &self.cfg,
                    &self.member_id,
                    self.generation,
                    self.protocol.as_deref(),
                    assignments,
                )
            }
            State::Preparing | State::Reconciling | State::Stable if self.generation >= 0 => {
                self.next_heartbeat = Some(now + self.cfg.heartbeat_interval);
                requests::heartbeat(&self.cfg, &self.member_id, self.generation)
            }
            _ => return None,
        };
        self.in_flight = true;
        Some(req)
    }

    fn backoff(&mut self) -> Duration {
        self.failures.failed(&HEARTBEAT_RETRY)
    }

    /// When to join again after an answer that asks for it at once (MEMBER_ID_REQUIRED,
    /// UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, a SyncGroup's REBALANCE_IN_PROGRESS): the first
    /// in a row at once, as the Java client does; the next ones after the backoff, so a
    /// coordinator that keeps answering so is not asked in a loop.
    fn rejoin_at(&mut self, now: Instant) -> Instant {
        let first = self.failures.failures() == 0;
        let wait = self.backoff();
        if first {
            now
        } else {
            now + wait
        }
    }

    /// A request got no answer (connection lost, timeout).
    pub fn on_request_failed(&mut self, kind: ClassicKind, err: &Error, now: Instant) {
        if kind == ClassicKind::Leave {
            if self.leave_sent {
                self.finish_leave();
            }
            return;
        }
        self.in_flight = false;
        tracing::debug!(error = %err, ?kind, "classic group request failed");
        let wait = self.backoff();
        match (kind, self.state) {
            (ClassicKind::Join, State::Joining) => self.due = Some(now + wait),
            // The generation may have moved on while we could not hear: join again.
            (ClassicKind::Sync, State::Syncing) => {
                self.state = State::Joining;
                self.due = Some(now + wait);
            }
            (ClassicKind::Heartbeat, _) => self.next_heartbeat = Some(now + wait),
            _ => {}
        }
    }

    /// Applies an answer.
    pub fn on_response(&mut self, resp: ClassicResponse, now: Instant) {
        tracing::trace!(member = %self.member_id, generation = self.generation, state = ?self.state, ?resp, "classic group answer");
        match resp {
            ClassicResponse::Leave(r) => self.on_leave(r),
            ClassicResponse::Join(r) => {
                self.in_flight = false;
                if self.state == State::Joining {
                    self.on_join(r, now);
                }
            }
            ClassicResponse::Sync(r) => {
                self.in_flight = false;
                if self.state == State::Syncing {
                    self.on_sync(r, now);
                }
            }
            ClassicResponse::Heartbeat(r) => {
                self.in_flight = false;
                if matches!(
                    self.state,
                    State::Preparing | State::Reconciling | State::Stable
                ) {
                    self.on_heartbeat(r, now);
                }
            }
        }
    }

    fn error(&self, code: i16, op: &'static str, fix: &str) -> Error {
        let e = ResponseError::try_from_code(code).unwrap_or(ResponseError::Unknown(code));
        Error::new(
            ErrorKind::Kafka(e),
            op,
            format!("group '{}': {fix}", self.cfg.group_id),
        )
    }

    /// Errors every classic request shares: fatal ones end the member (returns true);
    /// a moved coordinator is looked up again (the caller retries).
    fn common_error(&mut self, code: i16, op: &'static str) -> bool {
        use ResponseError::*;
        let e = ResponseError::try_from_code(code).unwrap_or(Unknown(code));
        let fatal = match e {
            FencedInstanceId => Some("another consumer joined with the same instance id; give every consumer its own instance id"),
            GroupAuthorizationFailed => Some("not authorized to join this group; grant READ on the group to this principal"),
            InconsistentGroupProtocol => Some("the group's members share no assignor (or the group uses another protocol type); offer an assignor the other members offer"),
            InvalidSessionTimeout => Some("session_timeout is outside the broker's group.min.session.timeout.ms..group.max.session.timeout.ms; choose a value inside it"),
            GroupMaxSizeReached => Some("the group is full; raise group.max.size on the broker or use fewer members"),
            UnsupportedVersion => Some("the broker does not support this request version"),
            _ => None,
        };
        if let Some(fix) = fatal {
            self.fatal(self.error(code, op, fix));
            return true;
        }
        if matches!(e, NotCoordinator | CoordinatorNotAvailable) {
            self.actions.push_back(Action::FindCoordinator);
        }
        false
    }

    fn on_join(&mut self, r: JoinGroupResponse, now: Instant) {
        use ResponseError::*;
        let code = r.error_code;
        if code == 0 {
            self.failures.reset();
            self.member_id = r.member_id.to_string();
            self.generation = r.generation_id;
            self.protocol = r.protocol_name.as_ref().map(|p| p.to_string());
            self.leader_id = r.leader.to_string();
            let leader = r.leader.as_str() == self.member_id && !r.skip_assignment;
            if !leader {
                self.state = State::Syncing;
                self.sync_assignments = Vec::new();
                self.due = Some(now);
                return;
            }
            let name = r
                .protocol_name
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default();
            let Some(assigner) = self
                .cfg
                .assigners
                .iter()
                .find(|a| a.name() == name)
                .cloned()
            else {
                self.fatal(Error::new(
                    ErrorKind::Protocol,
                    "join_group",
                    format!("group '{}': the coordinator chose assignor '{name}', which this member did not offer", self.cfg.group_id),
                ));
                return;
            };
            let mut members = Vec::new();
            for m in r.members {
                match wire::decode_subscription(m.metadata.clone()) {
                    Ok(s) => members.push(GroupMember {
                        member_id: m.member_id.to_string(),
                        instance_id: m.group_instance_id.map(|i| i.to_string()),
                        topics: s.topics,
                        owned: s.owned,
                        generation: s.generation,
                        user_data: s.user_data,
                        rack_id: s.rack_id,
                    }),
                    Err(e) => {
                        // That member gets an empty assignment; the rest of the group goes on.
                        self.actions.push_back(Action::Warn(Error::new(
                            ErrorKind::Protocol,
                            "join_group",
                            format!("member '{}': {e}", m.member_id.as_str()),
                        )));
                        members.push(GroupMember {
                            member_id: m.member_id.to_string(),
                            instance_id: None,
                            topics: vec![],
                            owned: vec![],
                            generation: -1,
                            user_data: None,
                            rack_id: None,
                        });
                    }
                }
            }
            self.state = State::Assigning;
            self.actions
                .push_back(Action::ComputeAssignment(AssignmentJob {
                    generation: self.generation,
                    assigner,
                    members,
                }));
            return;
        }
        let e = ResponseError::try_from_code(code).unwrap_or(Unknown(code));
        match e {
            // KIP-394: the first JoinGroup gets a member id to join with.
            MemberIdRequired => {
                self.member_id = r.member_id.to_string();
                self.due = Some(self.rejoin_at(now));
            }
            UnknownMemberId => {
                self.member_id.clear();
                self.generation = -1;
                self.due = Some(self.rejoin_at(now));
            }
            IllegalGeneration => {
                self.generation = -1;
                self.due = Some(self.rejoin_at(now));
            }
            _ if self.common_error(code, "join_group") => {}
            _ if e.is_retriable()
                || matches!(
                    e,
                    RebalanceInProgress | NotCoordinator | CoordinatorNotAvailable
                ) =>
            {
                let wait = self.backoff();
                self.due = Some(now + wait);
            }
            _ => self.fatal(self.error(code, "join_group", "unexpected error joining the group")),
        }
    }

    fn on_sync(&mut self, r: SyncGroupResponse, now: Instant) {
        use ResponseError::*;
        let code = r.error_code;
        if code == 0 {
            match wire::decode_assignment(r.assignment) {
                Ok(a) => {
                    self.failures.reset();
                    let target: BTreeSet<TopicPartition> = a.partitions.iter().cloned().collect();
                    self.actions.push_back(Action::Joined {
                        member_id: self.member_id.clone(),
                        epoch: self.generation,
                        assignment: target.iter().cloned().collect(),
                        duration: self
                            .join_started
                            .take()
                            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t)),
                        leader_id: Some(self.leader_id.clone()),
                    });
                    self.target = Some(target);
                    self.state = State::Reconciling;
                    self.next_heartbeat = Some(now + self.cfg.heartbeat_interval);
                    self.reconcile(now);
                }
                Err(e) => {
                    self.actions.push_back(Action::Warn(e));
                    let wait = self.backoff();
                    self.state = State::Joining;
                    self.due = Some(now + wait);
                }
            }
            return;
        }
        let e = ResponseError::try_from_code(code).unwrap_or(Unknown(code));
        match e {
            RebalanceInProgress => {
                self.state = State::Joining;
                self.due = Some(self.rejoin_at(now));
            }
            UnknownMemberId | IllegalGeneration => self.drop_and_rejoin(e == UnknownMemberId, now),
            _ if self.common_error(code, "sync_group") => {}
            _ if e.is_retriable() || matches!(e, NotCoordinator | CoordinatorNotAvailable) => {
                let wait = self.backoff();
                self.state = State::Joining;
                self.due = Some(now + wait);
            }
            _ => self.fatal(self.error(code, "sync_group", "unexpected error syncing the group")),
        }
    }

    fn on_heartbeat(&mut self, r: HeartbeatResponse, now: Instant) {
        use ResponseError::*;
        let code = r.error_code;
        if code == 0 {
            self.failures.reset();
            // Classic heartbeats carry no assignment: the changes come with SyncGroup.
            self.actions.push_back(Action::HeartbeatEvent {
                epoch: self.generation,
                added: Vec::new(),
                removed: Vec::new(),
            });
            return;
        }
        let e = ResponseError::try_from_code(code).unwrap_or(Unknown(code));
        match e {
            // Already rejoining (eager revocation in progress).
            RebalanceInProgress if self.state == State::Preparing => {}
            RebalanceInProgress => {
                tracing::debug!(group = %self.cfg.group_id, "the group is rebalancing; rejoining");
                self.start_join(now);
            }
            UnknownMemberId | IllegalGeneration => {
                tracing::warn!(group = %self.cfg.group_id, error = ?e, "generation lost; dropping the assignment and rejoining");
                self.drop_and_rejoin(e == UnknownMemberId, now);
            }
            _ if self.common_error(code, "heartbeat") => {}
            _ => {
                let wait = self.backoff();
                self.next_heartbeat = Some(now + wait);
            }
        }
    }

    fn on_leave(&mut self, _r: LeaveGroupResponse) {
        // Any answer ends the leave: an error means the coordinator no longer knows us.
        if self.leave_sent {
            self.finish_leave();
        }
    }

    fn finish_leave(&mut self) {
        self.leave_sent = false;
        self.generation = -1;
        self.member_id.clear();
        self.state = if self.stale_leave {
            State::Stale
        } else {
            State::Left
        };
        if self.state == State::Left {
            self.actions.push_back(Action::Left);
        }
    }

    fn fatal(&mut self, e: Error) {
        self.state = State::Fatal;
        self.actions.push_back(Action::Fatal(e));
    }

    /// Out of the generation: drop everything without commit, then rejoin.
    fn drop_and_rejoin(&mut self, forget_member_id: bool, now: Instant) {
        if forget_member_id {
            self.member_id.clear();
        }
        self.generation = -1;
        self.target = None;
        self.rejoin_needed = false;
        let lost = self.parts.take_lost();
        if lost.is_empty() {
            self.state = State::Joining;
            self.due = Some(self.rejoin_at(now));
            return;
        }
        self.state = State::Dropping;
        self.actions
            .push_back(Action::Lost(lost.into_iter().collect()));
    }

    /// Applies the SyncGroup assignment: revoke first, then assign; cooperative members that
    /// gave something up rejoin so it can move.
    fn reconcile(&mut self, now: Instant) {
        if self.parts.busy() || self.state != State::Reconciling {
            return;
        }
        if let Some(target) = &self.target {
            match self.parts.step_toward(target) {
                Some(Step::Revoking(revoke)) => {
                    self.actions
                        .push_back(Action::Revoke(revoke.into_iter().collect()));
                    return;
                }
                Some(Step::Assigning(assign)) => {
                    self.actions
                        .push_back(Action::Assign(assign.into_iter().collect()));
                    return;
                }
                None => {}
            }
        }
        self.target = None;
        self.state = State::Stable;
        if self.rejoin_needed || (self.revoked_this_round && !self.eager()) {
            self.start_join(now);
        }
    }
}

impl Membership for ClassicMembership {
    type Action = Action;

    /// Member id the coordinator gave (empty before the first JoinGroup answer).
    fn member_id(&self) -> &str {
        &self.member_id
    }

    /// Generation (-1 outside a generation).
    fn member_epoch(&self) -> i32 {
        self.generation
    }

    /// Whether the member has left (or never joined).
    fn has_left(&self) -> bool {
        matches!(self.state, State::Left | State::Fatal | State::Unsubscribed)
    }

    /// Leaves: revoke everything (with its commit), then LeaveGroup. Static members do not
    /// send LeaveGroup (their session timeout keeps their place, as in the Java client).
    fn leave(&mut self, now: Instant) {
        match self.state {
            State::Unsubscribed | State::Left | State::Fatal | State::Stale => {
                self.state = State::Left;
                self.actions.push_back(Action::Left);
                return;
            }
            State::Leaving => return,
            _ => {}
        }
        self.state = State::Leaving;
        self.target = None;
        self.due = Some(now);
        if let Some(all) = self.parts.revoke_all() {
            self.actions
                .push_back(Action::Revoke(all.into_iter().collect()));
        }
    }

    /// The next action for the driver.
    fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When to call `poll_request` again.
    fn next_deadline(&self) -> Option<Instant> {
        if self.leave_ready() {
            return self.due;
        }
        if self.in_flight {
            return None;
        }
        match self.state {
            State::Joining | State::Syncing => self.due,
            State::Preparing | State::Reconciling | State::Stable => self.next_heartbeat,
            _ => None,
        }
    }
}

impl ConsumerMembership for ClassicMembership {
    fn protocol(&self) -> GroupProtocol {
        GroupProtocol::Classic
    }

    fn request_timeout(&self, kind: Option<ClassicKind>, request_timeout: Duration) -> Duration {
        ClassicMembership::request_timeout(
            self,
            kind.unwrap_or(ClassicKind::Heartbeat),
            request_timeout,
        )
    }

    fn poll_request(&mut self, now: Instant) -> Option<GroupRequest> {
        ClassicMembership::poll_request(self, now).map(GroupRequest::Classic)
    }

    fn on_response(&mut self, resp: GroupResponse, now: Instant) {
        // A KIP-848 answer to a request sent before a fallback to classic is dropped.
        if let GroupResponse::Classic(r) = resp {
            ClassicMembership::on_response(self, r, now)
        }
    }

    fn on_failed(&mut self, kind: Option<ClassicKind>, err: &Error, now: Instant) {
        if let Some(kind) = kind {
            self.on_request_failed(kind, err, now)
        }
    }

    /// The partitions the member owns in its current generation: applied (revoking ones
    /// included until done) and being assigned; none outside a generation.
    fn owned_partitions(&self) -> BTreeSet<TopicPartition> {
        if self.generation <= 0 {
            return BTreeSet::new();
        }
        self.parts.held()
    }

    /// Partitions of the assignment step in progress.
    fn assigning(&self) -> Vec<TopicPartition> {
        self.parts
            .assigning()
            .map_or_else(Vec::new, |s| s.iter().cloned().collect())
    }

    /// A join, sync or reconciliation is under way.
    fn is_rebalancing(&self) -> bool {
        matches!(
            self.state,
            State::Preparing
                | State::Joining
                | State::Assigning
                | State::Syncing
                | State::Reconciling
                | State::Dropping
        )
    }

    /// Subscribes, or changes the subscription (which needs a rebalance).
    fn subscribe(&mut self, sub: Subscription, now: Instant) {
        let topics = match sub {
            Subscription::Topics(t) => t,
            // The engine resolves patterns to names before they get here.
            Subscription::Pattern(p) => {
                self.actions.push_back(Action::Warn(Error::config(format!(
                    "pattern '{p}' reached the classic membership unresolved; ignored"
                ))));
                return;
            }
        };
        let changed = topics != self.topics;
        self.topics = topics;
        match self.state {
            State::Unsubscribed | State::Left | State::Stale => self.start_join(now),
            State::Stable | State::Reconciling if changed => self.start_join(now),
            // A join under way carries the old topics: join again once it has been applied.
            _ if changed => self.rejoin_needed = true,
            _ => {}
        }
    }

    /// Rejoins after a stale leave.
    fn rejoin(&mut self, now: Instant) {
        if self.state == State::Stale || (self.stale_leave && self.state == State::Left) {
            self.stale_leave = false;
            self.state = State::Joining;
            self.join_started.get_or_insert(now);
            self.due = Some(now);
        }
    }

    /// The handler stalled past max_poll_interval: partitions are lost, the member leaves
    /// and waits for `rejoin`.
    fn on_poll_stale(&mut self, now: Instant) {
        if matches!(
            self.state,
            State::Left | State::Fatal | State::Unsubscribed | State::Stale
        ) {
            return;
        }
        self.stale_leave = true;
        self.target = None;
        self.state = State::Leaving;
        self.due = Some(now);
        let lost = self.parts.take_lost();
        if !lost.is_empty() {
            self.actions
                .push_back(Action::Lost(lost.into_iter().collect()));
        }
    }

    /// The driver finished a revocation.
    fn on_revoked(&mut self, now: Instant) {
        if !self.parts.revoked() {
            return;
        }
        match self.state {
            State::Preparing => {
                self.state = State::Joining;
                self.due = Some(now);
            }
            State::Leaving => self.due = Some(now),
            _ => {
                self.revoked_this_round = true;
                self.reconcile(now);
            }
        }
    }

    /// The driver finished an assignment.
    fn on_assigned(&mut self, now: Instant) {
        if self.parts.assigned() {
            self.reconcile(now);
        }
    }

    /// The driver dropped lost partitions.
    fn on_lost_handled(&mut self, now: Instant) {
        match self.state {
            State::Dropping => {
                self.state = State::Joining;
                self.due = Some(now);
            }
            State::Leaving => self.due = Some(now),
            _ => {}
        }
    }

    /// Starts a rebalance from a stable membership (the leader saw new partitions or topics).
    fn request_rejoin(&mut self, now: Instant) {
        if matches!(self.state, State::Stable | State::Reconciling) {
            self.start_join(now);
        }
    }

    /// The leader's assignment is ready (or failed).
    fn on_assignment_computed(
        &mut self,
        generation: i32,
        result: crate::error::Result<BTreeMap<String, MemberAssignment>>,
        now: Instant,
    ) {
        if self.state != State::Assigning || generation != self.generation {
            return;
        }
        match result {
            Ok(map) => {
                self.sync_assignments = map
                    .iter()
                    .map(|(id, a)| (id.clone(), wire::encode_assignment(a)))
                    .collect();
                self.state = State::Syncing;
                self.due = Some(now);
            }
            Err(e) => {
                self.actions.push_back(Action::Warn(e));
                let wait = self.backoff();
                self.state = State::Joining;
                self.due = Some(now + wait);
            }
        }
    }
}

#[cfg(test)]
mod tests;
