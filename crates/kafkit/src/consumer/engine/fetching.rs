//! Fetching: which partitions to ask each leader for, one fetch in flight per broker, and what
//! an answer does to each partition (records buffered, position moved, new leader followed,
//! offsets reset, a truncated log detected). Requests and decoding are in `fetch::wire::fetch`.
//!
//! Planning (`Fetching::plan`) needs no broker: a metadata snapshot and the partitions in, one
//! fetch per broker out; its tests are in `fetching_tests.rs`. Just over 600 lines: planning and
//! answer handling share the in-flight and session state, which is what this file owns.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use crate::protocol::messages::FetchRequest;
use tokio::time::Instant;
use uuid::Uuid;

use super::super::config::{AutoOffsetReset, ConsumerConfig, IsolationLevel};
use super::pacing::Pacing;
use super::partitions::{Failure, PartitionState, Partitions};
use super::report::{FetchAnswer, Internal, ResetResult};
use super::Ctx;
use crate::cluster::ClusterMetadata;
use crate::error::{Error, ErrorKind, ResponseError, Result};
use crate::events::{Event, TopicPartition};
use crate::fetch::leader::Watched;
use crate::fetch::message::Batch;
use crate::fetch::send::{self, Observed};
use crate::fetch::session::{FetchSession, SessionFetch};
use crate::fetch::source::{Ended, Sources};
use crate::fetch::{wire, Budget, FetchPosition, FetchTarget, FetchedPartition};
use crate::groups::offsets;
use crate::net::Lane;
use crate::Kafka;

/// How long a partition whose fetch failed waits before it is fetched again.
const FETCH_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// How long a replica the leader named is read from before the leader is asked again
/// (Java: `metadata.max.age.ms`).
const READ_REPLICA_FOR: Duration = Duration::from_secs(300);

/// The fetches in flight.
#[derive(Default)]
pub(super) struct Fetching {
    /// Each broker's source (`fetch/source.rs`): the fetch in flight, the prefetch space it
    /// may fill, its pace and its incremental fetch session (KIP-227).
    sources: Sources<FetchSession>,
    /// Offset lookups that keep failing, paced (`pacing.rs`).
    pacing: Pacing,
}

/// What [`Fetching::plan`] decided.
struct Plan {
    /// One per broker to fetch from now.
    fetches: Vec<PlannedFetch>,
    /// What each of these fetches may decode (the free prefetch space, shared).
    budget: Budget,
    /// A partition has no leader: metadata should be asked again.
    refresh_metadata: bool,
}

/// One broker's fetch.
struct PlannedFetch {
    node: i32,
    targets: Vec<FetchTarget>,
    /// The partitions' generations when asked (an answer for an older one is dropped).
    generations: HashMap<TopicPartition, u64>,
    /// What the fetch session sends (`None`: sessions are off).
    session: Option<SessionFetch>,
}

impl Fetching {
    /// Looks up `tp`'s position by `reset` (a seek to the earliest or latest offset).
    pub fn look_up(&mut self, tp: TopicPartition, reset: AutoOffsetReset) {
        self.pacing.look_up([tp], reset);
    }

    /// Starts a fetch from every leader with a partition to read that has none in flight
    /// (what to ask is [`Fetching::plan`]'s; this starts the tasks).
    pub fn start(
        &mut self,
        ctx: &Ctx<'_>,
        parts: &Partitions,
        revoking: &BTreeSet<TopicPartition>,
        now: Instant,
    ) {
        for (reset, tps) in self.pacing.due_lookups(parts, now) {
            spawn_reset(ctx, tps, reset);
        }
        let snapshot = ctx.kafka.cluster().snapshot();
        let plan = self.plan(&snapshot, ctx.config, parts, revoking, now);
        if plan.refresh_metadata {
            ctx.kafka.cluster().invalidate();
        }
        for fetch in plan.fetches {
            let PlannedFetch {
                node,
                targets,
                generations,
                session,
            } = fetch;
            let kafka = ctx.kafka.clone();
            let config = ctx.config.clone();
            let budget = plan.budget.check_crcs(ctx.config.check_crcs);
            let observed = Observed::start(ctx.kafka, node);
            let span = send::span(
                &ctx.config.group_id,
                node,
                targets.first().map(|t| t.partition.topic.as_str()),
            );
            ctx.report.spawn(tracing::Instrument::instrument(
                async move {
                    let result =
                        fetch_once(&kafka, node, &config, &targets, session.as_ref(), budget).await;
                    if let Ok((parts, _)) = &result {
                        observed.answered(&kafka, parts.iter().map(|p| p.messages.len()).sum());
                    }
                    Internal::Fetched(FetchAnswer {
                        node,
                        result,
                        generations,
                    })
                },
                span,
            ));
        }
    }

