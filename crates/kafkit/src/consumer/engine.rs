//! The consumer engine: one task that drives group membership, fetching and commits, and
//! hands batches to the handler. Slow work (hooks, offset lookups, requests) runs in spawned
//! tasks that report back, so heartbeats never wait behind the handler or a long poll.
//!
//! Over 1,700 lines and several owners' state in one struct: its split by ownership (loop,
//! group session, rebalance, commits, fetching) is issue 12.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use kafka_protocol::messages::{
    ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, FetchRequest, HeartbeatRequest,
    JoinGroupRequest, LeaveGroupRequest, SyncGroupRequest,
};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use uuid::Uuid;

use super::config::{
    AutoOffsetReset, ConsumerConfig, GroupProtocol, IsolationLevel, DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_SESSION_TIMEOUT,
};
use super::fetcher::{self, FetchPosition, FetchTarget, FetchedPartition};
use super::group::classic::{
    AssignmentJob, ClassicConfig, ClassicKind, ClassicMembership, ClassicRequest, ClassicResponse,
};
use super::group::consumer::{Membership, MembershipConfig};
use super::group::{Action, GroupRequest, GroupResponse, Member, Subscription};
use super::message::Batch;
use super::offsets::{self, CommitOffset, Committer};
use super::partitions::Partitions;
use crate::cluster::coordinator::connect_coordinator;
use crate::cluster::CoordinatorType;
use crate::error::{Error, ErrorKind, ResponseError, Result};
use crate::events::{Event, TopicPartition};
use crate::net::{Connection, Lane};
use crate::Kafka;

/// Which rebalance callback runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebalanceKind {
    /// Partitions were assigned to this member.
    Assigned,
    /// Partitions are being taken away (processed offsets were committed if auto-commit is on).
    Revoked,
    /// Partitions were lost (fenced or session expired): do not commit for them.
    Lost,
}

/// A rebalance callback: async, may commit through the consumer it is given.
pub type RebalanceHook =
    Arc<dyn Fn(RebalanceKind, Vec<TopicPartition>) -> BoxFuture<'static, Result<()>> + Send + Sync>;

/// A batch handed to the handler, tagged with the assignment generation it came from.
pub(crate) struct Delivery {
    pub generation: u64,
    pub batch: Batch,
    /// The next offset to process, as the handler advances (-1: nothing yet). Shared with the
    /// engine, which reads it when it commits or revokes: a record costs an atomic store, not
    /// a message to the engine.
    pub progress: Arc<std::sync::atomic::AtomicI64>,
}

/// Requests from the consumer handle and the run loop.
pub(crate) enum Command {
    Subscribe {
        subscription: Subscription,
        from_beginning: bool,
        reply: oneshot::Sender<Result<()>>,
    },
    Pause(Vec<TopicPartition>, bool),
    Seek(TopicPartition, i64),
    Commit {
        offsets: Option<Vec<(TopicPartition, i64)>>,
        reply: oneshot::Sender<Result<()>>,
    },
    /// The handler finished a batch (or part of it): `next` is the next offset to process.
    Processed {
        tp: TopicPartition,
        generation: u64,
        next: Option<(i64, i32)>,
        done: bool,
    },
    Assignment(oneshot::Sender<Vec<TopicPartition>>),
    /// The handler was stalled past max_poll_interval: leave, and rejoin when called again.
    Stale,
    Rejoin,
    Stop(oneshot::Sender<Result<()>>),
    /// Test support: end without leaving the group (as a crashed process would).
    Abort,
    /// Test support: send no heartbeat until then (as a frozen process would).
    SuspendHeartbeats(Instant),
}

/// Results of spawned work.
enum Internal {
    /// An answer from the coordinator (`kind` is set for classic requests).
    Group(Option<ClassicKind>, Result<GroupResponse>),
    /// The leader's assignment for a generation.
    AssignmentComputed(i32, Result<(Assignments, TopicCounts)>),
    /// Leader: the subscribed topics' partition counts changed since the assignment.
    MetadataChanged(i32),
    /// Leader: the metadata check found nothing new (or failed).
    MetadataUnchanged,
    /// A classic pattern subscription resolved to these topics.
    PatternTopics(String, Result<BTreeSet<String>>),
    Coordinator(Result<(i32, Connection)>),
    TopicNames(Result<HashMap<Uuid, String>>),
    Fetched {
        node: i32,
        result: Result<Vec<FetchedPartition>>,
        generations: HashMap<TopicPartition, u64>,
    },
    Revoked(u64),
    Assigned(u64, Result<Vec<(TopicPartition, i64, Option<i32>)>>),
    Lost(u64),
    /// Positions found by an offset reset (OFFSET_OUT_OF_RANGE).
    Reset(Vec<(TopicPartition, i64)>),
    Committed {
        offsets: Vec<(TopicPartition, i64)>,
        result: Result<()>,
        reply: Option<oneshot::Sender<Result<()>>>,
    },
}

/// The engine's view of the group coordinator.
enum Coordinator {
    Unknown,
    Finding,
    Known(Connection),
}

pub(crate) struct Engine {
    kafka: Kafka,
    config: ConsumerConfig,
    membership: Member,
    /// This member's own coordinator socket under the classic protocol.
    lane_id: u64,
    /// The subscription asked for (kept for a fallback to classic and pattern re-checks).
    subscription: Option<Subscription>,
    /// Classic pattern subscription: when to look for new matching topics.
    pattern_check_at: Option<Instant>,
    pattern_checking: bool,
    /// Classic leader: the generation it assigned and the partition counts it used, checked
    /// every few seconds so new partitions or topics start a rebalance.
    leader_counts: Option<(i32, TopicCounts)>,
    leader_check_at: Option<Instant>,
    leader_checking: bool,
    /// Published member id (classic ids come from the coordinator).
    member_id_out: Arc<std::sync::Mutex<String>>,
    /// Published member epoch (read by `Consumer::group_metadata`).
    epoch_out: Arc<std::sync::atomic::AtomicI32>,
    coordinator: Coordinator,
    coordinator_attempts: u32,
    coordinator_retry_at: Option<Instant>,
    heartbeat_in_flight: bool,
    parts: Partitions,
    fetching: HashSet<i32>,
    from_beginning: bool,
    subscribed: bool,
    hooks: Hooks,
    delivery: mpsc::Sender<Delivery>,
    /// The handler's end of `delivery`, to take back batches nobody is reading (stream
    /// dropped, run not started) so revocation and stop never wait on them.
    delivery_rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Delivery>>>,
    internal_tx: mpsc::UnboundedSender<Internal>,
    internal_rx: mpsc::UnboundedReceiver<Internal>,
    commands: mpsc::UnboundedReceiver<Command>,
    /// Revocation waiting for the handler to finish these partitions.
    pending_revoke: Option<(u64, Vec<TopicPartition>)>,
    task_generation: u64,
    last_auto_commit: Instant,
    resolved_since_commit: usize,
    stopping: Option<oneshot::Sender<Result<()>>>,
    fatal: Option<Error>,
    group_joined: bool,
    metadata_retry_at: Option<Instant>,
    exit: bool,
    heartbeats_suspended_until: Option<Instant>,
    /// `subscribe` waits for the first heartbeat answer, so a broker that refuses the
    /// protocol fails the subscribe itself.
    subscribe_reply: Option<oneshot::Sender<Result<()>>>,
    heartbeat_answered: bool,
}

