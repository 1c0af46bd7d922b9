//! The consumer engine: one task that owns a consumer's state and reacts to the handle's
//! commands, to timers and to what its tasks report. Each piece of state has one owner:
//!
//! - [`group_driver`]: the coordinator, the membership state machine and the requests it asks
//!   for (absent in a consumer of assigned partitions, whose partitions [`manual`] owns);
//! - [`rebalance`]: revoke → commit → hook → acknowledge, assign, lost;
//! - [`commits`]: the handler's progress and auto-commit;
//! - [`fetching`]: fetch planning and what a fetch answer does to each partition;
//! - [`delivery`]: batches to the handler and back;
//! - [`waits`]: what the consumer waits for, said once per cause;
//! - the partitions themselves ([`partitions`]), which all of them read.
//!
//! The handle's commands are dispatched in [`commands`].
//!
//! Slow work (hooks, lookups, requests) runs in tasks that report back ([`report`]), so
//! heartbeats never wait behind the handler or a long poll.

mod commands;
mod commits;
mod delivery;
mod fetching;
mod group_driver;
mod group_io;
mod manual;
mod pacing;
pub(crate) mod partitions;
mod rebalance;
mod report;
pub use commands::MemberStatus;
mod waits;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::config::{AutoOffsetReset, ConsumerConfig, IsolationLevel};
use super::subscription::FromBeginning;
use crate::engine_loop::{self, Inbox, Turns};
use crate::error::{Error, Result};
use crate::events::{Event, TopicPartition};
use crate::groups::consumer::{Action, Subscription};
use crate::Kafka;
use commits::{CommitCtx, Commits};
use delivery::Deliveries;
use fetching::Fetching;
use group_driver::{GroupDriver, Handoff};
use manual::Manual;
use partitions::Partitions;
use rebalance::{AssignCtx, Assigned, Rebalance};
use report::{Internal, Reporter};
use waits::Waits;

pub(crate) use delivery::Delivery;
pub(crate) use group_io::check_consumer_protocol;
pub(crate) use partitions::InHand;
pub(crate) use rebalance::{Hooks, SharedHooks};
pub use rebalance::{RebalanceHook, RebalanceKind};