    /// The fetches to start now, from the metadata `snapshot`: for each broker with a
    /// partition to read and no fetch in flight, its partitions (from the leader, or the read
    /// replica the leader named while it lasts), and what its session sends. Those brokers
    /// count as in flight from here on. Partitions paused, held by the handler, being revoked
    /// or backing off are left out, and a broker whose records are with the handler gets no
    /// long poll of only caught-up ones. No I/O: [`Fetching::start`] acts on the plan.
    fn plan(
        &mut self,
        snapshot: &ClusterMetadata,
        config: &ConsumerConfig,
        parts: &Partitions,
        revoking: &BTreeSet<TopicPartition>,
        now: Instant,
    ) -> Plan {
        let mut plan = Plan {
            fetches: Vec::new(),
            budget: Budget::new(0),
            refresh_metadata: false,
        };
        let reserved = self.sources.reserved();
        let free = config
            .max_prefetch_bytes
            .saturating_sub(parts.buffered_bytes + reserved);
        // A batch too large for a share of the space is read alone, with all of it, once
        // nothing else is held; until then nothing else is fetched, or it could wait for ever.
        // Only while it can be fetched at all (a leader, no backoff): otherwise it would hold
        // the others back.
        let whole = parts.states.iter().find(|(tp, st)| {
            st.needs_whole_budget
                && st.position.is_some()
                && st.failure.is_none()
                && !st.paused
                && st.buffered.is_empty()
                && !st.in_process
                && st.backoff_until.is_none_or(|b| b <= now)
                && !revoking.contains(*tp)
                && snapshot
                    .topic(&tp.topic)
                    .and_then(|t| t.partition(tp.partition))
                    .is_some_and(|p| p.leader >= 0)
        });
        // No room: no fetch starts, but partitions without a leader are still seen to.
        let mut room = free > 0;
        let only = match whole {
            Some(_) if parts.buffered_bytes > 0 || self.sources.any_in_flight() => {
                room = false;
                None
            }
            Some((tp, _)) => {
                plan.budget = Budget::whole(config.max_prefetch_bytes);
                Some(tp)
            }
            None => None,
        };
        let mut by_leader: BTreeMap<i32, Vec<FetchTarget>> = BTreeMap::new();
        // Brokers with a partition that may have records right now.
        let mut eager: HashSet<i32> = HashSet::new();
        let mut generations: HashMap<i32, HashMap<TopicPartition, u64>> = HashMap::new();
        let mut missing_leader = false;
        // Brokers leading a partition whose records are still with the handler: it will want
        // fetching again soon, so those brokers get no long poll of only caught-up partitions
        // (it would hold their fetch socket for max_wait).
        let mut busy: HashSet<i32> = HashSet::new();
        for (tp, st) in &parts.states {
            let Some(position) = st.position else {
                continue;
            };
            if st.failure.is_some() || only.is_some_and(|o| o != tp) {
                continue;
            }
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
            // KIP-392: the replica the leader named, while it is still a live replica.
            let node = st
                .read_replica
                .filter(|(r, until)| {
                    *until > now && p.replicas.contains(r) && snapshot.brokers.contains_key(r)
                })
                .map_or(p.leader, |(r, _)| r);
            if !room || !self.sources.ready(node, now) {
                continue;
            }
            by_leader.entry(node).or_default().push(FetchTarget {
                partition: tp.clone(),
                topic_id: topic.id,
                position: FetchPosition {
                    offset: position,
                    current_leader_epoch: p.leader_epoch,
                    last_fetched_epoch: st.last_epoch.unwrap_or(-1),
                },
                max_bytes: st.fetch_max_bytes.unwrap_or(config.max_bytes_per_partition),
            });
            generations
                .entry(node)
                .or_default()
                .insert(tp.clone(), st.generation);
            if !st.caught_up {
                eager.insert(node);
            }
        }
        by_leader.retain(|node, _| !busy.contains(node) || eager.contains(node));
        plan.refresh_metadata = missing_leader && self.sources.leaderless(now);
        // The free prefetch space, shared by the fetches that start now.
        if only.is_none() {
            plan.budget = Budget::new((free / by_leader.len().max(1)).max(1));
        }
        for (node, targets) in by_leader {
            let session = self.sources.begin(node, plan.budget.total(), now);
            let session = config.fetch_sessions.then(|| session.prepare(&targets));
            plan.fetches.push(PlannedFetch {
                node,
                generations: generations.remove(&node).unwrap_or_default(),
                targets,
                session,
            });
        }
        plan
    }

