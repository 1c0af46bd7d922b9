//! Rebalance orchestration: a revocation waits for the handler to finish those partitions,
//! commits what was processed (auto-commit), runs the user's hook, then lets the membership
//! acknowledge; an assignment looks up the committed offsets and runs its hook before the
//! partitions are fetched; lost partitions are dropped without a commit. A newer rebalance
//! step supersedes an older one still running (its result is dropped by generation).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;
use tracing::Instrument;

use super::super::config::AutoOffsetReset;
use super::super::subscription::FromBeginning;
use super::commits::CommitCtx;
use super::delivery::Deliveries;
use super::partitions::Partitions;
use super::report::{Internal, Prepared, Reporter, Waiting};
use crate::error::{Error, ErrorKind, Result};
use crate::events::TopicPartition;
use crate::groups::offsets::{self, Committer};

/// Which rebalance callback runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebalanceKind {
    /// Partitions were assigned to this member.
    Assigned,
    /// Partitions are being taken away. With auto-commit on, everything processed was
    /// committed first, in every partition the member holds (not only these).
    Revoked,
    /// Partitions were lost (fenced or session expired): do not commit for them.
    Lost,
}

/// A rebalance callback: async, may commit through the consumer it is given.
pub type RebalanceHook =
    Arc<dyn Fn(RebalanceKind, Vec<TopicPartition>) -> BoxFuture<'static, Result<()>> + Send + Sync>;

/// The user's rebalance callbacks.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub assigned: Option<RebalanceHook>,
    pub revoked: Option<RebalanceHook>,
    pub lost: Option<RebalanceHook>,
}

/// How long a failed assignment preparation (offsets lookup, hook) waits to be tried again.
const ASSIGN_RETRY: Duration = Duration::from_millis(500);

/// The hooks as the consumer handle and its engine share them: a hook set after `subscribe`
/// runs from the next rebalance step on.
pub(crate) type SharedHooks = Arc<std::sync::Mutex<Hooks>>;

/// The rebalance step in progress.
pub(super) struct Rebalance {
    hooks: SharedHooks,
    /// A revocation waiting for the handler to finish these partitions.
    pending_revoke: Option<(u64, Vec<TopicPartition>)>,
    /// Numbers each revoke, assign and lost step: only the newest one's result counts.
    generation: u64,
    /// For metrics and spans.
    group: Arc<str>,
    /// When the newest assignment step started (its duration is recorded once applied).
    assign_started: Option<Instant>,
    /// When the pending revocation started.
    revoke_started: Instant,
}

/// A rebalance step's span, with OpenTelemetry's messaging attributes.
fn step_span(group: &str, kind: &'static str, partitions: usize) -> tracing::Span {
    tracing::info_span!(
        "kafka.rebalance",
        otel.name = kind,
        messaging.system = "kafka",
        messaging.kafka.consumer.group = group,
        kafka.rebalance.kind = kind,
        kafka.partition.count = partitions,
    )
}

/// What a finished assignment step asks of the membership.
pub(super) enum Assigned {
    /// Not the newest step: ignore.
    Stale,
    /// Positions applied: acknowledge the assignment. The partitions whose start could not be
    /// looked up are assigned too, without a position: fetching looks them up again (paced)
    /// while the others are read.
    Ready(Waiting),
    /// Tried again shortly.
    Retrying,
    /// The consumer cannot go on.
    Fatal(Error),
}

impl Rebalance {
    pub fn new(hooks: SharedHooks) -> Self {
        Rebalance {
            hooks,
            pending_revoke: None,
            generation: 0,
            group: Arc::from(""),
            assign_started: None,
            revoke_started: Instant::now(),
        }
    }

    /// Names the group in metrics and spans.
    pub fn for_group(mut self, group: &str) -> Self {
        self.group = Arc::from(group);
        self
    }

