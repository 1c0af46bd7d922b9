//! The group driver: finding the coordinator and keeping a connection to it, sending what the
//! membership state machine asks (ConsumerGroupHeartbeat, or the classic Join/Sync/Heartbeat/
//! Leave with fields the negotiated version lacks left out), feeding the answers back, the
//! KIP-848 → classic fallback, and a classic member's leader duties. Rebalance steps the
//! membership asks for go back to the engine.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

use tokio::time::Instant;
use uuid::Uuid;

use super::super::config::{
    ConsumerConfig, GroupProtocol, DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_SESSION_TIMEOUT,
};
use super::commits::CommitCtx;
use super::group_io::{check_consumer_protocol, send_classic, send_heartbeat};
use super::report::Internal;
use super::Ctx;
use crate::cluster::coordinator::connect_coordinator;
use crate::cluster::CoordinatorType;
use crate::error::{Error, ErrorKind, ResponseError, Result};
use crate::events::Event;
use crate::groups::consumer::classic::leader::{self, LeaderChecks};
use crate::groups::consumer::classic::{ClassicConfig, ClassicKind, ClassicMembership};
use crate::groups::consumer::kip848::{Kip848Config, Kip848Membership};
use crate::groups::consumer::{
    Action, ConsumerMembership, GroupRequest, GroupResponse, Subscription,
};
use crate::groups::coordinator::CoordinatorLookup;
use crate::net::{Connection, Lane};

/// What the engine must do about an action the driver does not own.
pub(super) enum Handoff {
    /// A rebalance step: revoke, assign or lose partitions.
    Rebalance(Action),
    /// The consumer cannot go on.
    Fatal(Error),
}

pub(super) struct GroupDriver {
    membership: Box<dyn ConsumerMembership>,
    /// This member's own coordinator socket under the classic protocol.
    lane: Lane,
    /// The subscription asked for (kept for a fallback to classic and pattern re-checks).
    subscription: Option<Subscription>,
    coordinator: CoordinatorLookup,
    /// A KIP-848 heartbeat is out (one at a time).
    heartbeat_in_flight: bool,
    /// Test support: no heartbeat until then.
    heartbeats_suspended_until: Option<Instant>,
    /// A join answered at least once (no fallback to classic after that).
    joined: bool,
    /// The coordinator answered a group request at least once.
    answered: bool,
    leader: LeaderChecks,
    /// Published member id (classic ids come from the coordinator).
    member_id_out: Arc<Mutex<String>>,
    /// Published member epoch (read by `Consumer::group_metadata`).
    epoch_out: Arc<AtomicI32>,
}

impl GroupDriver {
    pub fn new(
        config: &ConsumerConfig,
        member_id: String,
        epoch_out: Arc<AtomicI32>,
        member_id_out: Arc<Mutex<String>>,
    ) -> Self {
        let membership: Box<dyn ConsumerMembership> = match config.group_protocol {
            GroupProtocol::Consumer => Box::new(Kip848Membership::new(Kip848Config {
                group_id: config.group_id.clone(),
                member_id,
                instance_id: config.instance_id.clone(),
                rack_id: config.rack_id.clone(),
                rebalance_timeout: config.rebalance_timeout,
                server_assignor: config.remote_assignor.clone(),
            })),
            GroupProtocol::Classic => Box::new(classic_member(config)),
        };
        GroupDriver {
            membership,
            lane: Lane::private(),
            subscription: None,
            coordinator: CoordinatorLookup::default(),
            heartbeat_in_flight: false,
            heartbeats_suspended_until: None,
            joined: false,
            answered: false,
            leader: LeaderChecks::default(),
            member_id_out,
            epoch_out,
        }
    }

    pub fn membership(&mut self) -> &mut dyn ConsumerMembership {
        self.membership.as_mut()
    }

    pub fn is_subscribed(&self) -> bool {
        self.subscription.is_some()
    }

    /// The coordinator answered a group request at least once.
    pub fn answered(&self) -> bool {
        self.answered
    }

    /// The member's current epoch (generation under the classic protocol).
    pub fn epoch(&self) -> i32 {
        self.membership.member_epoch()
    }

    /// The member's assignment is changing.
    pub fn is_rebalancing(&self) -> bool {
        self.membership.is_rebalancing()
    }

    pub fn is_classic(&self) -> bool {
        self.membership.is_classic()
    }

    /// The protocol in use now (classic after a fallback).
    fn protocol(&self) -> GroupProtocol {
        if self.is_classic() {
            GroupProtocol::Classic
        } else {
            GroupProtocol::Consumer
        }
    }

    /// This member's classic socket, closed when the engine ends.
    pub fn classic_lane(&self) -> Option<Lane> {
        self.is_classic().then_some(self.lane)
    }