/// The user's rebalance callbacks.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub assigned: Option<RebalanceHook>,
    pub revoked: Option<RebalanceHook>,
    pub lost: Option<RebalanceHook>,
}

/// Largest decompressed batch accepted from a fetch.
const MAX_DECOMPRESSED: usize = 256 * 1024 * 1024;

impl Engine {
    // The handles a consumer shares with its engine, each needed once: a struct would only
    // rename them.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        kafka: Kafka,
        config: ConsumerConfig,
        member_id: String,
        epoch_out: Arc<std::sync::atomic::AtomicI32>,
        member_id_out: Arc<std::sync::Mutex<String>>,
        hooks: Hooks,
        delivery: mpsc::Sender<Delivery>,
        delivery_rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Delivery>>>,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> Self {
        let membership = match config.group_protocol {
            GroupProtocol::Consumer => Member::Consumer(Membership::new(MembershipConfig {
                group_id: config.group_id.clone(),
                member_id,
                instance_id: config.instance_id.clone(),
                rack_id: config.rack_id.clone(),
                rebalance_timeout: config.rebalance_timeout,
                server_assignor: config.remote_assignor.clone(),
            })),
            GroupProtocol::Classic => Member::Classic(classic_member(&config)),
        };
        let (internal_tx, internal_rx) = mpsc::unbounded_channel();
        Engine {
            kafka,
            config,
            membership,
            lane_id: NEXT_LANE.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            subscription: None,
            pattern_check_at: None,
            pattern_checking: false,
            leader_counts: None,
            leader_check_at: None,
            leader_checking: false,
            member_id_out,
            epoch_out,
            coordinator: Coordinator::Unknown,
            coordinator_attempts: 0,
            coordinator_retry_at: None,
            heartbeat_in_flight: false,
            parts: Partitions::default(),
            fetching: HashSet::new(),
            from_beginning: false,
            subscribed: false,
            hooks,
            delivery,
            delivery_rx,
            internal_tx,
            internal_rx,
            commands,
            pending_revoke: None,
            task_generation: 0,
            last_auto_commit: Instant::now(),
            resolved_since_commit: 0,
            stopping: None,
            fatal: None,
            group_joined: false,
            metadata_retry_at: None,
            exit: false,
            heartbeats_suspended_until: None,
            subscribe_reply: None,
            heartbeat_answered: false,
        }
    }

    /// Runs until stopped (or a fatal error). Returns the fatal error, if any.
    pub(crate) async fn run(mut self) -> Option<Error> {
        loop {
            let now = Instant::now();
            self.step(now);
            if self.finished() {
                break;
            }
            let deadline = self.next_deadline(now);
            tokio::select! {
                biased;
                Some(msg) = self.internal_rx.recv() => self.on_internal(msg),
                cmd = self.commands.recv() => match cmd {
                    Some(cmd) => self.on_command(cmd),
                    // Every handle dropped: leave the group.
                    None => if self.stopping.is_none() {
                        let (tx, _) = oneshot::channel();
                        self.begin_stop(tx);
                    },
                },
                _ = tokio::time::sleep_until(deadline) => {}
            }
        }
        if self.membership.is_classic() {
            self.kafka
                .pool()
                .close_lane(Lane::Member(self.lane_id), Duration::from_secs(1))
                .await;
        }
        self.emit(Event::Stop {
            group_id: self.config.group_id.clone(),
        });
        self.fatal.clone()
    }

    fn finished(&mut self) -> bool {
        if let Some(reply) = self.subscribe_reply.take() {
            match &self.fatal {
                Some(e) => {
                    let _ = reply.send(Err(e.clone()));
                }
                None if self.heartbeat_answered || self.exit || self.stopping.is_some() => {
                    let _ = reply.send(Ok(()));
                }
                None => self.subscribe_reply = Some(reply),
            }
        }
        if self.exit {
            return true;
        }
        if let Some(e) = &self.fatal {
            if let Some(reply) = self.stopping.take() {
                let _ = reply.send(Err(e.clone()));
            }
            return true;
        }
        if self.stopping.is_some() && self.membership.has_left() {
            if let Some(reply) = self.stopping.take() {
                let _ = reply.send(Ok(()));
            }
            return true;
        }
        false
    }

    /// Everything that may be done now without waiting.
    fn step(&mut self, now: Instant) {
        self.sync_progress();
        self.maybe_finish_revoke();
        self.drive_membership(now);
        self.epoch_out.store(
            self.membership.member_epoch(),
            std::sync::atomic::Ordering::Release,
        );
        if let Ok(mut id) = self.member_id_out.lock() {
            if id.as_str() != self.membership.member_id() {
                *id = self.membership.member_id().to_string();
            }
        }
        self.check_pattern(now);
        self.check_leader_metadata(now);
        self.deliver();
        self.fetch(now);
        self.maybe_auto_commit(now);
    }

    /// Takes in how far the handler got in the batches it holds.
    fn sync_progress(&mut self) {
        for st in self.parts.states.values_mut() {
            let Some((cell, epoch)) = &st.progress else {
                continue;
            };
            let next = cell.load(std::sync::atomic::Ordering::Acquire);
            if next < 0 {
                continue;
            }
            match st.processed {
                Some((o, _)) if o >= next => {}
                Some((o, _)) => {
                    self.resolved_since_commit += (next - o) as usize;
                    st.processed = Some((next, *epoch));
                }
                None => {
                    self.resolved_since_commit += 1;
                    st.processed = Some((next, *epoch));
                }
            }
        }
    }

    fn next_deadline(&self, now: Instant) -> Instant {
        let mut at = now + Duration::from_secs(1);
        if let Some(d) = self.membership.next_deadline() {
            at = at.min(d.into());
        }
        if let Some(r) = self.coordinator_retry_at {
            at = at.min(r);
        }
        if self.config.auto_commit {
            at = at.min(self.last_auto_commit + self.config.auto_commit_interval);
        }
        if let Some(r) = self.metadata_retry_at {
            at = at.min(r);
        }
        if let Some(r) = self.pattern_check_at {
            at = at.min(r);
        }
        if let Some(r) = self
            .leader_check_at
            .filter(|_| self.leader_counts.is_some())
        {
            at = at.min(r);
        }
        if let Some(u) = self.heartbeats_suspended_until.filter(|u| *u > now) {
            at = at.min(u);
        }
        for st in self.parts.states.values() {
            if let Some(b) = st.backoff_until {
                at = at.min(b);
            }
        }
        at.max(now + Duration::from_millis(1))
    }

    fn emit(&self, e: Event) {
        self.kafka.emit(e);
    }

    // ---- group membership -------------------------------------------------------------