    /// The hooks as set now.
    pub fn hooks(&self) -> Hooks {
        self.hooks.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// The partitions being revoked (not fetched, not delivered meanwhile).
    pub fn revoking(&self) -> BTreeSet<TopicPartition> {
        self.pending_revoke
            .as_ref()
            .map(|(_, t)| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The membership takes `tps` away: revoked once the handler is done with them.
    pub fn revoke(&mut self, tps: Vec<TopicPartition>) {
        self.generation += 1;
        self.revoke_started = Instant::now();
        self.pending_revoke = Some((self.generation, tps));
    }

    /// The membership gives `tps`: their positions are looked up (and the hook run) in a task.
    pub fn assign(&mut self, report: &Reporter, ctx: AssignCtx, tps: Vec<TopicPartition>) {
        self.generation += 1;
        self.assign_started = Some(Instant::now());
        let generation = self.generation;
        let span = step_span(&self.group, "assigned", tps.len());
        report.spawn(
            async move {
                let res = ctx.prepare(tps).await;
                Internal::Assigned(generation, res)
            }
            .instrument(span),
        );
    }

    /// `tps` are lost: dropped at once without a commit; the hook runs in a task. Supersedes a
    /// revocation or assignment in progress.
    pub fn lose(&mut self, report: &Reporter, parts: &mut Partitions, tps: Vec<TopicPartition>) {
        self.generation += 1;
        self.pending_revoke = None;
        let generation = self.generation;
        parts.remove(&tps);
        let hook = self.hooks().lost;
        let (group, started) = (self.group.clone(), Instant::now());
        let span = step_span(&group, "lost", tps.len());
        report.spawn(
            async move {
                if let Some(h) = hook {
                    if let Err(e) = h(RebalanceKind::Lost, tps).await {
                        tracing::warn!(error = %e, "partitions-lost hook failed");
                    }
                }
                crate::metrics::rebalance_done(&group, "lost", started.elapsed());
                Internal::Lost(generation)
            }
            .instrument(span),
        );
    }

    /// Finishes a revocation once the handler is done with those partitions: commit everything
    /// processed, in every partition, not only the revoked ones (when `commit` is given:
    /// auto-commit), run the hook, then report [`Internal::Revoked`] for the membership to
    /// acknowledge. The commit waits for the commits started before it (an older offset never
    /// lands after it). Returns whether the revocation finished now.
    pub fn maybe_finish_revoke(
        &mut self,
        report: &Reporter,
        parts: &mut Partitions,
        deliveries: &Deliveries,
        commit: impl FnOnce() -> Option<CommitCtx>,
    ) -> bool {
        let Some((_, tps)) = &self.pending_revoke else {
            return false;
        };
        parts.drop_queued(tps);
        if parts.any_in_process(tps) {
            deliveries.reclaim_unread(parts);
        }
        let Some((generation, tps)) = &self.pending_revoke else {
            return false;
        };
        if parts.any_in_process(tps) {
            return false;
        }
        let (generation, tps) = (*generation, tps.clone());
        self.pending_revoke = None;
        let commit = commit();
        let processed = take_revoked(parts, &tps, commit.is_some());
        let commit = commit
            .filter(|_| !processed.is_empty())
            .map(|ctx| (ctx, report.serial_turn()));
        let hook = self.hooks().revoked;
        let tx = report.clone();
        let (group, started) = (self.group.clone(), self.revoke_started);
        let span = step_span(&group, "revoked", tps.len());
        report.spawn(
            async move {
                if let Some((ctx, mut turn)) = commit {
                    turn.wait().await;
                    // A failed commit does not hold the ack back (topic deleted, coordinator
                    // moving); the loop says it failed.
                    let outcome = ctx.commit(processed).await;
                    tx.send(Internal::Committed {
                        offsets: outcome.committed,
                        result: outcome.result,
                        reply: None,
                        auto: false,
                    });
                    drop(turn);
                }
                if let Some(h) = hook {
                    if let Err(e) = h(RebalanceKind::Revoked, tps).await {
                        tracing::warn!(error = %e, "partitions-revoked hook failed");
                    }
                }
                crate::metrics::rebalance_done(&group, "revoked", started.elapsed());
                Internal::Revoked(generation)
            }
            .instrument(span),
        );
        true
    }

    /// Whether `generation` is the newest step (a revocation or loss to acknowledge).
    pub fn is_current(&self, generation: u64) -> bool {
        generation == self.generation
    }

    /// An assignment step ended. On success its positions are applied (partitions whose start
    /// could not be looked up are assigned without one, and come back in
    /// [`Assigned::Ready`]); a retriable failure (or the hook's) is tried again with `retry`
    /// after a moment.
    pub fn on_assigned(
        &mut self,
        report: &Reporter,
        parts: &mut Partitions,
        generation: u64,
        res: Result<Prepared>,
        retry: impl FnOnce() -> (AssignCtx, Vec<TopicPartition>),
    ) -> Assigned {
        if generation != self.generation {
            return Assigned::Stale;
        }
        match res {
            Ok(Prepared { positions, waiting }) => {
                parts.assign(positions);
                let tps: Vec<TopicPartition> = waiting
                    .iter()
                    .flat_map(|(_, failed)| failed.iter().map(|(tp, _)| tp.clone()))
                    .collect();
                parts.add_waiting(&tps);
                if let Some(started) = self.assign_started.take() {
                    crate::metrics::rebalance_done(&self.group, "assigned", started.elapsed());
                }
                Assigned::Ready(waiting)
            }
            Err(e) => {
                tracing::warn!(error = %e, "preparing assigned partitions failed; retrying");
                if e.kind() != &ErrorKind::Handler && !e.is_retriable() && e.kafka_error().is_none()
                {
                    return Assigned::Fatal(e);
                }
                let (ctx, tps) = retry();
                report.spawn(async move {
                    tokio::time::sleep(ASSIGN_RETRY).await;
                    let res = ctx.prepare(tps).await;
                    Internal::Assigned(generation, res)
                });
                Assigned::Retrying
            }
        }
    }
}

/// Removes revoked partitions; returns what the revocation commits: their processed offsets
/// and, with `all` (auto-commit), the uncommitted offsets of the partitions kept too, so the
/// member's last commit is as recent as the reassignment (a member that dies later repeats
/// less).
pub(super) fn take_revoked(
    parts: &mut Partitions,
    tps: &[TopicPartition],
    all: bool,
) -> Vec<(TopicPartition, i64, i32)> {
    let mut processed = parts.remove(tps);
    if all {
        processed.extend(parts.uncommitted());
    }
    processed
}

/// Everything preparing an assignment needs (committed offsets, reset, hook).
pub(super) struct AssignCtx {
    pub commit: CommitCtx,
    /// Where a partition without a committed offset starts...
    pub reset: AutoOffsetReset,
    /// ...unless its topic was subscribed from the beginning.
    pub from_beginning: FromBeginning,
    pub read_committed: bool,
    pub hook: Option<RebalanceHook>,
}

impl AssignCtx {
    /// Committed offsets (or the reset policy's) of newly assigned partitions, each with the
    /// leader epoch the commit recorded, then the user's hook. A partition whose reset offset
    /// cannot be looked up does not fail the others: it comes back as waiting.
    pub async fn prepare(&self, tps: Vec<TopicPartition>) -> Result<Prepared> {
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
        let committed =
            offsets::fetch_committed(&conn, &who, &tps, true, &kafka.cluster().snapshot()).await?;
        let mut positions = Vec::new();
        let mut waiting = Vec::new();
        let mut need_reset = Vec::new();
        for tp in &tps {
            match committed.get(tp).copied().flatten() {
                Some((o, epoch)) => {
                    positions.push((tp.clone(), o, Some(epoch).filter(|e| *e >= 0)))
                }
                None => need_reset.push(tp.clone()),
            }
        }
        let (earliest, by_policy): (Vec<_>, Vec<_>) = need_reset
            .into_iter()
            .partition(|tp| self.from_beginning.applies(&tp.topic));
        for (tps, reset) in [
            (earliest, AutoOffsetReset::Earliest),
            (by_policy, self.reset),
        ] {
            if tps.is_empty() {
                continue;
            }
            let ts = match reset {
                AutoOffsetReset::Earliest => offsets::EARLIEST,
                AutoOffsetReset::Latest => offsets::LATEST,
                AutoOffsetReset::None => {
                    return Err(Error::new(
                        ErrorKind::Config,
                        "assign",
                        format!("no committed offset for {tps:?} and auto_offset_reset is none; commit offsets for the group, set auto_offset_reset, or subscribe from the beginning"),
                    ))
                }
            };
            kafka.cluster().track(tps.iter().map(|t| t.topic.clone()));
            let (found, failed) =
                offsets::list_offsets_each(kafka, &tps, ts, self.read_committed).await;
            positions.extend(found.into_iter().map(|(tp, f)| (tp, f.offset, None)));
            if !failed.is_empty() {
                waiting.push((reset, failed));
            }
        }
        if let Some(h) = &self.hook {
            h(RebalanceKind::Assigned, tps).await.map_err(|e| {
                Error::new(ErrorKind::Handler, "partitions_assigned", e.to_string())
            })?;
        }
        Ok(Prepared { positions, waiting })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::mpsc;

    use super::*;

    fn tp(p: i32) -> TopicPartition {
        TopicPartition::new("t", p)
    }

    fn counting_hook(calls: Arc<AtomicUsize>) -> RebalanceHook {
        Arc::new(move |_, _| {
            calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok(()) })
        })
    }

    fn deliveries() -> Deliveries {
        let (tx, rx) = mpsc::channel(4);
        Deliveries::new(tx, Arc::new(tokio::sync::Mutex::new(rx)))
    }

    #[tokio::test(start_paused = true)]
    async fn a_revocation_waits_for_the_handler_then_runs_the_hook_and_reports() {
        let (report, mut rx) = Reporter::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let mut r = Rebalance::new(SharedHooks::new(std::sync::Mutex::new(Hooks {
            revoked: Some(counting_hook(calls.clone())),
            ..Hooks::default()
        })));
        let mut parts = Partitions::default();
        parts.assign([(tp(0), 0, None), (tp(1), 0, None)]);
        parts.states.get_mut(&tp(0)).unwrap().in_process = true;
        r.revoke(vec![tp(0)]);
        assert_eq!(r.revoking(), BTreeSet::from([tp(0)]));
        let d = deliveries();
        r.maybe_finish_revoke(&report, &mut parts, &d, || None);
        assert!(
            parts.states.contains_key(&tp(0)),
            "the handler still holds it"
        );
        assert!(rx.try_recv().is_err());
        parts.states.get_mut(&tp(0)).unwrap().in_process = false;
        r.maybe_finish_revoke(&report, &mut parts, &d, || None);
        assert!(!parts.states.contains_key(&tp(0)));
        assert!(
            parts.states.contains_key(&tp(1)),
            "only the revoked one goes"
        );
        assert!(r.revoking().is_empty());
        match rx.recv().await {
            Some(Internal::Revoked(g)) => assert!(r.is_current(g)),
            _ => panic!("expected the revocation to be reported"),
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    /// A revoked partition whose batch waits in the queue behind another partition's (the
    /// handler busy with that one) is released at once: the batch is dropped and the handler
    /// skips it. A batch the handler has taken still holds its revocation.
    #[tokio::test(start_paused = true)]
    async fn a_revocation_does_not_wait_for_a_batch_the_handler_has_not_taken() {
        let (report, mut reports) = Reporter::new();
        let mut r = Rebalance::new(SharedHooks::default());
        let mut parts = Partitions::default();
        parts.assign([(tp(0), 0, None), (tp(1), 0, None)]);
        for p in 0..2 {
            parts
                .states
                .get_mut(&tp(p))
                .unwrap()
                .buffered
                .push_back(crate::fetch::message::Batch::of(p, 0..1));
        }
        let (tx, rx) = mpsc::channel(4);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let mut d = Deliveries::new(tx, rx.clone());
        d.deliver(&mut parts, &BTreeSet::new());
        // The handler is running (it holds the receiver) and has taken partition 0's batch.
        let mut handler = rx.try_lock().unwrap();
        let first = handler.try_recv().unwrap();
        assert_eq!(first.batch.partition, 0);
        assert!(first.progress.take());

        r.revoke(vec![tp(1)]);
        r.maybe_finish_revoke(&report, &mut parts, &d, || None);
        assert!(!parts.states.contains_key(&tp(1)), "released at once");
        assert!(matches!(reports.recv().await, Some(Internal::Revoked(_))));
        let second = handler.try_recv().unwrap();
        assert_eq!(second.batch.partition, 1);
        assert!(
            !second.progress.take(),
            "the handler skips the dropped batch"
        );

        r.revoke(vec![tp(0)]);
        r.maybe_finish_revoke(&report, &mut parts, &d, || None);
        assert!(
            parts.states.contains_key(&tp(0)),
            "the handler still holds it"
        );
    }

    #[test]
    fn a_revocation_commits_what_was_processed_in_every_partition() {
        let mut parts = Partitions::default();
        parts.assign([(tp(0), 0, None), (tp(1), 0, None), (tp(2), 0, None)]);
        parts.states.get_mut(&tp(0)).unwrap().processed = Some((5, 1));
        parts.states.get_mut(&tp(1)).unwrap().processed = Some((7, 1));
        // Partition 2: nothing processed since its last commit.
        let mut kept = Partitions::default();
        kept.assign([(tp(0), 0, None), (tp(1), 0, None)]);
        kept.states.get_mut(&tp(0)).unwrap().processed = Some((5, 1));
        kept.states.get_mut(&tp(1)).unwrap().processed = Some((7, 1));
        assert_eq!(
            take_revoked(&mut parts, &[tp(0)], true),
            vec![(tp(0), 5, 1), (tp(1), 7, 1)],
            "the revoked partition and the kept one with progress"
        );
        assert!(!parts.states.contains_key(&tp(0)));
        assert_eq!(
            take_revoked(&mut kept, &[tp(0)], false),
            vec![(tp(0), 5, 1)],
            "without auto-commit: only what the revoked partition held (not committed)"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn lost_partitions_go_at_once_and_supersede_a_revocation() {
        let (report, mut rx) = Reporter::new();
        let mut r = Rebalance::new(Default::default());
        let mut parts = Partitions::default();
        parts.assign([(tp(0), 0, None)]);
        parts.states.get_mut(&tp(0)).unwrap().in_process = true;
        parts.states.get_mut(&tp(0)).unwrap().processed = Some((5, 0));
        r.revoke(vec![tp(0)]);
        let revoke_generation = r.generation;
        r.lose(&report, &mut parts, vec![tp(0)]);
        assert!(
            parts.states.is_empty(),
            "dropped without waiting for the handler"
        );
        assert!(r.revoking().is_empty());
        assert!(
            !r.is_current(revoke_generation),
            "the revocation's result is dropped"
        );
        match rx.recv().await {
            Some(Internal::Lost(g)) => assert!(r.is_current(g)),
            _ => panic!("expected the loss to be reported"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_assignment_from_an_older_step_is_ignored() {
        let (report, _rx) = Reporter::new();
        let mut r = Rebalance::new(Default::default());
        let mut parts = Partitions::default();
        r.generation = 3;
        let stale = r.on_assigned(
            &report,
            &mut parts,
            2,
            Ok(Prepared {
                positions: vec![(tp(0), 9, None)],
                waiting: Vec::new(),
            }),
            || unreachable!(),
        );
        assert!(matches!(stale, Assigned::Stale));
        assert!(parts.states.is_empty());
        let ready = r.on_assigned(
            &report,
            &mut parts,
            3,
            Ok(Prepared {
                positions: vec![(tp(0), 9, Some(2))],
                waiting: vec![(
                    AutoOffsetReset::Earliest,
                    vec![(tp(1), Error::closed("list_offsets"))],
                )],
            }),
            || unreachable!(),
        );
        assert!(matches!(&ready, Assigned::Ready(w) if w.len() == 1));
        assert_eq!(
            parts.states[&tp(1)].position,
            None,
            "assigned, waiting for its start"
        );
        assert_eq!(parts.states[&tp(0)].position, Some(9));
        assert_eq!(parts.states[&tp(0)].last_epoch, Some(2));
        let fatal = r.on_assigned(
            &report,
            &mut parts,
            3,
            Err(Error::config("bad")),
            || unreachable!(),
        );
        assert!(
            matches!(fatal, Assigned::Fatal(_)),
            "a config error is not retried"
        );
    }
}
