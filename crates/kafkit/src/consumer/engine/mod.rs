//! The consumer engine: one task that owns a consumer's state and reacts to the handle's
//! commands, to timers and to what its tasks report. Each piece of state has one owner:
//!
//! - [`session`]: the coordinator, the membership state machine and the requests it asks for;
//! - [`rebalance`]: revoke → commit → hook → acknowledge, assign, lost;
//! - [`commits`]: the handler's progress and auto-commit;
//! - [`fetching`]: fetch planning and what a fetch answer does to each partition;
//! - [`delivery`]: batches to the handler and back;
//! - the partitions themselves (`partitions.rs`), which all of them read.
//!
//! Slow work (hooks, lookups, requests) runs in tasks that report back ([`report`]), so
//! heartbeats never wait behind the handler or a long poll.

mod commits;
mod delivery;
mod fetching;
mod group_io;
mod rebalance;
mod report;
mod session;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::config::{AutoOffsetReset, ConsumerConfig, IsolationLevel};
use super::group::{Action, Subscription};
use super::partitions::Partitions;
use super::run::MemberStatus;
use super::subscription::FromBeginning;
use crate::error::{Error, Result};
use crate::events::{Event, TopicPartition};
use crate::Kafka;
use commits::Commits;
use delivery::Deliveries;
use fetching::Fetching;
use rebalance::{AssignCtx, Assigned, Rebalance};
use report::{Internal, Reporter};
use session::{GroupSession, Step};

pub(crate) use delivery::Delivery;
pub(crate) use group_io::check_consumer_protocol;
pub(crate) use rebalance::{Hooks, SharedHooks};
pub use rebalance::{RebalanceHook, RebalanceKind};

/// Requests from the consumer handle and the run loop.
pub(crate) enum Command {
    Subscribe {
        subscription: Subscription,
        from_beginning: FromBeginning,
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
    /// A batch handler's `heartbeat()`: the member's standing (the loop runs a classic
    /// heartbeat that is due as it handles the command).
    Heartbeat {
        tp: TopicPartition,
        reply: oneshot::Sender<MemberStatus>,
    },
    /// `commit_offsets_if_necessary`: commit what was processed if auto-commit is due (or off).
    CommitIfNecessary(oneshot::Sender<Result<()>>),
    /// The handler was stalled past max_poll_interval: leave, and rejoin when called again.
    Stale,
    Rejoin,
    Stop(oneshot::Sender<Result<()>>),
    /// Test support: end without leaving the group (as a crashed process would).
    Abort,
    /// Test support: send no heartbeat until then (as a frozen process would).
    SuspendHeartbeats(Instant),
}

/// What every owner may use: the client, the consumer's settings, and the way to start a
/// task that reports back.
struct Ctx<'a> {
    pub kafka: &'a Kafka,
    pub config: &'a ConsumerConfig,
    pub report: &'a Reporter,
}