    fn drive_membership(&mut self, now: Instant) {
        while let Some(action) = self.membership.poll_action() {
            self.on_action(action, now);
        }
        if !self.subscribed {
            return;
        }
        match &self.coordinator {
            Coordinator::Known(conn) => {
                // The KIP-848 member has one heartbeat out at a time; the classic one
                // gates its own requests (a LeaveGroup may follow a JoinGroup in flight).
                if (self.heartbeat_in_flight && !self.membership.is_classic())
                    || self.heartbeats_suspended_until.is_some_and(|u| u > now)
                {
                    return;
                }
                if let Some(req) = self.membership.poll_request(now.into()) {
                    let conn = conn.clone();
                    let tx = self.internal_tx.clone();
                    match req {
                        GroupRequest::Consumer(req) => {
                            self.heartbeat_in_flight = true;
                            let timeout = self
                                .membership
                                .heartbeat_timeout(self.kafka.config().request_timeout);
                            tokio::spawn(async move {
                                let res = send_heartbeat(&conn, &req, timeout).await;
                                let _ = tx
                                    .send(Internal::Group(None, res.map(GroupResponse::Consumer)));
                            });
                        }
                        GroupRequest::Classic(req) => {
                            let kind = req.kind();
                            // JoinGroup answers when the rebalance completes.
                            let timeout =
                                self.config.rebalance_timeout + self.kafka.config().request_timeout;
                            tokio::spawn(async move {
                                let res = send_classic(&conn, req, timeout).await;
                                let _ = tx.send(Internal::Group(
                                    Some(kind),
                                    res.map(GroupResponse::Classic),
                                ));
                            });
                        }
                    }
                }
            }
            Coordinator::Unknown => {
                if self.coordinator_retry_at.is_some_and(|r| r > now) {
                    return;
                }
                self.coordinator = Coordinator::Finding;
                let kafka = self.kafka.clone();
                let group = self.config.group_id.clone();
                let tx = self.internal_tx.clone();
                let kip848 = !self.membership.is_classic();
                let lane = if kip848 {
                    Lane::Group
                } else {
                    Lane::Member(self.lane_id)
                };
                tokio::spawn(async move {
                    let res = async {
                        let (node, conn) =
                            connect_coordinator(&kafka, CoordinatorType::Group, &group, lane)
                                .await?;
                        if kip848 {
                            check_consumer_protocol(&conn)?;
                        }
                        Ok((node, conn))
                    }
                    .await;
                    let _ = tx.send(Internal::Coordinator(res));
                });
            }
            Coordinator::Finding => {}
        }
    }

    fn on_action(&mut self, action: Action, now: Instant) {
        match action {
            Action::ResolveTopicIds(ids) => {
                let kafka = self.kafka.clone();
                let tx = self.internal_tx.clone();
                tokio::spawn(async move {
                    let res = kafka.cluster().resolve_topic_ids(&ids).await;
                    let _ = tx.send(Internal::TopicNames(res));
                });
            }
            Action::Revoke(tps) => {
                self.emit(Event::Rebalancing {
                    group_id: self.config.group_id.clone(),
                    member_id: self.membership.member_id().to_string(),
                });
                self.task_generation += 1;
                self.pending_revoke = Some((self.task_generation, tps));
                self.maybe_finish_revoke();
            }
            Action::Assign(tps) => {
                self.task_generation += 1;
                let generation = self.task_generation;
                self.spawn_assign(generation, tps);
            }
            Action::Lost(tps) => {
                // Supersedes a revocation or assignment in progress (their results are dropped).
                self.task_generation += 1;
                self.pending_revoke = None;
                let generation = self.task_generation;
                self.parts.remove(&tps);
                let hook = self.hooks.lost.clone();
                let tx = self.internal_tx.clone();
                tokio::spawn(async move {
                    if let Some(h) = hook {
                        if let Err(e) = h(RebalanceKind::Lost, tps).await {
                            tracing::warn!(error = %e, "partitions-lost hook failed");
                        }
                    }
                    let _ = tx.send(Internal::Lost(generation));
                });
            }
            Action::Joined {
                member_id,
                epoch,
                mut assignment,
            } => {
                self.group_joined = true;
                // Topic ids the membership has not resolved yet may be in the metadata cache.
                let snapshot = self.kafka.cluster().snapshot();
                for tp in assignment.iter_mut() {
                    if let Some(name) = Uuid::parse_str(&tp.topic)
                        .ok()
                        .and_then(|id| snapshot.topic_names.get(&id))
                    {
                        tp.topic = name.to_string();
                    }
                }
                self.emit(Event::GroupJoin {
                    group_id: self.config.group_id.clone(),
                    member_id,
                    member_epoch: epoch,
                    assignment,
                });
            }
            Action::HeartbeatEvent {
                epoch,
                added,
                removed,
            } => self.emit(Event::Heartbeat {
                group_id: self.config.group_id.clone(),
                member_id: self.membership.member_id().to_string(),
                member_epoch: epoch,
                added,
                removed,
            }),
            // Some brokers list ConsumerGroupHeartbeat but refuse it when the consumer
            // protocol is off.
            Action::Fatal(e)
                if self.config.fallback_to_classic
                    && !self.membership.is_classic()
                    && !self.group_joined
                    && e.kafka_error() == Some(ResponseError::UnsupportedVersion) =>
            {
                self.fall_back_to_classic(&e, now)
            }
            Action::Fatal(e) => {
                tracing::error!(group = %self.config.group_id, error = %e, "consumer group error");
                self.emit(Event::Crash {
                    group_id: self.config.group_id.clone(),
                    error: e.to_string(),
                });
                self.fatal = Some(e);
            }
            Action::Warn(e) => {
                tracing::warn!(group = %self.config.group_id, error = %e, "consumer group warning");
                self.emit(Event::Warning {
                    message: e.to_string(),
                });
            }
            Action::FindCoordinator => {
                self.coordinator = Coordinator::Unknown;
                self.coordinator_attempts += 1;
                self.coordinator_retry_at =
                    Some(now + coordinator_backoff(self.coordinator_attempts));
            }
            Action::ComputeAssignment(job) => self.spawn_assignment(job),
            Action::Left => {}
        }
    }

