//! Commits: what the handler has processed (its progress, read from the batches it holds),
//! when auto-commit is due (interval or count), and the commit request itself, retried while
//! the coordinator moves.

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::super::config::ConsumerConfig;
use super::super::partitions::Partitions;
use super::report::{Internal, Reporter};
use crate::cluster::coordinator::connect_coordinator;
use crate::cluster::CoordinatorType;
use crate::error::Result;
use crate::events::{Event, TopicPartition};
use crate::groups::offsets::{self, CommitOffset, Committer};
use crate::net::{Connection, Lane};
use crate::Kafka;

/// The auto-commit clock and count.
pub(super) struct Commits {
    last_auto_commit: Instant,
    /// Records processed since the last auto-commit (for `auto_commit_threshold`).
    resolved_since_commit: usize,
    /// An auto-commit is on its way: the next one waits for it (and then takes everything
    /// processed meanwhile), so slow commits never pile up.
    pub auto_in_flight: bool,
}

impl Commits {
    pub fn new(now: Instant) -> Self {
        Commits {
            last_auto_commit: now,
            resolved_since_commit: 0,
            auto_in_flight: false,
        }
    }

    /// Takes in how far the handler got in the batches it holds.
    pub fn sync_progress(&mut self, parts: &mut Partitions) {
        for st in parts.states.values_mut() {
            let Some((cell, epoch)) = &st.progress else {
                continue;
            };
            let next = cell.next();
            if next < 0 {
                continue;
            }
            // Counted from the last processed offset, or from where the partition started.
            match st.processed.map(|(o, _)| o).or(st.committed) {
                Some(o) if o >= next => {}
                from => {
                    self.resolved_since_commit += from.map_or(1, |o| (next - o) as usize);
                    st.processed = Some((next, *epoch));
                }
            }
        }
    }

    /// The handler reported `n` more records of a partition processed: counted for the
    /// threshold.
    pub fn processed(&mut self, n: usize) {
        self.resolved_since_commit += n;
    }

    /// Whether an auto-commit is due now (by interval or by count); restarts both if so.
    pub fn auto_commit_due(&mut self, config: &ConsumerConfig, joined: bool, now: Instant) -> bool {
        if !config.auto_commit || !joined {
            return false;
        }
        let by_time = now >= self.last_auto_commit + config.auto_commit_interval;
        let by_count = config
            .auto_commit_threshold
            .is_some_and(|t| self.resolved_since_commit >= t);
        if !(by_time || by_count) {
            return false;
        }
        self.last_auto_commit = now;
        self.resolved_since_commit = 0;
        true
    }

    /// When the next auto-commit is due by time.
    pub fn next_deadline(&self, config: &ConsumerConfig) -> Option<Instant> {
        config
            .auto_commit
            .then(|| self.last_auto_commit + config.auto_commit_interval)
    }
}

/// Commits `offsets` (partition, offset, leader epoch) in a task, after the commits started
/// before it (so a newer offset is never overwritten by an older one); the answer goes to
/// `reply` and, as [`Internal::Committed`], to the loop.
pub(super) fn spawn_commit(
    report: &Reporter,
    ctx: CommitCtx,
    offsets: Vec<(TopicPartition, i64, i32)>,
    reply: Option<oneshot::Sender<Result<()>>>,
) {
    report.spawn_serial(async move {
        let plain: Vec<(TopicPartition, i64)> =
            offsets.iter().map(|(tp, o, _)| (tp.clone(), *o)).collect();
        let result = ctx.commit(offsets).await;
        Internal::Committed {
            offsets: plain,
            result,
            reply,
        }
    });
}

/// A commit ended: marks the offsets committed and tells the user.
pub(super) fn on_committed(
    kafka: &Kafka,
    group_id: &str,
    parts: &mut Partitions,
    offsets: Vec<(TopicPartition, i64)>,
    result: Result<()>,
    reply: Option<oneshot::Sender<Result<()>>>,
) {
    match &result {
        Ok(()) => {
            parts.mark_committed(&offsets);
            kafka.emit(Event::CommitOffsets {
                group_id: group_id.to_string(),
                offsets,
            });
        }
        Err(e) => tracing::debug!(error = %e, "offset commit failed"),
    }
    if let Some(r) = reply {
        let _ = r.send(result);
    }
}

/// Everything a commit needs, detached from the engine so it can run in a task.
#[derive(Clone)]
pub(super) struct CommitCtx {
    pub kafka: Kafka,
    pub group_id: String,
    pub member_id: String,
    pub epoch: i32,
    pub instance_id: Option<String>,
    /// Classic members fetch offsets without member id and epoch (those are KIP-848's).
    pub classic: bool,
    /// The coordinator connection, if one is known and may carry commits.
    pub conn: Option<Connection>,
}