pub(crate) struct Engine {
    kafka: Kafka,
    config: ConsumerConfig,
    report: Reporter,
    internal_rx: mpsc::UnboundedReceiver<Internal>,
    commands: mpsc::UnboundedReceiver<Command>,
    session: GroupSession,
    rebalance: Rebalance,
    commits: Commits,
    fetching: Fetching,
    deliveries: Deliveries,
    parts: Partitions,
    /// `subscribe(.., from_beginning)`: which topics without a committed offset start at the
    /// earliest one.
    from_beginning: FromBeginning,
    /// `subscribe` waits for the first coordinator answer, so a broker that refuses the
    /// protocol fails the subscribe itself.
    subscribe_reply: Option<oneshot::Sender<Result<()>>>,
    stopping: Option<oneshot::Sender<Result<()>>>,
    fatal: Option<Error>,
    exit: bool,
}

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
        hooks: SharedHooks,
        delivery: mpsc::Sender<Delivery>,
        delivery_rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Delivery>>>,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> Self {
        let (report, internal_rx) = Reporter::new();
        let rebalance = Rebalance::new(hooks).for_group(&config.group_id);
        Engine {
            session: GroupSession::new(&config, member_id, epoch_out, member_id_out),
            kafka,
            config,
            report,
            internal_rx,
            commands,
            rebalance,
            commits: Commits::new(Instant::now()),
            fetching: Fetching::default(),
            deliveries: Deliveries::new(delivery, delivery_rx),
            parts: Partitions::default(),
            from_beginning: FromBeginning::default(),
            subscribe_reply: None,
            stopping: None,
            fatal: None,
            exit: false,
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
        if let Some(lane) = self.session.classic_lane() {
            self.kafka
                .pool()
                .close_lane(lane, Duration::from_secs(1))
                .await;
        }
        self.kafka.emit(Event::Stop {
            group_id: self.config.group_id.clone(),
        });
        self.fatal.clone()
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            kafka: &self.kafka,
            config: &self.config,
            report: &self.report,
        }
    }

    fn finished(&mut self) -> bool {
        if let Some(reply) = self.subscribe_reply.take() {
            match &self.fatal {
                Some(e) => {
                    let _ = reply.send(Err(e.clone()));
                }
                None if self.session.answered() || self.exit || self.stopping.is_some() => {
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
        if self.stopping.is_some() && self.session.membership().has_left() {
            if let Some(reply) = self.stopping.take() {
                let _ = reply.send(Ok(()));
            }
            return true;
        }
        false
    }

    /// Stops the consumer on an error it cannot go on with.
    fn crash(&mut self, e: Error) {
        self.kafka.emit(Event::Crash {
            group_id: self.config.group_id.clone(),
            error: e.to_string(),
        });
        self.fatal = Some(e);
    }

    /// Everything that may be done now without waiting.
    fn step(&mut self, now: Instant) {
        self.commits.sync_progress(&mut self.parts);
        self.finish_revoke();
        self.drive_membership(now);
        self.session.publish();
        if self.stopping.is_none() {
            let revoking = self.rebalance.revoking();
            self.deliveries.deliver(&mut self.parts, &revoking);
            let ctx = Ctx {
                kafka: &self.kafka,
                config: &self.config,
                report: &self.report,
            };
            self.fetching.start(&ctx, &self.parts, &revoking, now);
        }
        self.maybe_auto_commit(now);
    }

    fn next_deadline(&self, now: Instant) -> Instant {
        [
            Some(now + Duration::from_secs(1)),
            self.session.next_deadline(now),
            self.commits.next_deadline(&self.config),
            self.fetching.next_deadline(&self.parts),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(now)
        .max(now + Duration::from_millis(1))
    }

    /// Runs what the membership asks, then sends its requests.
    fn drive_membership(&mut self, now: Instant) {
        while let Some(action) = self.session.membership().poll_action() {
            let ctx = Ctx {
                kafka: &self.kafka,
                config: &self.config,
                report: &self.report,
            };
            match self.session.on_action(&ctx, action, now) {
                None => {}
                Some(Step::Fatal(e)) => self.crash(e),
                Some(Step::Rebalance(action)) => self.on_rebalance(action),
            }
        }
        let ctx = Ctx {
            kafka: &self.kafka,
            config: &self.config,
            report: &self.report,
        };
        self.session.drive(&ctx, now);
    }

    fn on_rebalance(&mut self, action: Action) {
        match action {
            Action::Revoke(tps) => {
                self.kafka.emit(Event::Rebalancing {
                    group_id: self.config.group_id.clone(),
                    member_id: self.session.membership().member_id().to_string(),
                });
                // The handler learns at once (`is_stale`) and can return early.
                self.parts.make_obsolete(&tps);
                self.rebalance.revoke(tps);
                self.finish_revoke();
            }
            Action::Assign(tps) => {
                let ctx = self.assign_ctx();
                self.rebalance.assign(&self.report, ctx, tps);
            }
            Action::Lost(tps) => self.rebalance.lose(&self.report, &mut self.parts, tps),
            _ => {}
        }
    }

    fn finish_revoke(&mut self) {
        let ctx = self.ctx();
        let commit = self
            .config
            .auto_commit
            .then(|| self.session.commit_ctx(&ctx));
        self.rebalance
            .maybe_finish_revoke(&self.report, &mut self.parts, &self.deliveries, || commit);
    }

    /// The policy for offsets out of range: a subscription from the beginning turns "latest"
    /// into "earliest". (Where a partition without a committed offset starts is decided per
    /// topic, in `AssignCtx::prepare`.)
    fn reset_policy(&self) -> AutoOffsetReset {
        if self.from_beginning.any() && self.config.auto_offset_reset == AutoOffsetReset::Latest {
            AutoOffsetReset::Earliest
        } else {
            self.config.auto_offset_reset
        }
    }

    fn assign_ctx(&self) -> AssignCtx {
        AssignCtx {
            commit: self.session.commit_ctx(&self.ctx()),
            reset: self.config.auto_offset_reset,
            from_beginning: self.from_beginning.clone(),
            read_committed: self.config.isolation_level == IsolationLevel::ReadCommitted,
            hook: self.rebalance.hooks().assigned,
        }
    }

    fn maybe_auto_commit(&mut self, now: Instant) {
        let joined = self.session.epoch() > 0;
        if !self.commits.auto_commit_due(&self.config, joined, now) {
            return;
        }
        let offsets = self.parts.uncommitted();
        if !offsets.is_empty() {
            let ctx = self.session.commit_ctx(&self.ctx());
            commits::spawn_commit(&self.report, ctx, offsets, None);
        }
    }

    fn on_internal(&mut self, msg: Internal) {
        let now = Instant::now();
        let ctx = Ctx {
            kafka: &self.kafka,
            config: &self.config,
            report: &self.report,
        };
        match msg {
            Internal::Group(kind, res) => self.session.on_group_answer(kind, res, now),
            Internal::AssignmentComputed(generation, res) => {
                self.session.on_assignment_computed(generation, res, now)
            }
            Internal::CountsChecked(changed) => self.session.on_counts_checked(&ctx, changed, now),
            Internal::PatternTopics(pattern, res) => {
                if let Some(e) = self.session.on_pattern_topics(&ctx, pattern, res, now) {
                    self.crash(e);
                }
            }
            Internal::Coordinator(res) => {
                if let Some(e) = self.session.on_coordinator(&ctx, res, now) {
                    self.crash(e);
                }
            }
            Internal::TopicNames(ids, res) => {
                let names = res.unwrap_or_else(|e| {
                    tracing::debug!(error = %e, "resolving topic ids failed; retrying on the next heartbeat");
                    Default::default()
                });
                self.session.membership().on_topic_names(&ids, &names);
            }
            Internal::Fetched(answer) => {
                let reset = self.reset_policy();
                let ctx = Ctx {
                    kafka: &self.kafka,
                    config: &self.config,
                    report: &self.report,
                };
                if let Some(e) = self
                    .fetching
                    .on_fetched(&ctx, &mut self.parts, answer, reset, now)
                {
                    self.crash(e);
                }
            }
            Internal::Revoked(generation) => {
                if self.rebalance.is_current(generation) {
                    self.session.membership().on_revoked(now.into());
                }
            }
            Internal::Assigned(generation, res) => {
                let retry_ctx = self.assign_ctx();
                let assigning = self.session.membership().assigning().to_vec();
                match self.rebalance.on_assigned(
                    &self.report,
                    &mut self.parts,
                    generation,
                    res,
                    || (retry_ctx, assigning),
                ) {
                    Assigned::Ready => self.session.membership().on_assigned(now.into()),
                    Assigned::Fatal(e) => self.fatal = Some(e),
                    Assigned::Stale | Assigned::Retrying => {}
                }
            }
            Internal::Reset(res) => self.fetching.on_reset(&mut self.parts, res, now),
            Internal::Lost(generation) => {
                if self.rebalance.is_current(generation) {
                    self.session.membership().on_lost_handled(now.into());
                }
            }
            Internal::Committed {
                offsets,
                result,
                reply,
            } => commits::on_committed(
                &self.kafka,
                &self.config.group_id,
                &mut self.parts,
                offsets,
                result,
                reply,
            ),
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
                let ctx = Ctx {
                    kafka: &self.kafka,
                    config: &self.config,
                    report: &self.report,
                };
                self.session.subscribe(&ctx, subscription, now);
                if self.session.answered() {
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
                self.commits.sync_progress(&mut self.parts);
                let offsets = match offsets {
                    Some(o) => o.into_iter().map(|(tp, off)| (tp, off, -1)).collect(),
                    None => self.parts.uncommitted(),
                };
                let ctx = self.session.commit_ctx(&self.ctx());
                commits::spawn_commit(&self.report, ctx, offsets, Some(reply));
            }
            Command::Processed {
                tp,
                generation,
                next,
                done,
            } => {
                self.commits.sync_progress(&mut self.parts);
                if let Some(st) = self.parts.states.get_mut(&tp) {
                    if done {
                        st.progress = None;
                        st.in_process = false;
                    }
                    if st.generation == generation {
                        if let Some(n) = next {
                            let from = st.processed.map(|(o, _)| o).or(st.committed);
                            if from.is_none_or(|o| n.0 > o) {
                                st.processed = Some(n);
                                self.commits
                                    .processed(from.map_or(1, |o| (n.0 - o) as usize));
                            }
                        }
                    }
                }
                self.finish_revoke();
            }
            Command::Assignment(reply) => {
                let _ = reply.send(self.parts.states.keys().cloned().collect());
            }
            Command::Heartbeat { tp, reply } => {
                let revoking = self.rebalance.revoking();
                let member = self.session.membership();
                let _ = reply.send(MemberStatus {
                    member_epoch: member.member_epoch(),
                    rebalancing: member.is_rebalancing() || !revoking.is_empty(),
                    assigned: self.parts.states.contains_key(&tp) && !revoking.contains(&tp),
                });
            }
            Command::CommitIfNecessary(reply) => {
                self.commits.sync_progress(&mut self.parts);
                let joined = self.session.epoch() > 0;
                let due = !self.config.auto_commit
                    || self.commits.auto_commit_due(&self.config, joined, now);
                let offsets = self.parts.uncommitted();
                if !due || offsets.is_empty() {
                    let _ = reply.send(Ok(()));
                } else {
                    let ctx = self.session.commit_ctx(&self.ctx());
                    commits::spawn_commit(&self.report, ctx, offsets, Some(reply));
                }
            }
            Command::Stale => {
                tracing::warn!(group = %self.config.group_id, "handler exceeded max_poll_interval: leaving the group until it returns");
                self.session.membership().on_poll_stale(now.into());
            }
            Command::Rejoin => self.session.membership().rejoin(now.into()),
            Command::Stop(reply) => self.begin_stop(reply),
            Command::Abort => self.exit = true,
            Command::SuspendHeartbeats(until) => self.session.suspend_heartbeats(until),
        }
    }

    fn begin_stop(&mut self, reply: oneshot::Sender<Result<()>>) {
        if !self.session.is_subscribed() {
            // Never joined: nothing to leave.
            let _ = reply.send(Ok(()));
            self.exit = true;
            return;
        }
        self.stopping = Some(reply);
        self.session.membership().leave(Instant::now().into());
    }
}