    fn on_internal(&mut self, msg: Internal) {
        let now = Instant::now();
        match msg {
            Internal::Group(kind, res) => {
                if kind.is_none() {
                    self.heartbeat_in_flight = false;
                }
                self.heartbeat_answered = true;
                match res {
                    Ok(resp) => self.membership.on_response(resp, now.into()),
                    Err(e) => {
                        tracing::debug!(error = %e, ?kind, "group request failed");
                        if matches!(e.kind(), ErrorKind::Connection | ErrorKind::Timeout(_)) {
                            self.coordinator = Coordinator::Unknown;
                        }
                        self.membership.on_failed(kind, &e, now.into());
                    }
                }
            }
            Internal::AssignmentComputed(generation, res) => {
                let res = res.map(|(assignments, counts)| {
                    self.leader_counts = Some((generation, counts));
                    self.leader_check_at = Some(now + PATTERN_CHECK_INTERVAL);
                    assignments
                });
                self.membership
                    .on_assignment_computed(generation, res, now.into())
            }
            Internal::MetadataChanged(generation) => {
                self.leader_checking = false;
                if self.membership.member_epoch() == generation {
                    tracing::info!(group = %self.config.group_id, "subscribed topics changed (partitions or topics added); rebalancing");
                    self.leader_counts = None;
                    self.membership.request_rejoin(now.into());
                }
            }
            Internal::MetadataUnchanged => {
                self.leader_checking = false;
                self.leader_check_at = Some(now + PATTERN_CHECK_INTERVAL);
            }
            Internal::PatternTopics(pattern, res) => {
                self.pattern_checking = false;
                self.pattern_check_at = Some(now + PATTERN_CHECK_INTERVAL);
                match res {
                    Ok(topics) if self.subscription == Some(Subscription::Pattern(pattern)) => {
                        self.kafka.cluster().track(topics.iter().cloned());
                        self.membership
                            .subscribe(Subscription::Topics(topics), now.into());
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == &ErrorKind::Config => {
                        self.emit(Event::Crash {
                            group_id: self.config.group_id.clone(),
                            error: e.to_string(),
                        });
                        self.fatal = Some(e);
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "listing topics for the pattern failed; retrying")
                    }
                }
            }
            Internal::Coordinator(res) => match res {
                Ok((node, conn)) => {
                    tracing::debug!(node, group = %self.config.group_id, "group coordinator found");
                    self.coordinator = Coordinator::Known(conn);
                    self.coordinator_attempts = 0;
                    self.coordinator_retry_at = None;
                }
                Err(e)
                    if e.kind() == &ErrorKind::Unsupported
                        && self.config.fallback_to_classic
                        && !self.membership.is_classic() =>
                {
                    self.fall_back_to_classic(&e, now)
                }
                Err(e) if e.kind() == &ErrorKind::Unsupported => {
                    self.emit(Event::Crash {
                        group_id: self.config.group_id.clone(),
                        error: e.to_string(),
                    });
                    self.fatal = Some(e);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "finding the group coordinator failed");
                    self.coordinator = Coordinator::Unknown;
                    self.coordinator_attempts += 1;
                    self.coordinator_retry_at =
                        Some(now + coordinator_backoff(self.coordinator_attempts));
                }
            },
            Internal::TopicNames(res) => match res {
                Ok(names) => self.membership.on_topic_names(&names),
                Err(e) => {
                    tracing::debug!(error = %e, "resolving topic ids failed; retrying on the next heartbeat")
                }
            },
            Internal::Fetched {
                node,
                result,
                generations,
            } => {
                self.fetching.remove(&node);
                self.on_fetched(result, generations, now);
            }
            Internal::Revoked(generation) => {
                if generation == self.task_generation {
                    self.membership.on_revoked(now.into());
                }
            }
            Internal::Assigned(generation, res) => {
                if generation != self.task_generation {
                    return;
                }
                match res {
                    Ok(positions) => {
                        self.parts.assign(positions);
                        self.membership.on_assigned(now.into());
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "preparing assigned partitions failed; retrying");
                        if e.kind() != &ErrorKind::Handler
                            && !e.is_retriable()
                            && e.kafka_error().is_none()
                        {
                            self.fatal = Some(e);
                        } else {
                            let tps = self.membership.assigning().to_vec();
                            let generation = self.task_generation;
                            let tx = self.internal_tx.clone();
                            let this = self.assign_ctx();
                            tokio::spawn(async move {
                                tokio::time::sleep(Duration::from_millis(500)).await;
                                let res = this.prepare(tps).await;
                                let _ = tx.send(Internal::Assigned(generation, res));
                            });
                        }
                    }
                }
            }
            Internal::Reset(positions) => {
                for (tp, offset) in positions {
                    if let Some(st) = self.parts.states.get_mut(&tp) {
                        if st.position.is_none() {
                            st.position = Some(offset);
                        }
                    }
                }
            }
            Internal::Lost(generation) => {
                if generation == self.task_generation {
                    self.membership.on_lost_handled(now.into());
                }
            }
            Internal::Committed {
                offsets,
                result,
                reply,
            } => {
                match &result {
                    Ok(()) => {
                        self.parts.mark_committed(&offsets);
                        self.emit(Event::CommitOffsets {
                            group_id: self.config.group_id.clone(),
                            offsets: offsets.clone(),
                        });
                    }
                    Err(e) => tracing::debug!(error = %e, "offset commit failed"),
                }
                if let Some(r) = reply {
                    let _ = r.send(result);
                }
            }
        }
    }

    fn on_command(&mut self, cmd: Command) {
        let now = Instant::now();
        match cmd {
            Command::Subscribe {
                subscription,
                from_beginning,
                reply,
            } => {
                self.from_beginning = from_beginning;
                self.subscribed = true;
                self.subscription = Some(subscription.clone());
                self.apply_subscription(subscription, now);
                if self.heartbeat_answered {
                    let _ = reply.send(Ok(()));
                } else {
                    self.subscribe_reply = Some(reply);
                }
            }
            Command::Pause(tps, pause) => {
                for tp in tps {
                    if let Some(st) = self.parts.states.get_mut(&tp) {
                        st.paused = pause;
                    }
                }
            }
            Command::Seek(tp, offset) => {
                if !self.parts.seek(&tp, offset) {
                    tracing::warn!(partition = %tp, "seek on a partition not assigned to this member is ignored");
                }
            }
            Command::Commit { offsets, reply } => {
                self.sync_progress();
                let offsets = match offsets {
                    Some(o) => o.into_iter().map(|(tp, off)| (tp, off, -1)).collect(),
                    None => self.parts.uncommitted(),
                };
                self.spawn_commit(offsets, Some(reply));
            }
            Command::Processed {
                tp,
                generation,
                next,
                done,
            } => {
                self.sync_progress();
                if let Some(st) = self.parts.states.get_mut(&tp) {
                    if done {
                        st.progress = None;
                    }
                    if st.generation == generation {
                        if let Some(n) = next {
                            if st.processed.is_none_or(|(o, _)| n.0 > o) {
                                st.processed = Some(n);
                                self.resolved_since_commit += 1;
                            }
                        }
                        if done {
                            st.in_process = false;
                        }
                    } else if done {
                        st.in_process = false;
                    }
                }
                self.maybe_finish_revoke();
            }
            Command::Assignment(reply) => {
                let _ = reply.send(self.parts.states.keys().cloned().collect());
            }
            Command::Stale => {
                tracing::warn!(group = %self.config.group_id, "handler exceeded max_poll_interval: leaving the group until it returns");
                self.membership.on_poll_stale(now.into());
            }
            Command::Rejoin => self.membership.rejoin(now.into()),
            Command::Stop(reply) => self.begin_stop(reply),
            Command::Abort => self.exit = true,
            Command::SuspendHeartbeats(until) => self.heartbeats_suspended_until = Some(until),
        }
    }

    /// The broker lacks KIP-848 and the user opted in: go on as a classic member.
    fn fall_back_to_classic(&mut self, e: &Error, now: Instant) {
        let msg =
            format!("{e}; falling back to the classic group protocol as fallback_to_classic asks");
        tracing::warn!(group = %self.config.group_id, "{msg}");
        self.emit(Event::Warning { message: msg });
        self.membership = Member::Classic(classic_member(&self.config));
        self.coordinator = Coordinator::Unknown;
        self.coordinator_retry_at = None;
        self.heartbeat_in_flight = false;
        if let Some(sub) = self.subscription.clone() {
            self.apply_subscription(sub, now);
        }
    }

    /// Hands a subscription to the membership; a classic member gets a pattern as the topic
    /// names that match it now (and again every few seconds).
    fn apply_subscription(&mut self, subscription: Subscription, now: Instant) {
        match subscription {
            Subscription::Topics(names) => {
                self.pattern_check_at = None;
                self.kafka.cluster().track(names.iter().cloned());
                self.membership
                    .subscribe(Subscription::Topics(names), now.into());
            }
            // Resolved by `check_pattern`, now and every few seconds.
            Subscription::Pattern(_) if self.membership.is_classic() => {
                self.pattern_check_at = Some(now);
            }
            sub => self.membership.subscribe(sub, now.into()),
        }
    }

    fn check_pattern(&mut self, now: Instant) {
        let Some(Subscription::Pattern(pattern)) = &self.subscription else {
            return;
        };
        if !self.membership.is_classic()
            || self.pattern_checking
            || self.pattern_check_at.is_none_or(|at| at > now)
        {
            return;
        }
        self.pattern_checking = true;
        self.pattern_check_at = None;
        let pattern = pattern.clone();
        let kafka = self.kafka.clone();
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            let res = matching_topics(&kafka, &pattern).await;
            let _ = tx.send(Internal::PatternTopics(pattern, res));
        });
    }

    /// Classic leader: look again at the partition counts the assignment used.
    fn check_leader_metadata(&mut self, now: Instant) {
        let Some((generation, counts)) = &self.leader_counts else {
            return;
        };
        if self.leader_checking || self.leader_check_at.is_none_or(|at| at > now) {
            return;
        }
        if self.membership.member_epoch() != *generation {
            self.leader_counts = None;
            return;
        }
        self.leader_checking = true;
        let (generation, counts) = (*generation, counts.clone());
        let kafka = self.kafka.clone();
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            let topics: Vec<String> = counts.topics.iter().cloned().collect();
            let msg = match partition_counts(&kafka, &topics).await {
                Ok(now) if now != counts.counts => Internal::MetadataChanged(generation),
                _ => Internal::MetadataUnchanged,
            };
            let _ = tx.send(msg);
        });
    }

    /// Leader: share the partitions with the group's assignor (metadata first).
    fn spawn_assignment(&mut self, job: AssignmentJob) {
        let kafka = self.kafka.clone();
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            let generation = job.generation;
            let res = compute_assignment(&kafka, job).await;
            let _ = tx.send(Internal::AssignmentComputed(generation, res));
        });
    }

    fn begin_stop(&mut self, reply: oneshot::Sender<Result<()>>) {
        if !self.subscribed {
            // Never joined: nothing to leave.
            let _ = reply.send(Ok(()));
            self.exit = true;
            return;
        }
        self.stopping = Some(reply);
        self.membership.leave(Instant::now().into());
    }

    // ---- revocation and assignment -----------------------------------------------------

    /// Finishes a revocation once the handler is done with those partitions: commit what was
    /// processed (auto-commit), run the hook, then let the membership acknowledge.
    fn maybe_finish_revoke(&mut self) {
        let Some((_, tps)) = &self.pending_revoke else {
            return;
        };
        if self.parts.any_in_process(tps) {
            self.reclaim_unread();
        }
        let Some((generation, tps)) = &self.pending_revoke else {
            return;
        };
        if self.parts.any_in_process(tps) {
            return;
        }
        let (generation, tps) = (*generation, tps.clone());
        self.pending_revoke = None;
        let processed = self.parts.remove(&tps);
        let commit = if self.config.auto_commit {
            processed
        } else {
            Vec::new()
        };
        let hook = self.hooks.revoked.clone();
        let tx = self.internal_tx.clone();
        let ctx = self.commit_ctx();
        tokio::spawn(async move {
            if !commit.is_empty() {
                let offsets: Vec<(TopicPartition, i64)> =
                    commit.iter().map(|(tp, o, _)| (tp.clone(), *o)).collect();
                let result = ctx.commit(commit).await;
                if let Err(e) = &result {
                    // The ack must not wait on a failing commit (topic deleted, coordinator moving).
                    tracing::warn!(error = %e, "commit before revocation failed");
                }
                let _ = tx.send(Internal::Committed {
                    offsets,
                    result,
                    reply: None,
                });
            }
            if let Some(h) = hook {
                if let Err(e) = h(RebalanceKind::Revoked, tps).await {
                    tracing::warn!(error = %e, "partitions-revoked hook failed");
                }
            }
            let _ = tx.send(Internal::Revoked(generation));
        });
    }

    fn spawn_assign(&mut self, generation: u64, tps: Vec<TopicPartition>) {
        let tx = self.internal_tx.clone();
        let ctx = self.assign_ctx();
        tokio::spawn(async move {
            let res = ctx.prepare(tps).await;
            let _ = tx.send(Internal::Assigned(generation, res));
        });
    }

    fn assign_ctx(&self) -> AssignCtx {
        AssignCtx {
            commit: self.commit_ctx(),
            reset: if self.from_beginning
                && self.config.auto_offset_reset == AutoOffsetReset::Latest
            {
                AutoOffsetReset::Earliest
            } else {
                self.config.auto_offset_reset
            },
            read_committed: self.config.isolation_level == IsolationLevel::ReadCommitted,
            hook: self.hooks.assigned.clone(),
        }
    }

    fn commit_ctx(&self) -> CommitCtx {
        CommitCtx {
            kafka: self.kafka.clone(),
            group_id: self.config.group_id.clone(),
            member_id: self.membership.member_id().to_string(),
            epoch: self.membership.member_epoch(),
            instance_id: self.config.instance_id.clone(),
            classic: self.membership.is_classic(),
            // A classic member's own socket may hold its JoinGroup for a while: offsets go
            // on the shared group socket instead.
            conn: match &self.coordinator {
                Coordinator::Known(c) if !self.membership.is_classic() => Some(c.clone()),
                _ => None,
            },
        }
    }

    // ---- commits ------------------------------------------------------------------------

    fn maybe_auto_commit(&mut self, now: Instant) {
        if !self.config.auto_commit || self.membership.member_epoch() <= 0 {
            return;
        }
        let by_time = now >= self.last_auto_commit + self.config.auto_commit_interval;
        let by_count = self
            .config
            .auto_commit_threshold
            .is_some_and(|t| self.resolved_since_commit >= t);
        if !(by_time || by_count) {
            return;
        }
        self.last_auto_commit = now;
        self.resolved_since_commit = 0;
        let offsets = self.parts.uncommitted();
        if !offsets.is_empty() {
            self.spawn_commit(offsets, None);
        }
    }

    fn spawn_commit(
        &mut self,
        offsets: Vec<(TopicPartition, i64, i32)>,
        reply: Option<oneshot::Sender<Result<()>>>,
    ) {
        let ctx = self.commit_ctx();
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            let plain: Vec<(TopicPartition, i64)> =
                offsets.iter().map(|(tp, o, _)| (tp.clone(), *o)).collect();
            let result = ctx.commit(offsets).await;
            let _ = tx.send(Internal::Committed {
                offsets: plain,
                result,
                reply,
            });
        });
    }

    // ---- fetching -----------------------------------------------------------------------

    fn fetch(&mut self, now: Instant) {
        if self.parts.buffered_bytes >= self.config.max_prefetch_bytes || self.stopping.is_some() {
            return;
        }
        let snapshot = self.kafka.cluster().snapshot();
        let mut by_leader: BTreeMap<i32, Vec<FetchTarget>> = BTreeMap::new();
        // Brokers with a partition that may have records right now.
        let mut eager: HashSet<i32> = HashSet::new();
        let mut generations: HashMap<i32, HashMap<TopicPartition, u64>> = HashMap::new();
        let revoking: BTreeSet<&TopicPartition> = self
            .pending_revoke
            .as_ref()
            .map(|(_, t)| t.iter().collect())
            .unwrap_or_default();
        let mut missing_leader = false;
        // Brokers leading a partition whose records are still with the handler: it will want
        // fetching again soon, so those brokers get no long poll of only caught-up partitions
        // (it would hold their fetch socket for max_wait).
        let mut busy: HashSet<i32> = HashSet::new();
        for (tp, st) in &self.parts.states {
            let Some(position) = st.position else {
                continue;
            };
            let info = snapshot
                .topic(&tp.topic)
                .and_then(|t| t.partition(tp.partition).map(|p| (t, p)));
            let held = !st.buffered.is_empty() || st.in_process;
            if held && !st.paused {
                if let Some((_, p)) = info {
                    busy.insert(p.leader);
                }
            }
            if st.paused || held || revoking.contains(tp) {
                continue;
            }
            if st.backoff_until.is_some_and(|b| b > now) {
                continue;
            }
            let Some((topic, p)) = info.filter(|(_, p)| p.leader >= 0) else {
                missing_leader = true;
                continue;
            };
            if self.fetching.contains(&p.leader) {
                continue;
            }
            by_leader.entry(p.leader).or_default().push(FetchTarget {
                partition: tp.clone(),
                topic_id: topic.id,
                position: FetchPosition {
                    offset: position,
                    current_leader_epoch: p.leader_epoch,
                    last_fetched_epoch: st.last_epoch.unwrap_or(-1),
                },
                max_bytes: st
                    .fetch_max_bytes
                    .unwrap_or(self.config.max_bytes_per_partition),
            });
            generations
                .entry(p.leader)
                .or_default()
                .insert(tp.clone(), st.generation);
            if !st.caught_up {
                eager.insert(p.leader);
            }
        }
        by_leader.retain(|node, _| !busy.contains(node) || eager.contains(node));
        if missing_leader && self.metadata_retry_at.is_none_or(|r| r <= now) {
            self.kafka.cluster().invalidate();
            self.metadata_retry_at = Some(now + Duration::from_millis(200));
        }
        // The free prefetch space, shared by the fetches that start now.
        let budget = (self
            .config
            .max_prefetch_bytes
            .saturating_sub(self.parts.buffered_bytes)
            / by_leader.len().max(1))
        .max(1);
        for (node, targets) in by_leader {
            self.fetching.insert(node);
            let kafka = self.kafka.clone();
            let config = self.config.clone();
            let tx = self.internal_tx.clone();
            let generations = generations.remove(&node).unwrap_or_default();
            self.emit(Event::FetchStart { node_id: node });
            tokio::spawn(async move {
                let started = Instant::now();
                let result = fetch_once(&kafka, node, &config, &targets, budget).await;
                if let Ok(parts) = &result {
                    kafka.emit(Event::Fetch {
                        node_id: node,
                        records: parts.iter().map(|p| p.messages.len()).sum(),
                        duration: started.elapsed(),
                    });
                }
                let _ = tx.send(Internal::Fetched {
                    node,
                    result,
                    generations,
                });
            });
        }
    }

    fn on_fetched(
        &mut self,
        result: Result<Vec<FetchedPartition>>,
        generations: HashMap<TopicPartition, u64>,
        now: Instant,
    ) {
        let parts = match result {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(error = %e, "fetch failed");
                if e.needs_metadata_refresh() {
                    self.kafka.cluster().invalidate();
                }
                for tp in generations.keys() {
                    if let Some(st) = self.parts.states.get_mut(tp) {
                        st.backoff_until = Some(now + Duration::from_millis(100));
                    }
                }
                return;
            }
        };
        let mut resets = Vec::new();
        for fp in parts {
            let Some(st) = self.parts.states.get_mut(&fp.partition) else {
                continue;
            };
            if generations.get(&fp.partition) != Some(&st.generation)
                || st.position != Some(fp.fetch_offset)
            {
                continue; // seeked or reassigned while the fetch was in flight
            }
            if let Some((epoch, end_offset)) = fp.diverging {
                self.on_diverging(&fp.partition, fp.fetch_offset, epoch, end_offset);
                continue;
            }
            if let Some(e) = fp.error {
                match e.kafka_error() {
                    Some(ResponseError::OffsetOutOfRange) => resets.push(fp.partition.clone()),
                    _ => {
                        // KIP-951: the broker names the new leader; fetch from it at once.
                        let hinted = fp.leader_hint.is_some_and(|(leader, epoch, addr)| {
                            self.kafka.cluster().apply_leader_hint(
                                &fp.partition.topic,
                                fp.partition.partition,
                                leader,
                                epoch,
                                addr,
                            )
                        });
                        if e.needs_metadata_refresh() && !hinted {
                            self.kafka.cluster().invalidate();
                        }
                        if !e.is_retriable()
                            && e.kafka_error() != Some(ResponseError::FencedLeaderEpoch)
                        {
                            tracing::warn!(error = %e, "fetch error");
                        }
                        st.backoff_until = Some(now + Duration::from_millis(100));
                    }
                }
                continue;
            }
            if let Some(need) = fp.needs_bytes {
                // Ask for the whole batch next time, within the prefetch budget.
                if need as usize > self.config.max_prefetch_bytes {
                    tracing::warn!(partition = %fp.partition, bytes = need, "a record batch is larger than max_prefetch_bytes; raise max_prefetch_bytes to read it");
                    st.backoff_until = Some(now + Duration::from_secs(1));
                } else {
                    st.fetch_max_bytes = Some(need);
                }
                continue;
            }
            st.fetch_max_bytes = None;
            // At the end of what may be read (the last stable offset under read_committed).
            let end = if self.config.isolation_level == IsolationLevel::ReadCommitted
                && fp.last_stable_offset >= 0
            {
                fp.last_stable_offset
            } else {
                fp.high_watermark
            };
            st.caught_up = !fp.cut
                && (fp.next_offset >= end
                    || (fp.messages.is_empty() && fp.next_offset == fp.fetch_offset));
            st.position = Some(fp.next_offset);
            if fp.next_epoch.is_some() {
                st.last_epoch = fp.next_epoch;
            }
            st.backoff_until = None;
            if !fp.messages.is_empty() {
                let batch = Batch {
                    topic: fp.messages[0].topic.clone(),
                    partition: fp.partition.partition,
                    high_watermark: fp.high_watermark,
                    messages: fp.messages,
                };
                self.parts.buffered_bytes += batch.approx_bytes();
                st.buffered.push_back(batch);
            }
        }
        if !resets.is_empty() {
            self.reset_offsets(resets);
        }
    }

    /// The leader's log does not hold what was read at `fetch_offset` (KIP-320): its epoch
    /// `epoch` ends at `end_offset`. Below the position, the records from `end_offset` on were
    /// lost by an unclean leader election: reported, and reading resumes where the logs agree
    /// (none of the new leader's records skipped, none read twice); with auto_offset_reset none
    /// the consumer stops instead. Otherwise only the epoch was unknown to the leader: the
    /// position holds, checked against the leader's epoch from now on.
    fn on_diverging(
        &mut self,
        tp: &TopicPartition,
        fetch_offset: i64,
        epoch: i32,
        end_offset: i64,
    ) {
        if end_offset >= fetch_offset {
            if let Some(st) = self.parts.states.get_mut(tp) {
                st.last_epoch = Some(epoch).filter(|e| *e >= 0);
            }
            return;
        }
        let lost = fetch_offset - end_offset;
        if self.assign_ctx().reset == AutoOffsetReset::None {
            let e = Error::new(
                ErrorKind::Kafka(ResponseError::OffsetOutOfRange),
                "fetch",
                format!("log truncation on {tp}: the leader's log ends at offset {end_offset} where this consumer had read up to {fetch_offset} ({lost} records lost by an unclean leader election) and auto_offset_reset is none; seek to {end_offset} to read on, or set auto_offset_reset"),
            );
            self.emit(Event::Crash {
                group_id: self.config.group_id.clone(),
                error: e.to_string(),
            });
            self.fatal = Some(e);
            return;
        }
        let message = format!("log truncation on {tp}: the leader's log ends at offset {end_offset} where this consumer had read up to {fetch_offset}; {lost} records were lost from the log by an unclean leader election; reading on from {end_offset}");
        tracing::warn!(group = %self.config.group_id, "{message}");
        self.emit(Event::Warning { message });
        self.sync_progress();
        self.parts.truncate(tp, end_offset, epoch);
    }

    fn reset_offsets(&mut self, tps: Vec<TopicPartition>) {
        let reset = self.assign_ctx().reset;
        if reset == AutoOffsetReset::None {
            let e = Error::new(
                ErrorKind::Kafka(ResponseError::OffsetOutOfRange),
                "fetch",
                format!("offsets of {tps:?} are out of range and auto_offset_reset is none; seek to a valid offset or set auto_offset_reset"),
            );
            self.emit(Event::Crash {
                group_id: self.config.group_id.clone(),
                error: e.to_string(),
            });
            self.fatal = Some(e);
            return;
        }
        for tp in &tps {
            if let Some(st) = self.parts.states.get_mut(tp) {
                st.position = None;
            }
        }
        let kafka = self.kafka.clone();
        let read_committed = self.config.isolation_level == IsolationLevel::ReadCommitted;
        let ts = if reset == AutoOffsetReset::Earliest {
            offsets::EARLIEST
        } else {
            offsets::LATEST
        };
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            match offsets::list_offsets(&kafka, &tps, ts, read_committed).await {
                Ok(found) => {
                    let _ = tx.send(Internal::Reset(found.into_iter().collect()));
                }
                Err(e) => tracing::warn!(error = %e, "offset reset failed"),
            }
        });
    }

    // ---- delivery -----------------------------------------------------------------------

    /// Takes back the batches queued for a handler that is not reading (no `run`, stream
    /// dropped): they return to their partition's buffer, unprocessed.
    fn reclaim_unread(&mut self) {
        let Ok(mut rx) = self.delivery_rx.try_lock() else {
            return;
        };
        while let Ok(d) = rx.try_recv() {
            let tp = TopicPartition::new(d.batch.topic.to_string(), d.batch.partition);
            if let Some(st) = self.parts.states.get_mut(&tp) {
                if st.generation == d.generation {
                    st.in_process = false;
                    self.parts.buffered_bytes += d.batch.approx_bytes();
                    st.buffered.push_front(d.batch);
                }
            }
        }
    }

    fn deliver(&mut self) {
        if self.stopping.is_some() {
            return;
        }
        let revoking: BTreeSet<TopicPartition> = self
            .pending_revoke
            .as_ref()
            .map(|(_, t)| t.iter().cloned().collect())
            .unwrap_or_default();
        for (tp, st) in self.parts.states.iter_mut() {
            if st.in_process || st.paused || revoking.contains(tp) {
                continue;
            }
            let Some(batch) = st.buffered.pop_front() else {
                continue;
            };
            let bytes = batch.approx_bytes();
            let epoch = batch.messages.first().map_or(-1, |m| m.leader_epoch);
            let progress = Arc::new(std::sync::atomic::AtomicI64::new(-1));
            match self.delivery.try_send(Delivery {
                generation: st.generation,
                batch,
                progress: progress.clone(),
            }) {
                Ok(()) => {
                    st.in_process = true;
                    st.progress = Some((progress, epoch));
                    self.parts.buffered_bytes = self.parts.buffered_bytes.saturating_sub(bytes);
                }
                Err(mpsc::error::TrySendError::Full(d)) => {
                    st.buffered.push_front(d.batch);
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(d)) => {
                    st.buffered.push_front(d.batch);
                    return;
                }
            }
        }
    }
}

