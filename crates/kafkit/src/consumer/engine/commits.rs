//! Commits: what the handler has processed (its progress, read from the batches it holds),
//! when auto-commit is due (interval or count), and the commit request itself, retried while
//! the coordinator moves.

use std::future::Future;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::super::config::ConsumerConfig;
use super::partitions::Partitions;
use super::report::{Internal, Reporter, Standing};
use crate::cluster::coordinator::connect_coordinator;
use crate::cluster::CoordinatorType;
use crate::error::{Error, Result};
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

    /// A reassignment committed everything processed: the auto-commit clock and count start
    /// again from now.
    pub fn restart(&mut self, now: Instant) {
        self.last_auto_commit = now;
        self.resolved_since_commit = 0;
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
/// `reply` and, as [`Internal::Committed`], to the loop. `auto`: an auto-commit (the next one
/// waits for it).
pub(super) fn spawn_commit(
    report: &Reporter,
    ctx: CommitCtx,
    offsets: Vec<(TopicPartition, i64, i32)>,
    reply: Option<oneshot::Sender<Result<()>>>,
    auto: bool,
) {
    report.spawn_serial(async move {
        let outcome = ctx.commit(offsets).await;
        Internal::Committed {
            offsets: outcome.committed,
            result: outcome.result,
            reply,
            auto,
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
    if !offsets.is_empty() {
        parts.mark_committed(&offsets);
        kafka.emit(Event::CommitOffsets {
            group_id: group_id.to_string(),
            offsets,
        });
    }
    match &result {
        // Nobody waits for an auto-commit's answer (at an interval, or at a reassignment):
        // a failure is said here.
        Err(e) if reply.is_none() => {
            tracing::warn!(group = %group_id, error = %e, "auto-commit of offsets failed")
        }
        Err(e) => tracing::debug!(error = %e, "offset commit failed"),
        Ok(()) => {}
    }
    if let Some(r) = reply {
        let _ = r.send(result);
    }
}

/// STALE_MEMBER_EPOCH (KIP-848): the commit carried an epoch the member has left.
const STALE_MEMBER_EPOCH: i16 = 113;
/// ILLEGAL_GENERATION: the classic analogue (the group moved to a new generation).
const ILLEGAL_GENERATION: i16 = 22;
/// REBALANCE_IN_PROGRESS: a classic group between JoinGroup and SyncGroup takes no commits.
const REBALANCE_IN_PROGRESS: i16 = 27;

/// What a commit's retries do, without I/O: each attempt is sent with the member's live epoch,
/// and once that epoch differs from the one the offsets were taken at, only the partitions the
/// member still owns go (the others are dropped: their new owner commits them). An answer that
/// the epoch moved on (STALE_MEMBER_EPOCH, or ILLEGAL_GENERATION / REBALANCE_IN_PROGRESS under
/// the classic protocol) is tried again, like a retriable error, while attempts are left.
#[derive(Debug)]
pub(super) struct CommitRetry {
    /// What is left to commit.
    offsets: Vec<CommitOffset>,
    /// The epoch at which the member owned `offsets`' partitions.
    epoch: i32,
    /// Whether the commit is a member's (epochs move) rather than an admin-style one.
    member: bool,
    /// Retries done.
    attempt: u32,
    max_retries: u32,
}

/// The next step of a [`CommitRetry`].
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Attempt {
    /// Send these offsets with this epoch; `dropped` (named in a warning) no longer go.
    Commit {
        epoch: i32,
        offsets: Vec<CommitOffset>,
        dropped: Vec<TopicPartition>,
    },
    /// Nothing is left to send: the member owns none of the partitions any more.
    Nothing { dropped: Vec<TopicPartition> },
}

/// What to do after an answer.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Committed: done.
    Done,
    /// Wait out backoff number `n` (0-based), then ask [`CommitRetry::next`] again.
    Retry(u32),
    /// Give up with the error.
    GiveUp,
}

impl CommitRetry {
    /// `epoch`: the member's epoch when the offsets were taken (-1 for an admin-style commit,
    /// whose epoch never moves); `member`: whether the member's standing applies.
    pub fn new(offsets: Vec<CommitOffset>, epoch: i32, member: bool, max_retries: u32) -> Self {
        CommitRetry {
            offsets,
            epoch,
            member,
            attempt: 0,
            max_retries,
        }
    }

    /// The offsets still to commit.
    #[cfg(test)]
    pub fn offsets(&self) -> &[CommitOffset] {
        &self.offsets
    }

    /// The request to send now, given the member's standing now (`None`: unknown, the
    /// consumer has ended or is no member: sent as it was).
    pub fn next(&mut self, standing: Option<&Standing>) -> Attempt {
        let Some(s) = standing.filter(|_| self.member) else {
            return self.send(Vec::new());
        };
        if s.epoch == self.epoch {
            return self.send(Vec::new());
        }
        // The epoch moved: only what the member owns at the new one may go with it (sent with
        // the new epoch, a partition now another member's would overwrite its commits).
        let (keep, gone): (Vec<_>, Vec<_>) = std::mem::take(&mut self.offsets)
            .into_iter()
            .partition(|o| s.epoch > 0 && s.owned.contains(&o.partition));
        self.offsets = keep;
        self.epoch = s.epoch;
        let dropped = gone.into_iter().map(|o| o.partition).collect();
        self.send(dropped)
    }

    fn send(&self, dropped: Vec<TopicPartition>) -> Attempt {
        if self.offsets.is_empty() {
            return Attempt::Nothing { dropped };
        }
        Attempt::Commit {
            epoch: self.epoch,
            offsets: self.offsets.clone(),
            dropped,
        }
    }

    /// Takes in the answer to the last request.
    pub fn on_answer(&mut self, res: &Result<()>) -> Verdict {
        let Err(e) = res else {
            return Verdict::Done;
        };
        let moved = self.member
            && matches!(
                e.code(),
                Some(STALE_MEMBER_EPOCH | ILLEGAL_GENERATION | REBALANCE_IN_PROGRESS)
            );
        if (moved || e.is_retriable()) && self.attempt < self.max_retries {
            self.attempt += 1;
            return Verdict::Retry(self.attempt - 1);
        }
        Verdict::GiveUp
    }
}

/// How a commit ended: what was committed, and the answer for whoever asked (an error if
/// partitions were dropped, no longer the member's).
#[derive(Debug)]
pub(super) struct CommitOutcome {
    pub committed: Vec<(TopicPartition, i64)>,
    pub result: Result<()>,
}

/// Runs a commit to its end: `standing` reads the member's standing before each attempt,
/// `send` sends one OffsetCommit, `backoff` says how long retry `n` waits.
pub(super) async fn run_commit<S, SF, C, CF>(
    group_id: &str,
    mut retry: CommitRetry,
    mut standing: S,
    mut send: C,
    backoff: impl Fn(u32) -> Duration,
) -> CommitOutcome
where
    S: FnMut() -> SF,
    SF: Future<Output = Option<Standing>>,
    C: FnMut(i32, Vec<CommitOffset>) -> CF,
    CF: Future<Output = Result<()>>,
{
    let mut all_dropped: Vec<TopicPartition> = Vec::new();
    let mut last_epoch = retry.epoch;
    loop {
        let now = standing().await;
        let (epoch, offsets, dropped) = match retry.next(now.as_ref()) {
            Attempt::Commit {
                epoch,
                offsets,
                dropped,
            } => (epoch, Some(offsets), dropped),
            Attempt::Nothing { dropped } => {
                (now.as_ref().map_or(last_epoch, |s| s.epoch), None, dropped)
            }
        };
        if !dropped.is_empty() {
            tracing::warn!(
                group = %group_id,
                partitions = ?dropped,
                from_epoch = last_epoch,
                epoch,
                "offset commit: these partitions are no longer this member's at its current epoch; their offsets are not committed (their new owner commits them)"
            );
            all_dropped.extend(dropped);
        }
        last_epoch = epoch;
        let Some(offsets) = offsets else {
            return outcome(group_id, Vec::new(), all_dropped, Ok(()));
        };
        let res = send(epoch, offsets.clone()).await;
        match retry.on_answer(&res) {
            Verdict::Done => {
                let committed = offsets
                    .into_iter()
                    .map(|o| (o.partition, o.offset))
                    .collect();
                return outcome(group_id, committed, all_dropped, res);
            }
            Verdict::Retry(n) => {
                if let Err(e) = &res {
                    tracing::debug!(group = %group_id, error = %e, epoch, retry = n + 1, "offset commit failed; retrying with the member's epoch then");
                }
                tokio::time::sleep(backoff(n)).await;
            }
            Verdict::GiveUp => return outcome(group_id, Vec::new(), all_dropped, res),
        }
    }
}

/// The outcome; dropped partitions make a successful commit an error for whoever asked (their
/// offsets were not stored).
fn outcome(
    group_id: &str,
    committed: Vec<(TopicPartition, i64)>,
    dropped: Vec<TopicPartition>,
    result: Result<()>,
) -> CommitOutcome {
    let result = match result {
        Ok(()) if !dropped.is_empty() => Err(Error::from_code(
            STALE_MEMBER_EPOCH,
            "commit_offsets",
            format!(
                "group '{group_id}': {dropped:?} are no longer this member's (the group moved on while the commit was retried); their offsets were not committed"
            ),
        )
        .expect("a non-zero code")),
        other => other,
    };
    CommitOutcome { committed, result }
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
    /// Where a group member's commit reads the member's live standing before each attempt
    /// (`None`: an admin-style commit of a consumer without a session).
    pub live: Option<Reporter>,
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

    pub async fn commit(&self, offsets: Vec<(TopicPartition, i64, i32)>) -> CommitOutcome {
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
        let outcome =
            tracing::Instrument::instrument(self.commit_with_retries(offsets), span).await;
        if outcome.result.is_ok() {
            crate::metrics::commit_done(&self.group_id, started.elapsed());
        }
        outcome
    }

    /// Commits with up to five retries; each attempt reads the member's live epoch (see
    /// [`CommitRetry`]).
    async fn commit_with_retries(&self, offsets: Vec<CommitOffset>) -> CommitOutcome {
        let retry = CommitRetry::new(offsets, self.epoch, self.live.is_some(), 5);
        let policy = self.kafka.config().retry.clone();
        let live = self.live.clone();
        run_commit(
            &self.group_id,
            retry,
            || {
                let live = live.clone();
                async move {
                    match live {
                        Some(r) => r.standing().await,
                        None => None,
                    }
                }
            },
            |epoch, offsets| async move {
                let conn = self.connection().await?;
                let who = Committer {
                    group_id: &self.group_id,
                    member_id: &self.member_id,
                    epoch,
                    instance_id: self.instance_id.as_deref(),
                };
                offsets::commit(&conn, &who, &offsets, &self.kafka.cluster().snapshot()).await
            },
            |n| policy.backoff(n),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::consumer::engine::partitions::InHand;

    use super::*;

    fn config(threshold: Option<usize>) -> ConsumerConfig {
        let mut c = ConsumerConfig::new("g");
        c.auto_commit = true;
        c.auto_commit_interval = Duration::from_secs(5);
        c.auto_commit_threshold = threshold;
        c
    }

    fn off(p: i32, offset: i64) -> CommitOffset {
        CommitOffset {
            partition: TopicPartition::new("t", p),
            offset,
            leader_epoch: 0,
        }
    }

    fn standing(epoch: i32, owned: &[i32]) -> Standing {
        Standing {
            epoch,
            owned: owned.iter().map(|p| TopicPartition::new("t", *p)).collect(),
        }
    }

    fn stale() -> Error {
        Error::from_code(STALE_MEMBER_EPOCH, "commit_offsets", "stale").unwrap()
    }

    #[test]
    fn a_commit_goes_with_its_epoch_while_the_epoch_holds() {
        let mut r = CommitRetry::new(vec![off(0, 10), off(1, 20)], 5, true, 5);
        assert_eq!(
            r.next(Some(&standing(5, &[0]))),
            Attempt::Commit {
                epoch: 5,
                offsets: vec![off(0, 10), off(1, 20)],
                dropped: vec![],
            },
            "same epoch: sent as asked (a commit may name partitions it does not own)"
        );
        assert_eq!(
            r.next(None),
            Attempt::Commit {
                epoch: 5,
                offsets: vec![off(0, 10), off(1, 20)],
                dropped: vec![],
            },
            "standing unknown: sent as it was"
        );
    }

    #[test]
    fn a_moved_epoch_carries_only_the_partitions_still_owned() {
        let mut r = CommitRetry::new(vec![off(0, 10), off(1, 20), off(2, 30)], 5, true, 5);
        assert_eq!(
            r.next(Some(&standing(6, &[0, 2, 3]))),
            Attempt::Commit {
                epoch: 6,
                offsets: vec![off(0, 10), off(2, 30)],
                dropped: vec![TopicPartition::new("t", 1)],
            }
        );
        assert_eq!(r.offsets(), &[off(0, 10), off(2, 30)]);
        // Out of the group (fenced, left): nothing may go.
        assert_eq!(
            r.next(Some(&standing(0, &[]))),
            Attempt::Nothing {
                dropped: vec![TopicPartition::new("t", 0), TopicPartition::new("t", 2)],
            }
        );
    }

    #[test]
    fn an_admin_style_commit_ignores_the_standing() {
        let mut r = CommitRetry::new(vec![off(0, 10)], -1, false, 5);
        assert!(matches!(
            r.next(Some(&standing(7, &[]))),
            Attempt::Commit { epoch: -1, .. }
        ));
        assert_eq!(r.on_answer(&Err(stale())), Verdict::GiveUp);
    }

    #[test]
    fn stale_epochs_and_retriable_errors_are_retried_until_the_attempts_run_out() {
        let mut r = CommitRetry::new(vec![off(0, 10)], 5, true, 2);
        assert_eq!(r.on_answer(&Err(stale())), Verdict::Retry(0));
        let illegal = Error::from_code(ILLEGAL_GENERATION, "commit_offsets", "").unwrap();
        assert_eq!(r.on_answer(&Err(illegal)), Verdict::Retry(1));
        assert_eq!(
            r.on_answer(&Err(stale())),
            Verdict::GiveUp,
            "attempts used up"
        );
        let mut r = CommitRetry::new(vec![off(0, 10)], 5, true, 2);
        let fenced = Error::from_code(110, "commit_offsets", "fenced").unwrap();
        assert_eq!(
            r.on_answer(&Err(fenced)),
            Verdict::GiveUp,
            "FENCED_MEMBER_EPOCH: lost"
        );
        let moved = Error::from_code(16, "commit_offsets", "not coordinator").unwrap();
        assert_eq!(r.on_answer(&Err(moved)), Verdict::Retry(0));
        assert_eq!(r.on_answer(&Ok(())), Verdict::Done);
    }

    /// The member's epoch moves (5 -> 6) between two attempts and partition 1 goes to another
    /// member: the retry carries epoch 6 and partition 0 only; partition 1 is dropped.
    #[tokio::test(start_paused = true)]
    async fn a_retry_reads_the_live_epoch_and_drops_what_the_member_no_longer_owns() {
        use std::sync::{Arc, Mutex};
        let live = Arc::new(Mutex::new(standing(5, &[0, 1])));
        /// Each attempt: its epoch, its offsets, when it went.
        type Sent = Vec<(i32, Vec<CommitOffset>, Instant)>;
        let sent: Arc<Mutex<Sent>> = Default::default();
        let t0 = Instant::now();
        let outcome = run_commit(
            "g",
            CommitRetry::new(vec![off(0, 10), off(1, 20)], 5, true, 5),
            || {
                let now = live.lock().unwrap().clone();
                async move { Some(now) }
            },
            |epoch, offsets| {
                let mut log = sent.lock().unwrap();
                log.push((epoch, offsets, Instant::now()));
                let first = log.len() == 1;
                if first {
                    // While the first attempt is out, a heartbeat brings epoch 6 and the
                    // member gives partition 1 up.
                    *live.lock().unwrap() = standing(6, &[0, 2]);
                }
                async move {
                    if first {
                        Err(stale())
                    } else {
                        Ok(())
                    }
                }
            },
            |_| Duration::from_millis(300),
        )
        .await;
        let sent = sent.lock().unwrap();
        assert_eq!(sent.len(), 2);
        assert_eq!(
            (sent[0].0, sent[0].1.clone()),
            (5, vec![off(0, 10), off(1, 20)])
        );
        assert_eq!(
            (sent[1].0, sent[1].1.clone()),
            (6, vec![off(0, 10)]),
            "the retry carries the live epoch and only what is still owned"
        );
        assert_eq!(
            sent[1].2 - sent[0].2,
            Duration::from_millis(300),
            "after the backoff"
        );
        assert_eq!(Instant::now() - t0, Duration::from_millis(300));
        assert_eq!(outcome.committed, vec![(TopicPartition::new("t", 0), 10)]);
        let e = outcome.result.unwrap_err();
        assert_eq!(
            e.code(),
            Some(STALE_MEMBER_EPOCH),
            "whoever asked learns that partition 1 was not committed"
        );
        assert!(
            e.message()
                .contains(&format!("{:?}", [TopicPartition::new("t", 1)])),
            "{e}"
        );
    }

    /// A stale answer before the member has heard of its new epoch: the retry waits, and goes
    /// once the heartbeat has brought the epoch.
    #[tokio::test(start_paused = true)]
    async fn a_stale_answer_waits_for_the_new_epoch() {
        use std::sync::{Arc, Mutex};
        let live = Arc::new(Mutex::new(standing(5, &[0])));
        let epochs: Arc<Mutex<Vec<i32>>> = Default::default();
        let outcome = run_commit(
            "g",
            CommitRetry::new(vec![off(0, 10)], 5, true, 5),
            || {
                let now = live.lock().unwrap().clone();
                async move { Some(now) }
            },
            |epoch, _| {
                let mut log = epochs.lock().unwrap();
                log.push(epoch);
                if log.len() == 2 {
                    *live.lock().unwrap() = standing(6, &[0]);
                }
                async move {
                    if epoch == 6 {
                        Ok(())
                    } else {
                        Err(stale())
                    }
                }
            },
            |_| Duration::from_millis(100),
        )
        .await;
        assert_eq!(*epochs.lock().unwrap(), vec![5, 5, 6]);
        assert!(outcome.result.is_ok());
        assert_eq!(outcome.committed, vec![(TopicPartition::new("t", 0), 10)]);
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