    pub fn suspend_heartbeats(&mut self, until: Instant) {
        self.heartbeats_suspended_until = Some(until);
    }

    /// Everything a commit needs now (the coordinator connection when it may carry commits).
    pub fn commit_ctx(&self, ctx: &Ctx<'_>) -> CommitCtx {
        let classic = self.membership.is_classic();
        CommitCtx {
            kafka: ctx.kafka.clone(),
            group_id: ctx.config.group_id.clone(),
            member_id: self.membership.member_id().to_string(),
            epoch: self.membership.member_epoch(),
            instance_id: ctx.config.instance_id.clone(),
            classic,
            // A classic member's own socket may hold its JoinGroup for a while: offsets go
            // on the shared group socket instead.
            conn: self.coordinator.known().filter(|_| !classic).cloned(),
            live: Some(ctx.report.clone()),
        }
    }

    /// The member's standing as its commits see it: its epoch and the partitions it owns.
    pub fn standing(&self) -> super::report::Standing {
        super::report::Standing {
            epoch: self.membership.member_epoch(),
            owned: self.membership.owned_partitions(),
        }
    }

    /// Makes the member id and epoch visible to the consumer handle.
    pub fn publish(&self) {
        self.epoch_out
            .store(self.membership.member_epoch(), Ordering::Release);
        if let Ok(mut id) = self.member_id_out.lock() {
            if id.as_str() != self.membership.member_id() {
                *id = self.membership.member_id().to_string();
            }
        }
    }

    /// A new subscription.
    pub fn subscribe(&mut self, ctx: &Ctx<'_>, subscription: Subscription, now: Instant) {
        self.subscription = Some(subscription.clone());
        self.apply_subscription(ctx, subscription, now);
    }

    /// Hands a subscription to the membership; a classic member gets a pattern as the topic
    /// names that match it now (and again every few seconds).
    fn apply_subscription(&mut self, ctx: &Ctx<'_>, subscription: Subscription, now: Instant) {
        match subscription {
            Subscription::Topics(names) => {
                self.leader.stop_pattern();
                ctx.kafka.cluster().track(names.iter().cloned());
                self.membership
                    .subscribe(Subscription::Topics(names), now.into());
            }
            // Resolved by `check_pattern`, now and every few seconds.
            Subscription::Pattern(_) if self.membership.is_classic() => {
                self.leader.watch_pattern(now);
            }
            sub => self.membership.subscribe(sub, now.into()),
        }
    }

    /// Sends what the membership asks now, or looks for the coordinator; starts the classic
    /// leader's lookups that are due.
    pub fn drive(&mut self, ctx: &Ctx<'_>, now: Instant) {
        self.check_pattern(ctx, now);
        self.check_leader_counts(ctx, now);
        if self.subscription.is_none() {
            return;
        }
        match self.coordinator.known() {
            Some(conn) => {
                // The KIP-848 member has one heartbeat out at a time; the classic one
                // gates its own requests (a LeaveGroup may follow a JoinGroup in flight).
                if (self.heartbeat_in_flight && !self.membership.is_classic())
                    || self.heartbeats_suspended_until.is_some_and(|u| u > now)
                {
                    return;
                }
                let Some(req) = self.membership.poll_request(now.into()) else {
                    return;
                };
                let conn = conn.clone();
                match req {
                    GroupRequest::Consumer(req) => {
                        self.heartbeat_in_flight = true;
                        let timeout = self
                            .membership
                            .request_timeout(None, ctx.kafka.config().request_timeout);
                        let group = ctx.config.group_id.clone();
                        ctx.report.spawn(async move {
                            let started = Instant::now();
                            let res = send_heartbeat(&conn, &req, timeout).await;
                            crate::metrics::heartbeat_done(&group, "consumer", started.elapsed());
                            Internal::Group(None, res.map(GroupResponse::Consumer))
                        });
                    }
                    GroupRequest::Classic(req) => {
                        let kind = req.kind();
                        let timeout = self
                            .membership
                            .request_timeout(Some(kind), ctx.kafka.config().request_timeout);
                        let group = ctx.config.group_id.clone();
                        ctx.report.spawn(async move {
                            let started = Instant::now();
                            let res = send_classic(&conn, req, timeout).await;
                            if kind == ClassicKind::Heartbeat {
                                crate::metrics::heartbeat_done(
                                    &group,
                                    "classic",
                                    started.elapsed(),
                                );
                            }
                            Internal::Group(Some(kind), res.map(GroupResponse::Classic))
                        });
                    }
                }
            }
            None => {
                if !self.coordinator.start(now) {
                    return;
                }
                let kafka = ctx.kafka.clone();
                let group = ctx.config.group_id.clone();
                let kip848 = !self.membership.is_classic();
                let lane = if kip848 { Lane::Group } else { self.lane };
                ctx.report.spawn(async move {
                    let res = async {
                        let (node, conn) =
                            connect_coordinator(kafka.pool(), CoordinatorType::Group, &group, lane)
                                .await?;
                        if kip848 {
                            check_consumer_protocol(&conn)?;
                        }
                        Ok((node, conn))
                    }
                    .await;
                    Internal::Coordinator(res)
                });
            }
        }
    }