/// Everything a commit needs, detached from the engine so it can run in a task.
#[derive(Clone)]
struct CommitCtx {
    kafka: Kafka,
    group_id: String,
    member_id: String,
    epoch: i32,
    instance_id: Option<String>,
    /// Classic members fetch offsets without member id and epoch (those are KIP-848's).
    classic: bool,
    conn: Option<Connection>,
}

impl CommitCtx {
    async fn connection(&self) -> Result<Connection> {
        if let Some(c) = self.conn.as_ref().filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        let (_, conn) = connect_coordinator(
            &self.kafka,
            CoordinatorType::Group,
            &self.group_id,
            Lane::Group,
        )
        .await?;
        Ok(conn)
    }

    async fn commit(&self, offsets: Vec<(TopicPartition, i64, i32)>) -> Result<()> {
        let offsets: Vec<CommitOffset> = offsets
            .into_iter()
            .map(|(partition, offset, leader_epoch)| CommitOffset {
                partition,
                offset,
                leader_epoch,
            })
            .collect();
        let mut attempt = 0;
        loop {
            let res = async {
                let conn = self.connection().await?;
                let who = Committer {
                    group_id: &self.group_id,
                    member_id: &self.member_id,
                    epoch: self.epoch,
                    instance_id: self.instance_id.as_deref(),
                };
                offsets::commit(&conn, &who, &offsets).await
            }
            .await;
            match res {
                Err(e) if e.is_retriable() && attempt < 5 => {
                    attempt += 1;
                    tokio::time::sleep(self.kafka.config().retry.backoff(attempt)).await;
                }
                other => return other,
            }
        }
    }
}

