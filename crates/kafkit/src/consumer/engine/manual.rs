//! A consumer without a group driver (`Kafka::assigned_consumer`): its partitions are those
//! `assign` names, each starts at the committed offset of the group that keeps its offsets
//! (when one is named), else where `auto_offset_reset` says, else where the user seeks; and it
//! stops once the handler is done, after a last commit. No coordinator, no heartbeats.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::sync::oneshot;

use super::super::config::{AutoOffsetReset, IsolationLevel};
use super::commits::{self, CommitCtx};
use super::delivery::Deliveries;
use super::partitions::Partitions;
use super::report::{Internal, Reporter, ResetResult};
use super::Ctx;
use crate::error::Result;
use crate::events::TopicPartition;
use crate::groups::offsets::{self, Committer};
use crate::Kafka;

/// How long a failed start-position lookup waits before it is tried again.
const START_RETRY: Duration = Duration::from_millis(500);

/// The assigned partitions' owner while the consumer stops.
#[derive(Default)]
pub(super) struct Manual {
    /// The last commit before stopping, once started (its answer comes here).
    final_commit: Option<oneshot::Receiver<Result<()>>>,
}

impl Manual {
    /// Replaces the assignment with `wanted`. Partitions no longer wanted are dropped (their
    /// processed offsets committed first when `commit` is given); new ones wait for their
    /// start position, looked up in a task (a seek meanwhile wins).
    pub fn assign(
        &mut self,
        ctx: &Ctx<'_>,
        parts: &mut Partitions,
        wanted: BTreeSet<TopicPartition>,
        commit: Option<CommitCtx>,
    ) {
        let removed: Vec<TopicPartition> = parts
            .states
            .keys()
            .filter(|tp| !wanted.contains(*tp))
            .cloned()
            .collect();
        let processed = parts.remove(&removed);
        if let Some(c) = commit.as_ref().filter(|_| ctx.config.auto_commit) {
            if !processed.is_empty() {
                commits::spawn_commit(ctx.report, c.clone(), processed, None, false);
            }
        }
        let added: Vec<TopicPartition> = wanted
            .into_iter()
            .filter(|tp| !parts.states.contains_key(tp))
            .collect();
        if added.is_empty() {
            return;
        }
        parts.add_waiting(&added);
        ctx.kafka
            .cluster()
            .track(added.iter().map(|t| t.topic.clone()));
        spawn_start(ctx, commit, added);
    }

    /// Whether the consumer may end now that it was asked to stop: the handler has given back
    /// every batch, and the last commit (auto-commit with a group) has been answered.
    pub fn stopped(
        &mut self,
        report: &Reporter,
        parts: &mut Partitions,
        deliveries: &Deliveries,
        commit: Option<CommitCtx>,
    ) -> bool {
        let all: Vec<TopicPartition> = parts.states.keys().cloned().collect();
        if parts.any_in_process(&all) {
            deliveries.reclaim_unread(parts);
            if parts.any_in_process(&all) {
                return false;
            }
        }
        match &mut self.final_commit {
            Some(rx) => !matches!(rx.try_recv(), Err(oneshot::error::TryRecvError::Empty)),
            None => {
                let offsets = parts.uncommitted();
                let Some(c) = commit.filter(|_| !offsets.is_empty()) else {
                    return true;
                };
                let (tx, rx) = oneshot::channel();
                commits::spawn_commit(report, c, offsets, Some(tx), false);
                self.final_commit = Some(rx);
                false
            }
        }
    }
}

/// Looks up where `tps` start, in a task that tries until it succeeds (or the consumer ends):
/// the group's committed offsets first, then `auto_offset_reset` for the others. With reset
/// `none`, a partition without a committed offset waits for a seek.
fn spawn_start(ctx: &Ctx<'_>, commit: Option<CommitCtx>, tps: Vec<TopicPartition>) {
    let kafka = ctx.kafka.clone();
    let reset = ctx.config.auto_offset_reset;
    let read_committed = ctx.config.isolation_level == IsolationLevel::ReadCommitted;
    let timeout = kafka.config().request_timeout;
    let report = ctx.report.clone();
    tokio::spawn(async move {
        let mut rest = tps;
        if let Some(c) = commit {
            let found = retrying(&report, "committed offsets", || committed(&c, &rest)).await;
            let Some(found) = found else { return };
            rest.retain(|tp| !found.iter().any(|(f, _, _)| f == tp));
            report.send(Internal::Started {
                positions: found,
                committed: true,
            });
        }
        let ts = match reset {
            AutoOffsetReset::Earliest => offsets::EARLIEST,
            AutoOffsetReset::Latest => offsets::LATEST,
            AutoOffsetReset::None => return,
        };
        if rest.is_empty() {
            return;
        }
        let found = retrying(&report, "start offsets", || async {
            for topic in rest
                .iter()
                .map(|t| t.topic.as_str())
                .collect::<BTreeSet<_>>()
            {
                kafka.cluster().wait_for_topic(topic, timeout).await?;
            }
            Ok(offsets::list_offsets_each(&kafka, &rest, ts, read_committed).await)
        })
        .await;
        // Each partition on its own: one without a leader waits (looked up again by the
        // fetching side, paced) while the others are read.
        if let Some((found, failed)) = found {
            report.send(Internal::Reset(ResetResult {
                found: found.into_iter().map(|(tp, f)| (tp, f.offset)).collect(),
                failed,
                reset,
            }));
        }
    });
}

/// The committed offset (and its leader epoch) of each of `tps` that has one.
async fn committed(
    c: &CommitCtx,
    tps: &[TopicPartition],
) -> Result<Vec<(TopicPartition, i64, Option<i32>)>> {
    let conn = c.connection().await?;
    let who = Committer {
        group_id: &c.group_id,
        member_id: "",
        epoch: -1,
        instance_id: None,
    };
    let found =
        offsets::fetch_committed(&conn, &who, tps, true, &c.kafka.cluster().snapshot()).await?;
    Ok(found
        .into_iter()
        .filter_map(|(tp, v)| v.map(|(o, e)| (tp, o, Some(e).filter(|e| *e >= 0))))
        .collect())
}

/// Runs `work` until it succeeds; `None` once the consumer has ended.
async fn retrying<T, F, Fut>(report: &Reporter, what: &str, mut work: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    loop {
        match work().await {
            Ok(v) => return Some(v),
            Err(e) => tracing::debug!(error = %e, "looking up {what} failed; trying again"),
        }
        if report.is_closed() {
            return None;
        }
        tokio::time::sleep(START_RETRY).await;
    }
}

/// Everything a commit of a consumer without a session needs: offsets kept in `group` are
/// committed as an admin would (no member id, epoch -1).
pub(super) fn commit_ctx(kafka: &Kafka, group: &str) -> Option<CommitCtx> {
    (!group.is_empty()).then(|| CommitCtx {
        kafka: kafka.clone(),
        group_id: group.to_string(),
        member_id: String::new(),
        epoch: -1,
        instance_id: None,
        classic: true,
        conn: None,
        live: None,
    })
}