/// Requests from the consumer handle and the run loop.
pub(crate) enum Command {
    Subscribe {
        subscription: Subscription,
        from_beginning: FromBeginning,
        reply: oneshot::Sender<Result<()>>,
    },
    /// A consumer of assigned partitions: these are its partitions now.
    Assign {
        partitions: Vec<TopicPartition>,
        reply: oneshot::Sender<Result<()>>,
    },
    Pause(Vec<TopicPartition>, bool),
    Seek(TopicPartition, i64),
    /// A seek to the earliest or latest offset, which the engine looks up as for a partition
    /// without a committed offset.
    SeekReset(TopicPartition, crate::consumer::config::AutoOffsetReset),
    /// The next offset the application gets from each partition (`None`: not assigned, or
    /// its start is still being looked up).
    Position(
        Vec<TopicPartition>,
        oneshot::Sender<Vec<(TopicPartition, Option<i64>)>>,
    ),
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
    /// Taken by the loop when it starts (`engine_loop.rs`).
    inbox: Option<Inbox<Command, Internal>>,
    /// The group membership; `None` in a consumer of assigned partitions.
    group: Option<GroupDriver>,
    /// The assigned partitions of a consumer without a session.
    manual: Manual,
    waits: Waits,
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
    /// Where the fatal error is left for a run or stream (set before the delivery queue
    /// closes, so the handler side sees why it closed).
    failed: Arc<std::sync::Mutex<Option<Error>>>,
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
        assigned: bool,
        failed: Arc<std::sync::Mutex<Option<Error>>>,
    ) -> Self {
        let (report, internal_rx) = Reporter::new();
        let rebalance = Rebalance::new(hooks).for_group(&config.group_id);
        Engine {
            group: (!assigned)
                .then(|| GroupDriver::new(&config, member_id, epoch_out, member_id_out)),
            manual: Manual::default(),
            waits: Waits::default(),
            kafka,
            config,
            report,
            inbox: Some(Inbox {
                commands,
                reports: internal_rx,
            }),
            rebalance,
            commits: Commits::new(Instant::now()),
            fetching: Fetching::default(),
            deliveries: Deliveries::new(delivery, delivery_rx),
            parts: Partitions::default(),
            from_beginning: FromBeginning::default(),
            subscribe_reply: None,
            stopping: None,
            fatal: None,
            failed,
            exit: false,
        }
    }

    /// Runs until stopped (or a fatal error). Returns the fatal error, if any.
    pub(crate) async fn run(mut self) -> Option<Error> {
        if let Some(mut inbox) = self.inbox.take() {
            engine_loop::run(&mut self, &mut inbox).await;
        }
        if let Some(lane) = self.group.as_ref().and_then(|s| s.classic_lane()) {
            self.kafka
                .pool()
                .close_lane(lane, Duration::from_secs(1))
                .await;
        }
        self.kafka.emit(Event::Stop {
            group_id: self.config.group_id.clone(),
        });
        if let (Some(e), Ok(mut slot)) = (&self.fatal, self.failed.lock()) {
            *slot = Some(e.clone());
        }
        self.fatal.clone()
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            kafka: &self.kafka,
            config: &self.config,
            report: &self.report,
        }
    }

    /// Where commits go: the coordinator of the member's group, or, without a session, the
    /// group that keeps the offsets (none without a group).
    fn commit_ctx(&self) -> Option<CommitCtx> {
        match &self.group {
            Some(s) => Some(s.commit_ctx(&self.ctx())),
            None => manual::commit_ctx(&self.kafka, &self.config.group_id),
        }
    }

    /// Whether commits may be sent now: the member has joined, or offsets are kept in a group
    /// without a session.
    fn may_commit(&self) -> bool {
        match &self.group {
            Some(s) => s.epoch() > 0,
            None => !self.config.group_id.is_empty(),
        }
    }

    fn finished(&mut self) -> bool {
        if let Some(reply) = self.subscribe_reply.take() {
            let answered = self.group.as_ref().is_none_or(|s| s.answered());
            match &self.fatal {
                Some(e) => {
                    let _ = reply.send(Err(e.clone()));
                }
                None if answered || self.exit || self.stopping.is_some() => {
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
        let done = match &mut self.group {
            _ if self.stopping.is_none() => false,
            Some(s) => s.membership().has_left(),
            None => {
                let commit = self.commit_ctx().filter(|_| self.config.auto_commit);
                self.commits.sync_progress(&mut self.parts);
                self.manual
                    .stopped(&self.report, &mut self.parts, &self.deliveries, commit)
            }
        };
        if done {
            if let Some(reply) = self.stopping.take() {
                let _ = reply.send(Ok(()));
            }
        }
        done
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
        if let Some(s) = &self.group {
            s.publish();
            let joined = s.epoch() > 0;
            let waiting = self.parts.states.is_empty() && !s.is_rebalancing();
            self.waits
                .unassigned(&self.kafka, &self.config, joined && waiting, now);
        }
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
            self.group.as_ref().and_then(|s| s.next_deadline(now)),
            self.commits.next_deadline(&self.config),
            self.fetching.next_deadline(&self.parts),
            self.waits.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(now)
        .max(now + Duration::from_millis(1))
    }

    /// Runs what the membership asks, then sends its requests.
    fn drive_membership(&mut self, now: Instant) {
        loop {
            let Some(group) = self.group.as_mut() else {
                return;
            };
            let Some(action) = group.membership().poll_action() else {
                break;
            };
            let ctx = Ctx {
                kafka: &self.kafka,
                config: &self.config,
                report: &self.report,
            };
            match group.on_action(&ctx, action, now) {
                None => {}
                Some(Handoff::Fatal(e)) => self.crash(e),
                Some(Handoff::Rebalance(action)) => self.on_rebalance(action),
            }
        }
        let ctx = Ctx {
            kafka: &self.kafka,
            config: &self.config,
            report: &self.report,
        };
        if let Some(s) = self.group.as_mut() {
            s.drive(&ctx, now);
        }
    }

    fn on_rebalance(&mut self, action: Action) {
        match action {
            Action::Revoke(tps) => {
                let member_id = self
                    .group
                    .as_mut()
                    .map(|s| s.membership().member_id().to_string());
                self.kafka.emit(Event::Rebalancing {
                    group_id: self.config.group_id.clone(),
                    member_id: member_id.unwrap_or_default(),
                });
                // The handler learns at once (`is_stale`) and can return early.
                self.parts.make_obsolete(&tps);
                self.rebalance.revoke(tps);
                self.finish_revoke();
            }
            Action::Assign(tps) => {
                self.commit_at_reassignment();
                let ctx = self.assign_ctx();
                self.rebalance.assign(&self.report, ctx, tps);
            }
            Action::Lost(tps) => self.rebalance.lose(&self.report, &mut self.parts, tps),
            _ => {}
        }
    }

    /// Finishes a revocation the handler is done with; with auto-commit, everything processed
    /// is committed first and the auto-commit clock starts again.
    fn finish_revoke(&mut self) {
        let commit = self.commit_ctx().filter(|_| self.config.auto_commit);
        let finished = self.rebalance.maybe_finish_revoke(
            &self.report,
            &mut self.parts,
            &self.deliveries,
            || commit,
        );
        if finished && self.config.auto_commit {
            self.commits.restart(Instant::now());
        }
    }

    /// A reassignment (partitions assigned): with auto-commit, everything processed so far is
    /// committed (at the member's new epoch, for the partitions it keeps) and the auto-commit
    /// clock starts again, as at a revocation.
    fn commit_at_reassignment(&mut self) {
        if !self.config.auto_commit || !self.may_commit() {
            return;
        }
        self.commits.sync_progress(&mut self.parts);
        let offsets = self.parts.uncommitted();
        if let Some(ctx) = self.commit_ctx().filter(|_| !offsets.is_empty()) {
            commits::spawn_commit(&self.report, ctx, offsets, None, false);
        }
        self.commits.restart(Instant::now());
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
            commit: self
                .commit_ctx()
                .expect("only a group member's rebalance prepares an assignment"),
            reset: self.config.auto_offset_reset,
            from_beginning: self.from_beginning.clone(),
            read_committed: self.config.isolation_level == IsolationLevel::ReadCommitted,
            hook: self.rebalance.hooks().assigned,
        }
    }

    fn maybe_auto_commit(&mut self, now: Instant) {
        if self.commits.auto_in_flight
            || !self
                .commits
                .auto_commit_due(&self.config, self.may_commit(), now)
        {
            return;
        }
        let offsets = self.parts.uncommitted();
        if let Some(ctx) = self.commit_ctx().filter(|_| !offsets.is_empty()) {
            self.commits.auto_in_flight = true;
            commits::spawn_commit(&self.report, ctx, offsets, None, true);
        }
    }

    fn on_internal(&mut self, msg: Internal) {
        let now = Instant::now();
        let ctx = Ctx {
            kafka: &self.kafka,
            config: &self.config,
            report: &self.report,
        };
        let msg = match msg {
            Internal::Fetched(answer) => {
                let reset = self.reset_policy();
                if let Some(e) = self
                    .fetching
                    .on_fetched(&ctx, &mut self.parts, answer, reset, now)
                {
                    self.crash(e);
                }
                return;
            }
            Internal::Reset(res) => return self.fetching.on_reset(&ctx, &mut self.parts, res),
            Internal::Started {
                positions,
                committed,
            } => {
                for (tp, offset, epoch) in positions {
                    self.parts.start_at(&tp, offset, epoch, committed);
                }
                return;
            }
            Internal::TopicsChecked(res) => {
                let waiting = match self.group {
                    Some(_) => "the subscription waits for it, for as long as the consumer runs",
                    None => "its assigned partitions wait for it, for as long as the consumer runs",
                };
                return self
                    .waits
                    .on_topics_checked(&self.kafka, &self.config, res, waiting);
            }
            Internal::Standing(reply) => {
                let _ = reply.send(self.group.as_ref().map(|s| s.standing()));
                return;
            }
            Internal::Committed {
                offsets,
                result,
                reply,
                auto,
            } => {
                if auto {
                    self.commits.auto_in_flight = false;
                }
                return commits::on_committed(
                    &self.kafka,
                    &self.config.group_id,
                    &mut self.parts,
                    offsets,
                    result,
                    reply,
                );
            }
            other => other,
        };
        // The rest is the group driver's: none of it comes without one.
        let Some(group) = self.group.as_mut() else {
            return;
        };
        match msg {
            Internal::Group(kind, res) => group.on_group_answer(kind, res, now),
            Internal::AssignmentComputed(generation, res) => {
                group.on_assignment_computed(generation, res, now)
            }
            Internal::CountsChecked(changed) => group.on_counts_checked(&ctx, changed, now),
            Internal::PatternTopics(pattern, res) => {
                if let Some(e) = group.on_pattern_topics(&ctx, pattern, res, now) {
                    self.crash(e);
                }
            }
            Internal::Coordinator(res) => {
                if let Some(e) = group.on_coordinator(&ctx, res, now) {
                    self.crash(e);
                }
            }
            Internal::TopicNames(ids, res) => group.on_topic_names(&ids, res, now),
            Internal::Revoked(generation) => {
                if self.rebalance.is_current(generation) {
                    group.membership().on_revoked(now.into());
                }
            }
            Internal::Assigned(generation, res) => {
                let assigning = group.membership().assigning().to_vec();
                let retry_ctx = self.assign_ctx();
                match self.rebalance.on_assigned(
                    &self.report,
                    &mut self.parts,
                    generation,
                    res,
                    || (retry_ctx, assigning),
                ) {
                    Assigned::Ready(waiting) => {
                        for (reset, failed) in waiting {
                            self.fetching.wait_for_offsets(&ctx, failed, reset);
                        }
                        if let Some(s) = self.group.as_mut() {
                            s.membership().on_assigned(now.into());
                        }
                    }
                    Assigned::Fatal(e) => self.fatal = Some(e),
                    Assigned::Stale | Assigned::Retrying => {}
                }
            }
            Internal::Lost(generation) => {
                if self.rebalance.is_current(generation) {
                    group.membership().on_lost_handled(now.into());
                }
            }
            Internal::Fetched(_)
            | Internal::Reset(_)
            | Internal::Started { .. }
            | Internal::TopicsChecked(_)
            | Internal::Committed { .. }
            | Internal::Standing(_) => {}
        }
    }
}

/// The loop's view of the engine; each turn's work is in the engine's own methods (the
/// commands' in `commands.rs`).
impl Turns<Command, Internal> for Engine {
    fn step(&mut self, now: Instant) {
        Engine::step(self, now)
    }
    fn finished(&mut self) -> bool {
        Engine::finished(self)
    }
    fn next_deadline(&self, now: Instant) -> Instant {
        Engine::next_deadline(self, now)
    }
    fn on_report(&mut self, report: Internal) {
        self.on_internal(report)
    }
    fn on_command(&mut self, command: Command) {
        Engine::on_command(self, command)
    }
    fn on_handles_gone(&mut self) {
        Engine::on_handles_gone(self)
    }
}