    /// Test helper: `node`'s fetch ended, answered (`Some`: with that session id) or not,
    /// without pacing the next (the pace is `fetch/source.rs`'s, tested there).
    #[cfg(test)]
    fn settle(&mut self, node: i32, session_id: Option<i32>) {
        let s = self
            .sources
            .end(node, Ended::Answered { idle: false }, Instant::now());
        match session_id {
            Some(id) => s.on_answer(id),
            None => s.on_error(),
        }
    }

    /// The earliest time a partition's fetch backoff, the metadata retry or a paced fetch or
    /// lookup ends.
    pub fn next_deadline(&self, parts: &Partitions) -> Option<Instant> {
        parts
            .states
            .values()
            .filter_map(|st| st.backoff_until)
            .chain(self.sources.next_deadline())
            .chain(self.pacing.next_deadline())
            .min()
    }

    /// An offset lookup ended. Found positions are applied (a partition sought meanwhile keeps
    /// its own); a partition whose lookup failed is tried again, paced, or it would never be
    /// read again; the user is told once that it waits.
    pub fn on_reset(&mut self, ctx: &Ctx<'_>, parts: &mut Partitions, result: ResetResult) {
        let ResetResult {
            found,
            failed,
            reset,
        } = result;
        for (tp, offset) in found {
            let from = parts.reset_to(&tp, offset);
            if let Some(message) = from.and_then(|from| reset_warning(&tp, from, offset, reset)) {
                tracing::warn!(group = %ctx.config.group_id, "{message}");
                ctx.kafka.emit(Event::Warning { message });
            }
        }
        self.wait_for_offsets(ctx, failed, reset);
    }

    /// Partitions assigned without a position (its lookup failed): they wait, looked up again
    /// at a paced rate, while the others are read; each is named in a warning once.
    pub fn wait_for_offsets(
        &mut self,
        ctx: &Ctx<'_>,
        failed: Vec<(TopicPartition, Error)>,
        reset: AutoOffsetReset,
    ) {
        for message in self.pacing.lookup_failed(failed, reset) {
            tracing::warn!(group = %ctx.config.group_id, "{message}");
            ctx.kafka.emit(Event::Warning { message });
        }
    }