/// Everything preparing an assignment needs (committed offsets, reset, hook).
struct AssignCtx {
    commit: CommitCtx,
    reset: AutoOffsetReset,
    read_committed: bool,
    hook: Option<RebalanceHook>,
}

impl AssignCtx {
    /// Committed offsets (or the reset policy's) of newly assigned partitions, each with the
    /// leader epoch the commit recorded, then the user's hook.
    async fn prepare(
        &self,
        tps: Vec<TopicPartition>,
    ) -> Result<Vec<(TopicPartition, i64, Option<i32>)>> {
        let kafka = &self.commit.kafka;
        let conn = self.commit.connection().await?;
        let (member_id, epoch) = if self.commit.classic {
            ("", -1)
        } else {
            (self.commit.member_id.as_str(), self.commit.epoch)
        };
        let who = Committer {
            group_id: &self.commit.group_id,
            member_id,
            epoch,
            instance_id: self.commit.instance_id.as_deref(),
        };
        let committed = offsets::fetch_committed(&conn, &who, &tps, true).await?;
        let mut positions = Vec::new();
        let mut need_reset = Vec::new();
        for tp in &tps {
            match committed.get(tp).copied().flatten() {
                Some((o, epoch)) => {
                    positions.push((tp.clone(), o, Some(epoch).filter(|e| *e >= 0)))
                }
                None => need_reset.push(tp.clone()),
            }
        }
        if !need_reset.is_empty() {
            let ts = match self.reset {
                AutoOffsetReset::Earliest => offsets::EARLIEST,
                AutoOffsetReset::Latest => offsets::LATEST,
                AutoOffsetReset::None => {
                    return Err(Error::new(
                        ErrorKind::Config,
                        "assign",
                        format!("no committed offset for {need_reset:?} and auto_offset_reset is none; commit offsets for the group or set auto_offset_reset"),
                    ))
                }
            };
            kafka
                .cluster()
                .track(need_reset.iter().map(|t| t.topic.clone()));
            let found = offsets::list_offsets(kafka, &need_reset, ts, self.read_committed).await?;
            positions.extend(found.into_iter().map(|(tp, o)| (tp, o, None)));
        }
        if let Some(h) = &self.hook {
            h(RebalanceKind::Assigned, tps).await.map_err(|e| {
                Error::new(ErrorKind::Handler, "partitions_assigned", e.to_string())
            })?;
        }
        Ok(positions)
    }
}