    /// The earliest time the driver has something to do.
    pub fn next_deadline(&self, now: Instant) -> Option<Instant> {
        [
            self.membership.next_deadline().map(Into::into),
            self.coordinator.next_deadline(),
            self.leader.next_deadline(),
            self.heartbeats_suspended_until.filter(|u| *u > now),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Handles an action of the membership; those the engine owns come back.
    pub fn on_action(&mut self, ctx: &Ctx<'_>, action: Action, now: Instant) -> Option<Handoff> {
        match action {
            Action::ResolveTopicIds(ids, wait) => {
                let kafka = ctx.kafka.clone();
                ctx.report.spawn(async move {
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                    let res = kafka.cluster().resolve_topic_ids(&ids).await;
                    Internal::TopicNames(ids, res)
                });
            }
            Action::Revoke(_) | Action::Assign(_) | Action::Lost(_) => {
                return Some(Handoff::Rebalance(action));
            }
            Action::Joined {
                member_id,
                epoch,
                assignment,
                duration,
                leader_id,
            } => {
                self.joined = true;
                let is_leader = leader_id.as_deref() == Some(member_id.as_str());
                ctx.kafka.emit(Event::GroupJoin {
                    group_id: ctx.config.group_id.clone(),
                    member_id,
                    member_epoch: epoch,
                    group_protocol: self.protocol(),
                    assignment,
                    duration,
                    leader_id,
                    is_leader,
                });
            }
            Action::HeartbeatEvent {
                epoch,
                added,
                removed,
            } => ctx.kafka.emit(Event::Heartbeat {
                group_id: ctx.config.group_id.clone(),
                member_id: self.membership.member_id().to_string(),
                member_epoch: epoch,
                group_protocol: self.protocol(),
                added,
                removed,
            }),
            // Some brokers list ConsumerGroupHeartbeat but refuse it when the consumer
            // protocol is off.
            Action::Fatal(e)
                if ctx.config.fallback_to_classic
                    && !self.membership.is_classic()
                    && !self.joined
                    && e.kafka_error() == Some(ResponseError::UnsupportedVersion) =>
            {
                self.fall_back_to_classic(ctx, &e, now)
            }
            Action::Fatal(e) => {
                tracing::error!(group = %ctx.config.group_id, error = %e, "consumer group error");
                return Some(Handoff::Fatal(e));
            }
            Action::Warn(e) => {
                tracing::warn!(group = %ctx.config.group_id, error = %e, "consumer group warning");
                ctx.kafka.emit(Event::Warning {
                    message: e.to_string(),
                });
            }
            Action::FindCoordinator => self.coordinator.lost(now),
            Action::ComputeAssignment(job) => {
                let kafka = ctx.kafka.clone();
                ctx.report.spawn(async move {
                    let generation = job.generation;
                    let res = leader::compute_assignment(&kafka, job).await;
                    Internal::AssignmentComputed(generation, res)
                });
            }
            Action::Left => {}
        }
        None
    }

    /// A lookup of topic ids ended: the membership learns the names (and paces the next
    /// lookup of those still unknown).
    pub fn on_topic_names(
        &mut self,
        ids: &[Uuid],
        res: Result<HashMap<Uuid, String>>,
        now: Instant,
    ) {
        let names = res.unwrap_or_else(|e| {
            tracing::debug!(error = %e, "resolving topic ids failed; retrying");
            Default::default()
        });
        self.membership.on_topic_names(ids, &names, now.into_std());
    }

    /// The coordinator answered a group request, or the request failed.
    pub fn on_group_answer(
        &mut self,
        kind: Option<ClassicKind>,
        res: Result<GroupResponse>,
        now: Instant,
    ) {
        if kind.is_none() {
            self.heartbeat_in_flight = false;
        }
        self.answered = true;
        match res {
            Ok(resp) => self.membership.on_response(resp, now.into()),
            Err(e) => {
                tracing::debug!(error = %e, ?kind, "group request failed");
                if matches!(e.kind(), ErrorKind::Connection | ErrorKind::Timeout(_)) {
                    self.coordinator.disconnected();
                }
                self.membership.on_failed(kind, &e, now.into());
            }
        }
    }

    /// The coordinator lookup ended. Returns an error the consumer cannot go on with.
    pub fn on_coordinator(
        &mut self,
        ctx: &Ctx<'_>,
        res: Result<(i32, Connection)>,
        now: Instant,
    ) -> Option<Error> {
        match res {
            Ok((node, conn)) => {
                tracing::debug!(node, group = %ctx.config.group_id, "group coordinator found");
                self.coordinator.found(conn);
            }
            Err(e)
                if e.kind() == &ErrorKind::Unsupported
                    && ctx.config.fallback_to_classic
                    && !self.membership.is_classic() =>
            {
                self.fall_back_to_classic(ctx, &e, now)
            }
            Err(e) if e.kind() == &ErrorKind::Unsupported => return Some(e),
            Err(e) => {
                tracing::debug!(error = %e, "finding the group coordinator failed");
                if self.coordinator.failed(&e, now) {
                    super::waits::say(
                        ctx.kafka,
                        ctx.config,
                        format!("the group coordinator cannot be found ({e}); the member keeps looking for it, for as long as it runs"),
                    );
                }
            }
        }
        None
    }

    /// The broker lacks KIP-848 and the user opted in: go on as a classic member.
    fn fall_back_to_classic(&mut self, ctx: &Ctx<'_>, e: &Error, now: Instant) {
        let msg =
            format!("{e}; falling back to the classic group protocol as fallback_to_classic asks");
        tracing::warn!(group = %ctx.config.group_id, "{msg}");
        ctx.kafka.emit(Event::Warning { message: msg });
        self.membership = Box::new(classic_member(ctx.config));
        self.coordinator.reset();
        self.heartbeat_in_flight = false;
        if let Some(sub) = self.subscription.clone() {
            self.apply_subscription(ctx, sub, now);
        }
    }

    // ---- classic leader duties --------------------------------------------------------

    fn check_pattern(&mut self, ctx: &Ctx<'_>, now: Instant) {
        let Some(Subscription::Pattern(pattern)) = &self.subscription else {
            return;
        };
        if !self.membership.is_classic() || !self.leader.pattern_due(now) {
            return;
        }
        let pattern = pattern.clone();
        let kafka = ctx.kafka.clone();
        ctx.report.spawn(async move {
            let res = leader::matching_topics(&kafka, &pattern).await;
            Internal::PatternTopics(pattern, res)
        });
    }

    /// The classic pattern lookup ended. Returns an error the consumer cannot go on with (a
    /// pattern that is not a regular expression).
    pub fn on_pattern_topics(
        &mut self,
        ctx: &Ctx<'_>,
        pattern: String,
        res: Result<std::collections::BTreeSet<String>>,
        now: Instant,
    ) -> Option<Error> {
        self.leader.pattern_done(now);
        match res {
            Ok(topics) if self.subscription == Some(Subscription::Pattern(pattern)) => {
                ctx.kafka.cluster().track(topics.iter().cloned());
                self.membership
                    .subscribe(Subscription::Topics(topics), now.into());
            }
            Ok(_) => {}
            Err(e) if e.kind() == &ErrorKind::Config => return Some(e),
            Err(e) => {
                tracing::debug!(error = %e, "listing topics for the pattern failed; retrying")
            }
        }
        None
    }

    /// Classic leader: look again at the partition counts the assignment used.
    fn check_leader_counts(&mut self, ctx: &Ctx<'_>, now: Instant) {
        let Some((generation, counts)) = self.leader.counts_due(now, self.epoch()) else {
            return;
        };
        let kafka = ctx.kafka.clone();
        ctx.report.spawn(async move {
            Internal::CountsChecked(leader::counts_changed(&kafka, generation, &counts).await)
        });
    }

    /// The leader's assignment for `generation` was computed.
    pub fn on_assignment_computed(
        &mut self,
        generation: i32,
        res: Result<(leader::Assignments, leader::TopicCounts)>,
        now: Instant,
    ) {
        let res = res.map(|(assignments, counts)| {
            self.leader.assigned(generation, counts, now);
            assignments
        });
        self.membership
            .on_assignment_computed(generation, res, now.into())
    }

    /// The leader's count check ended: rebalance if the subscribed topics grew.
    pub fn on_counts_checked(&mut self, ctx: &Ctx<'_>, changed: Option<i32>, now: Instant) {
        if self.leader.counts_done(changed, self.epoch(), now) {
            tracing::info!(group = %ctx.config.group_id, "subscribed topics changed (partitions or topics added); rebalancing");
            self.membership.request_rejoin(now.into());
        }
    }
}

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