    /// Applies a broker's fetch answer. Its generations are those of the partitions when
    /// it was sent: a partition sought or reassigned since ignores its part. Returns an error
    /// the consumer cannot go on with (out of range or truncated with auto_offset_reset none).
    pub fn on_fetched(
        &mut self,
        ctx: &Ctx<'_>,
        parts: &mut Partitions,
        answer: FetchAnswer,
        reset: AutoOffsetReset,
        now: Instant,
    ) -> Option<Error> {
        let FetchAnswer {
            node,
            result,
            generations,
        } = answer;
        let fetched = match result {
            Ok((p, session_id)) => {
                let moved = moved(&p);
                // A partition that moved looks its offsets up at once again next time.
                self.pacing.moved(&moved);
                let idle = moved.is_empty();
                self.sources
                    .end(node, Ended::Answered { idle }, now)
                    .on_answer(session_id);
                p
            }
            Err(e) => {
                // The broker's view of the session is unknown now: the next fetch opens anew.
                self.sources.end(node, Ended::Failed, now).on_error();
                tracing::debug!(error = %e, "fetch failed");
                // A replica that fails is left for the leader (KIP-392 falls back to it).
                for tp in generations.keys() {
                    if let Some(st) = parts.states.get_mut(tp) {
                        if st.read_replica.is_some_and(|(r, _)| r == node) {
                            st.read_replica = None;
                        }
                    }
                }
                if e.needs_metadata_refresh() {
                    ctx.kafka.cluster().invalidate();
                }
                for tp in generations.keys() {
                    if let Some(st) = parts.states.get_mut(tp) {
                        st.backoff_until = Some(now + FETCH_ERROR_BACKOFF);
                    }
                }
                return None;
            }
        };
        let mut resets = Vec::new();
        // An incremental answer leaves out the partitions that have nothing new: they are
        // caught up (a full answer lists every partition asked for).
        let mut unanswered: HashSet<TopicPartition> = generations.keys().cloned().collect();
        for fp in &fetched {
            unanswered.remove(&fp.partition);
        }
        for tp in unanswered {
            if let Some(st) = parts.states.get_mut(&tp) {
                if generations.get(&tp) == Some(&st.generation) {
                    st.caught_up = true;
                }
            }
        }
        for fp in fetched {
            let Some(st) = parts.states.get_mut(&fp.partition) else {
                continue;
            };
            if generations.get(&fp.partition) != Some(&st.generation)
                || st.position != Some(fp.fetch_offset)
            {
                continue; // sought or reassigned while the fetch was in flight
            }
            if let Some((epoch, end_offset)) = fp.diverging {
                if let Some(e) = on_diverging(
                    ctx,
                    parts,
                    &fp.partition,
                    fp.fetch_offset,
                    epoch,
                    end_offset,
                    reset,
                ) {
                    return Some(e);
                }
                continue;
            }
            if let Some(replica) = fp.preferred_read_replica {
                if replica != node {
                    tracing::debug!(partition = %fp.partition, replica, "reading from the replica the leader named");
                    st.read_replica = Some((replica, now + READ_REPLICA_FOR));
                    st.caught_up = false;
                }
                continue;
            }
            let from_replica = st.read_replica.is_some_and(|(r, _)| r == node);
            if let Some(e) = fp.error {
                if from_replica {
                    // The replica cannot serve it (lagging, no longer a replica, out of
                    // range below its high watermark): back to the leader, which decides.
                    tracing::debug!(partition = %fp.partition, error = %e, "the read replica failed; fetching from the leader");
                    st.read_replica = None;
                    continue;
                }
                match e.kafka_error() {
                    Some(ResponseError::OffsetOutOfRange) => {
                        resets.push((fp.partition.clone(), fp.fetch_offset))
                    }
                    _ => {
                        // KIP-951: the broker names the new leader; fetch from it at once.
                        let hinted = fp
                            .leader_hint
                            .as_ref()
                            .is_some_and(|h| h.follow(ctx.kafka, &fp.partition));
                        if e.needs_metadata_refresh() && !hinted {
                            ctx.kafka.cluster().invalidate();
                        }
                        if !e.is_retriable()
                            && e.kafka_error() != Some(ResponseError::FencedLeaderEpoch)
                        {
                            tracing::warn!(error = %e, "fetch error");
                        }
                        st.backoff_until = Some(now + FETCH_ERROR_BACKOFF);
                    }
                }
                continue;
            }
            if let Some(need) = fp.needs_bytes {
                // Ask for the whole batch next time, within the prefetch budget.
                if need as usize > ctx.config.max_prefetch_bytes {
                    let cause = Error::new(
                        ErrorKind::TooLarge,
                        "fetch",
                        format!("the record batch there is {need} bytes, more than max_prefetch_bytes ({}); raise max_prefetch_bytes to read it", ctx.config.max_prefetch_bytes),
                    );
                    let e = Error::corrupt_record(&fp.partition, fp.fetch_offset, None, &cause);
                    stop_partition(ctx, st, &fp.partition, fp.fetch_offset, e);
                } else {
                    st.fetch_max_bytes = Some(need);
                }
                continue;
            }
            st.fetch_max_bytes = None;
            if let Some(e) = fp.failure {
                // Records before the failure (none here: see fetch::decode) went on;
                // the position stays at the records that cannot be read.
                st.position = Some(fp.next_offset);
                if fp.next_epoch.is_some() {
                    st.last_epoch = fp.next_epoch;
                }
                stop_partition(ctx, st, &fp.partition, fp.next_offset, e);
                continue;
            }
            if fp.needs_whole_budget {
                tracing::debug!(partition = %fp.partition, offset = fp.next_offset, "a batch inflates past one fetch's share of max_prefetch_bytes; reading it alone");
                st.needs_whole_budget = true;
            } else if !fp.messages.is_empty() {
                st.needs_whole_budget = false;
            }
            // At the end of what may be read (the last stable offset under read_committed).
            let end = if ctx.config.isolation_level == IsolationLevel::ReadCommitted
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
            let topic = fp.messages.first().map_or_else(
                || std::sync::Arc::from(fp.partition.topic.as_str()),
                |m| m.topic.clone(),
            );
            let lag = fp.high_watermark - fp.next_offset;
            let n = fp.messages.len();
            crate::metrics::fetched(&topic, fp.partition.partition, n, fp.bytes, lag);
            if fp.next_epoch.is_some() {
                st.last_epoch = fp.next_epoch;
            }
            st.backoff_until = None;
            if !fp.messages.is_empty() {
                let batch = Batch::new(
                    fp.messages[0].topic.clone(),
                    fp.partition.partition,
                    fp.high_watermark,
                    fp.messages,
                    fp.retained,
                );
                parts.buffered_bytes += batch.approx_bytes();
                st.buffered.push_back(batch);
            } else if fp.next_offset > fp.fetch_offset {
                // Only records the application never sees (a transaction marker, an aborted
                // transaction): reported as a batch of none, as KafkaJS does.
                st.buffered.push_back(Batch::skipped(
                    topic,
                    fp.partition.partition,
                    fp.high_watermark,
                    fp.fetch_offset,
                    fp.next_offset - 1,
                ));
            }
        }
        if resets.is_empty() {
            None
        } else {
            reset_offsets(parts, &mut self.pacing, resets, reset)
        }
    }
}