/// Numbers the classic members' coordinator sockets.
static NEXT_LANE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How often a classic pattern subscription looks for new matching topics.
const PATTERN_CHECK_INTERVAL: Duration = Duration::from_secs(3);

fn classic_member(config: &ConsumerConfig) -> ClassicMembership {
    ClassicMembership::new(ClassicConfig {
        group_id: config.group_id.clone(),
        instance_id: config.instance_id.clone(),
        rack_id: config.rack_id.clone(),
        session_timeout: config.session_timeout.unwrap_or(DEFAULT_SESSION_TIMEOUT),
        rebalance_timeout: config.rebalance_timeout,
        heartbeat_interval: config
            .heartbeat_interval
            .unwrap_or(DEFAULT_HEARTBEAT_INTERVAL),
        // Checked by `ConsumerConfig::validate` when the consumer was made.
        assigners: config.resolve_assigners().unwrap_or_default(),
    })
}

/// Topics whose whole name matches `pattern` (internal ones excluded).
async fn matching_topics(kafka: &Kafka, pattern: &str) -> Result<BTreeSet<String>> {
    let re = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
        Error::config(format!(
            "subscription pattern '{pattern}' is not a valid regular expression ({e}); fix the pattern"
        ))
    })?;
    let md = kafka
        .cluster()
        .refresh(crate::cluster::TopicSelection::All)
        .await?;
    Ok(md
        .topics
        .values()
        .filter(|t| !t.is_internal && re.is_match(&t.name))
        .map(|t| t.name.clone())
        .collect())
}