impl CommitCtx {
    pub async fn connection(&self) -> Result<Connection> {
        if let Some(c) = self.conn.as_ref().filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        let (_, conn) = connect_coordinator(
            self.kafka.pool(),
            CoordinatorType::Group,
            &self.group_id,
            Lane::Group,
        )
        .await?;
        Ok(conn)
    }

    pub async fn commit(&self, offsets: Vec<(TopicPartition, i64, i32)>) -> Result<()> {
        let offsets: Vec<CommitOffset> = offsets
            .into_iter()
            .map(|(partition, offset, leader_epoch)| CommitOffset {
                partition,
                offset,
                leader_epoch,
            })
            .collect();
        let span = tracing::debug_span!(
            "kafka.commit",
            otel.name = "commit",
            messaging.system = "kafka",
            messaging.operation.type = "settle",
            messaging.operation.name = "commit",
            messaging.kafka.consumer.group = %self.group_id,
            messaging.batch.message_count = offsets.len(),
        );
        let started = Instant::now();
        let result =
            tracing::Instrument::instrument(self.commit_with_retries(&offsets), span).await;
        if result.is_ok() {
            crate::metrics::commit_done(&self.group_id, started.elapsed());
        }
        result
    }

    async fn commit_with_retries(&self, offsets: &[CommitOffset]) -> Result<()> {
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
                offsets::commit(&conn, &who, offsets).await
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::consumer::partitions::InHand;

    use super::*;

    fn config(threshold: Option<usize>) -> ConsumerConfig {
        let mut c = ConsumerConfig::new("g");
        c.auto_commit = true;
        c.auto_commit_interval = Duration::from_secs(5);
        c.auto_commit_threshold = threshold;
        c
    }

    #[tokio::test(start_paused = true)]
    async fn auto_commit_is_due_by_interval_only_while_joined() {
        let t0 = Instant::now();
        let mut c = Commits::new(t0);
        let cfg = config(None);
        assert!(!c.auto_commit_due(&cfg, true, t0 + Duration::from_secs(4)));
        assert!(
            !c.auto_commit_due(&cfg, false, t0 + Duration::from_secs(5)),
            "not joined"
        );
        assert!(c.auto_commit_due(&cfg, true, t0 + Duration::from_secs(5)));
        assert!(
            !c.auto_commit_due(&cfg, true, t0 + Duration::from_secs(6)),
            "restarted"
        );
        assert_eq!(c.next_deadline(&cfg), Some(t0 + Duration::from_secs(10)));
        let mut off = cfg.clone();
        off.auto_commit = false;
        assert!(!c.auto_commit_due(&off, true, t0 + Duration::from_secs(60)));
        assert_eq!(c.next_deadline(&off), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_handlers_progress_is_what_gets_committed_and_counts_for_the_threshold() {
        let t0 = Instant::now();
        let mut c = Commits::new(t0);
        let cfg = config(Some(10));
        let mut parts = Partitions::default();
        let tp = TopicPartition::new("t", 0);
        parts.assign([(tp.clone(), 100, None)]);
        let cell = InHand::new();
        parts.states.get_mut(&tp).unwrap().progress = Some((cell.clone(), 7));
        c.sync_progress(&mut parts);
        assert_eq!(parts.uncommitted(), vec![], "nothing processed yet");
        cell.next.store(104, std::sync::atomic::Ordering::Release);
        c.sync_progress(&mut parts);
        assert_eq!(parts.uncommitted(), vec![(tp.clone(), 104, 7)]);
        assert!(
            !c.auto_commit_due(&cfg, true, t0),
            "4 records counted so far"
        );
        cell.next.store(114, std::sync::atomic::Ordering::Release);
        c.sync_progress(&mut parts);
        assert!(
            c.auto_commit_due(&cfg, true, t0),
            "14 records: over the threshold"
        );
        // Committed: nothing left to commit until the handler moves on.
        parts.mark_committed(&[(tp.clone(), 114)]);
        assert_eq!(parts.uncommitted(), vec![]);
        // Progress never goes backwards.
        cell.next.store(110, std::sync::atomic::Ordering::Release);
        c.sync_progress(&mut parts);
        assert_eq!(parts.states[&tp].processed, Some((114, 7)));
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_batch_counts_every_record_from_where_the_partition_started() {
        let t0 = Instant::now();
        let mut c = Commits::new(t0);
        let mut parts = Partitions::default();
        let tp = TopicPartition::new("t", 0);
        parts.assign([(tp.clone(), 100, None)]);
        let cell = InHand::new();
        parts.states.get_mut(&tp).unwrap().progress = Some((cell.clone(), 0));
        // One batch of twelve, all processed before the engine looks.
        cell.next.store(112, std::sync::atomic::Ordering::Release);
        c.sync_progress(&mut parts);
        assert!(
            c.auto_commit_due(&config(Some(5)), true, t0),
            "twelve records count as twelve, not one"
        );
    }
}