/// Records of `tp` at `offset` cannot be read: the partition is not fetched again until the
/// application seeks (or it is reassigned), and the error reaches the application once what
/// was read before it has (the run or stream error), and as an event now.
fn stop_partition(
    ctx: &Ctx<'_>,
    st: &mut PartitionState,
    tp: &TopicPartition,
    offset: i64,
    error: Error,
) {
    tracing::warn!(group = %ctx.config.group_id, partition = %tp, offset, "{error}");
    ctx.kafka.emit(Event::PartitionStopped {
        group_id: ctx.config.group_id.clone(),
        partition: tp.clone(),
        offset,
        error: error.to_string(),
    });
    st.caught_up = false;
    st.needs_whole_budget = false;
    st.failure = Some(Failure {
        error,
        reported: false,
    });
}

/// The leader's log does not hold what was read at `fetch_offset` (KIP-320): its epoch
/// `epoch` ends at `end_offset`. Below the position, the records from `end_offset` on were
/// lost by an unclean leader election: reported, and reading resumes where the logs agree
/// (none of the new leader's records skipped, none read twice); with auto_offset_reset none
/// the consumer stops instead. Otherwise only the epoch was unknown to the leader: the
/// position holds, checked against the leader's epoch from now on.
fn on_diverging(
    ctx: &Ctx<'_>,
    parts: &mut Partitions,
    tp: &TopicPartition,
    fetch_offset: i64,
    epoch: i32,
    end_offset: i64,
    reset: AutoOffsetReset,
) -> Option<Error> {
    if end_offset >= fetch_offset {
        if let Some(st) = parts.states.get_mut(tp) {
            st.last_epoch = Some(epoch).filter(|e| *e >= 0);
        }
        return None;
    }
    let lost = fetch_offset - end_offset;
    if reset == AutoOffsetReset::None {
        return Some(Error::new(
            ErrorKind::Kafka(ResponseError::OffsetOutOfRange),
            "fetch",
            format!("log truncation on {tp}: the leader's log ends at offset {end_offset} where this consumer had read up to {fetch_offset} ({lost} records lost by an unclean leader election) and auto_offset_reset is none; seek to {end_offset} to read on, or set auto_offset_reset"),
        ));
    }
    let message = format!("log truncation on {tp}: the leader's log ends at offset {end_offset} where this consumer had read up to {fetch_offset}; {lost} records were lost from the log by an unclean leader election; reading on from {end_offset}");
    tracing::warn!(group = %ctx.config.group_id, "{message}");
    ctx.kafka.emit(Event::Warning { message });
    parts.truncate(tp, end_offset, epoch);
    None
}

/// OFFSET_OUT_OF_RANGE: the positions of `tps` move as `reset` says (looked up in a task as
/// soon as [`Pacing`] allows), or the consumer stops when it says none.
fn reset_offsets(
    parts: &mut Partitions,
    pacing: &mut Pacing,
    resets: Vec<(TopicPartition, i64)>,
    reset: AutoOffsetReset,
) -> Option<Error> {
    if reset == AutoOffsetReset::None {
        let named: Vec<String> = resets
            .iter()
            .map(|(tp, offset)| format!("{tp} at offset {offset}"))
            .collect();
        return Some(Error::new(
            ErrorKind::Kafka(ResponseError::OffsetOutOfRange),
            "fetch",
            format!("offsets out of range ({}: deleted by retention, or past the log's end) and auto_offset_reset is none; seek to a valid offset or set auto_offset_reset", named.join(", ")),
        ));
    }
    let mut tps = Vec::with_capacity(resets.len());
    for (tp, offset) in resets {
        if let Some(st) = parts.states.get_mut(&tp) {
            st.position = None;
            st.out_of_range_at = Some(offset);
        }
        tps.push(tp);
    }
    pacing.look_up(tps, reset);
    None
}