/// What a classic leader assigned, by member id.
type Assignments =
    std::collections::BTreeMap<String, super::group::classic::assignor::MemberAssignment>;

/// The topics the group subscribes to and the partition count of those that exist.
#[derive(Clone)]
struct TopicCounts {
    topics: BTreeSet<String>,
    counts: std::collections::BTreeMap<String, i32>,
}

async fn partition_counts(
    kafka: &Kafka,
    topics: &[String],
) -> Result<std::collections::BTreeMap<String, i32>> {
    let md = kafka
        .cluster()
        .refresh(crate::cluster::TopicSelection::Names(topics.to_vec()))
        .await?;
    Ok(topics
        .iter()
        .filter_map(|t| md.topic(t).map(|i| (t.clone(), i.partitions.len() as i32)))
        .collect())
}

/// Runs the group's assignor over the partition counts of every subscribed topic.
async fn compute_assignment(
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

async fn send_classic(
    conn: &Connection,
    req: ClassicRequest,
    timeout: Duration,
) -> Result<ClassicResponse> {
    // Fields newer than the negotiated version are left out (the encoder refuses them).
    Ok(match req {
        ClassicRequest::Join(mut r) => {
            let v = conn.version::<JoinGroupRequest>()?;
            if v < 5 {
                r.group_instance_id = None;
            }
            if v < 8 {
                r.reason = None;
            }
            ClassicResponse::Join(conn.send_timeout(&r, v, timeout).await?)
        }
        ClassicRequest::Sync(mut r) => {
            let v = conn.version::<SyncGroupRequest>()?;
            if v < 3 {
                r.group_instance_id = None;
            }
            if v < 5 {
                r.protocol_type = None;
                r.protocol_name = None;
            }
            ClassicResponse::Sync(conn.send_timeout(&r, v, timeout).await?)
        }
        ClassicRequest::Heartbeat(mut r) => {
            let v = conn.version::<HeartbeatRequest>()?;
            if v < 3 {
                r.group_instance_id = None;
            }
            ClassicResponse::Heartbeat(conn.send_version(&r, v).await?)
        }
        ClassicRequest::Leave(mut r) => {
            let v = conn.version::<LeaveGroupRequest>()?;
            // v0-2 name one member directly, v3+ list members.
            if v < 3 {
                if let Some(m) = r.members.pop() {
                    r.member_id = m.member_id;
                }
                r.members.clear();
            } else {
                r.member_id = Default::default();
                if v < 5 {
                    for m in &mut r.members {
                        m.reason = None;
                    }
                }
            }
            ClassicResponse::Leave(conn.send_version(&r, v).await?)
        }
    })
}

async fn send_heartbeat(
    conn: &Connection,
    req: &ConsumerGroupHeartbeatRequest,
    timeout: Duration,
) -> Result<ConsumerGroupHeartbeatResponse> {
    let version = conn.version::<ConsumerGroupHeartbeatRequest>()?;
    conn.send_timeout(req, version, timeout).await
}

/// The broker must speak ConsumerGroupHeartbeat v1 (Kafka 4.0+).
pub(crate) fn check_consumer_protocol(conn: &Connection) -> Result<()> {
    let key = 68;
    match conn.api_versions().range(key) {
        Some((_, max)) if max >= 1 => Ok(()),
        other => Err(Error::new(
            ErrorKind::Unsupported,
            "subscribe",
            format!(
                "the broker at {} does not support the consumer group protocol (KIP-848){}; use group protocol 'classic', or upgrade to Apache Kafka 4.0+ with group.coordinator.rebalance.protocols including 'consumer'",
                conn.addr(),
                match other {
                    Some((min, max)) => format!(" (it offers ConsumerGroupHeartbeat v{min}-v{max}, kafkit needs v1)"),
                    None => String::new(),
                }
            ),
        )),
    }
}

/// The wait before looking for the group coordinator again: it grows from 100 ms but stays
/// under a second (as the Java client's `retry.backoff.max.ms`), far inside the session
/// timeout, so a member finds the new coordinator soon after the group moves.
fn coordinator_backoff(attempt: u32) -> Duration {
    crate::retry::RetryPolicy {
        initial_retry_time: Duration::from_millis(100),
        max_retry_time: Duration::from_secs(1),
        ..crate::retry::RetryPolicy::default()
    }
    .backoff(attempt.saturating_sub(1))
}

async fn fetch_once(
    kafka: &Kafka,
    node: i32,
    config: &ConsumerConfig,
    targets: &[FetchTarget],
    budget: usize,
) -> Result<Vec<FetchedPartition>> {
    let conn = kafka.pool().get(node, Lane::Fetch).await?;
    let version = conn.version::<FetchRequest>()?;
    let req = fetcher::build_request(version, config, targets);
    let timeout = config.max_wait + kafka.config().request_timeout;
    let resp = conn.send_timeout(&req, version, timeout).await?;
    let names: HashMap<Uuid, String> = targets
        .iter()
        .map(|t| (t.topic_id, t.partition.topic.clone()))
        .collect();
    let offsets: HashMap<TopicPartition, i64> = targets
        .iter()
        .map(|t| (t.partition.clone(), t.position.offset))
        .collect();
    fetcher::parse_response(
        resp,
        &names,
        &offsets,
        config.isolation_level,
        &mut fetcher::Budget::new(budget, MAX_DECOMPRESSED),
    )
}