/// What a user is told when an out-of-range offset was reset: records were skipped (the log
/// start passed them: retention or a delete), or reading moved back. Nothing when it did not
/// move. The Java client logs such resets; they are silent loss otherwise.
fn reset_warning(
    tp: &TopicPartition,
    from: i64,
    to: i64,
    reset: AutoOffsetReset,
) -> Option<String> {
    let policy = match reset {
        AutoOffsetReset::Earliest => "earliest",
        AutoOffsetReset::Latest => "latest",
        AutoOffsetReset::None => "none",
    };
    match to.cmp(&from) {
        std::cmp::Ordering::Equal => None,
        std::cmp::Ordering::Greater => Some(format!(
            "offset {from} of {tp} is out of range; auto_offset_reset {policy} moved reading to {to}: {} records were skipped (deleted by retention or a delete before this consumer read them, or passed over by the reset); consume faster than the topic's retention, or set auto_offset_reset none to stop instead",
            to - from
        )),
        // Past the log's end: what lies between is gone, so no count of repeats is claimed.
        std::cmp::Ordering::Less => Some(format!(
            "offset {from} of {tp} is past the log's end (the log was truncated, or the topic deleted and created again); auto_offset_reset {policy} moved reading back to {to}, and records from there on are read, including any this consumer may have read before"
        )),
    }
}

/// Looks up the positions `reset` gives `tps`, in a task; each partition on its own (one
/// without a leader does not hold back the others).
fn spawn_reset(ctx: &Ctx<'_>, tps: Vec<TopicPartition>, reset: AutoOffsetReset) {
    let kafka = ctx.kafka.clone();
    let read_committed = ctx.config.isolation_level == IsolationLevel::ReadCommitted;
    let ts = if reset == AutoOffsetReset::Earliest {
        offsets::EARLIEST
    } else {
        offsets::LATEST
    };
    ctx.report.spawn(async move {
        let (found, failed) = offsets::list_offsets_each(&kafka, &tps, ts, read_committed).await;
        Internal::Reset(ResetResult {
            found: found.into_iter().map(|(tp, f)| (tp, f.offset)).collect(),
            failed,
            reset,
        })
    });
}

/// The partitions of an answer that got anywhere: records, or a position that moved (records
/// skipped as aborted, or control records, count).
fn moved(parts: &[FetchedPartition]) -> Vec<TopicPartition> {
    parts
        .iter()
        .filter(|fp| !fp.messages.is_empty() || fp.next_offset != fp.fetch_offset)
        .map(|fp| fp.partition.clone())
        .collect()
}

/// One fetch from `node`: the partitions and the session id the broker answered with (0: no
/// session).
async fn fetch_once(
    kafka: &Kafka,
    node: i32,
    config: &ConsumerConfig,
    targets: &[FetchTarget],
    session: Option<&SessionFetch>,
    mut budget: Budget,
) -> Result<(Vec<FetchedPartition>, i32)> {
    let watched: Vec<Watched> = targets
        .iter()
        .map(|t| Watched {
            partition: t.partition.clone(),
            leader_epoch: t.position.current_leader_epoch,
        })
        .collect();
    let fetch = send::Fetch {
        node,
        lane: Lane::Fetch,
        max_wait: config.max_wait,
        watched: &watched,
    };
    let params = config.fetch_params();
    let (resp, version) = send::send(kafka, &fetch, |_, version| {
        Ok::<FetchRequest, Error>(wire::fetch::build_request(
            version, &params, targets, session,
        ))
    })
    .await?;
    // Before v13 the request went sessionless (see build_request).
    let session_id = if version >= 13 && session.is_some() {
        resp.session_id
    } else {
        0
    };
    let names: HashMap<Uuid, String> = targets
        .iter()
        .map(|t| (t.topic_id, t.partition.topic.clone()))
        .collect();
    let offsets: HashMap<TopicPartition, i64> = targets
        .iter()
        .map(|t| (t.partition.clone(), t.position.offset))
        .collect();
    let parts =
        wire::fetch::parse_response(resp, &names, &offsets, config.isolation_level, &mut budget)?;
    Ok((parts, session_id))
}

#[cfg(test)]
#[path = "fetching_tests.rs"]
mod tests;
