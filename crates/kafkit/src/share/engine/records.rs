//! The records' owner: which partitions each broker's ShareFetch asks for, the acknowledgements
//! sent to each broker, and every acquired record from its fetch until its fate is sent to the
//! broker. Each broker's fetch in flight, pace and share session are its source's
//! (`fetch/source.rs`, the group consumer's rule too).
//!
//! A broker is fetched from again only once every record of its last answer has been decided
//! (processed, acknowledged or released): the next ShareFetch then carries those
//! acknowledgements, and records are never acquired far ahead of the handler, where their
//! acquisition lock would run out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use uuid::Uuid;

use super::report::{CommitResult, Delivered, Internal};
use super::requests::{self, AckSet, Who};
use crate::error::{Error, ErrorKind, Result};
use crate::events::{Event, TopicPartition};
use crate::fetch::leader::Watched;
use crate::fetch::send::{self, Observed};
use crate::fetch::share_session::{ShareSession, CLOSE};
use crate::fetch::source::{Ended, Sources};
use crate::fetch::wire::share_fetch::{self, ShareAnswer};
use crate::fetch::Budget;
use crate::net::Lane;
use crate::protocol::messages::ShareFetchRequest;
use crate::share::acks::{AcknowledgeType, GAP, RENEW};
use crate::share::{ShareConsumerConfig, ShareRecord};
use crate::Kafka;

/// What the records' owner uses of the engine's.
pub(super) struct Ctx<'a> {
    pub kafka: &'a Kafka,
    pub config: &'a ShareConsumerConfig,
    pub member_id: &'a str,
    pub names: &'a HashMap<Uuid, String>,
    pub report: &'a mpsc::UnboundedSender<Internal>,
    pub deliver: &'a mpsc::UnboundedSender<Delivered>,
}

impl Ctx<'_> {
    /// Who asks, for a request: requests name topics by id (`ids`, from [`ids_by_name`]).
    fn who<'b>(&'b self, ids: &'b BTreeMap<String, Uuid>) -> Who<'b> {
        Who {
            group: &self.config.group_id,
            member: self.member_id,
            names: self.names,
            ids,
        }
    }
}

/// Topic ids by name, as `snapshot` of metadata knows them.
fn ids_by_name(snapshot: &crate::cluster::ClusterMetadata) -> BTreeMap<String, Uuid> {
    snapshot
        .topics
        .values()
        .map(|t| (t.name.clone(), t.id))
        .collect()
}

/// What this member owes one broker: decisions on the records it acquired there.
#[derive(Default)]
struct Node {
    /// Records of the last answer not decided yet: no fetch before they are.
    outstanding: usize,
    /// Decided, not sent yet.
    to_ack: AckSet,
    /// ShareAcknowledge requests out.
    acking: usize,
    /// Commits waiting for the answer of the fetch in flight (it carries acknowledgements).
    fetch_waiters: Vec<u64>,
    /// The fetch in flight carries acknowledgements.
    fetch_carries_acks: bool,
}

struct Commit {
    waiting: usize,
    results: CommitResult,
    reply: oneshot::Sender<CommitResult>,
}

pub(super) struct Records {
    /// The member's own socket to each broker (long polls must not hold up others').
    lane: Lane,
    /// Each broker's fetch in flight, pace and share session.
    sources: Sources<ShareSession>,
    nodes: HashMap<i32, Node>,
    /// Records with the user, by the broker they came from.
    in_hand: HashMap<TopicPartition, BTreeMap<i64, i32>>,
    lock_timeout: Duration,
    commits: HashMap<u64, Commit>,
    next_commit: u64,
}

impl Records {
    pub fn new() -> Self {
        Records {
            lane: Lane::private(),
            sources: Sources::default(),
            nodes: HashMap::new(),
            in_hand: HashMap::new(),
            lock_timeout: Duration::from_secs(30),
            commits: HashMap::new(),
            next_commit: 0,
        }
    }

    pub fn lane(&self) -> Lane {
        self.lane
    }

    /// The earliest time a paced fetch may go, or metadata be asked again.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.sources.next_deadline()
    }

    /// The user's acknowledgement of a record it holds: decided now (it goes with the next
    /// request to its broker); the handler's result no longer counts for it.
    pub fn acknowledge(
        &mut self,
        tp: &TopicPartition,
        offset: i64,
        kind: AcknowledgeType,
    ) -> Result<()> {
        if self.decide(tp, offset, kind) {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::Config,
            "acknowledge",
            format!("record {tp}@{offset} is not held by this consumer (already acknowledged, or its batch was settled); acknowledge each record once, before the next batch"),
        ))
    }

    /// Renews the acquisition lock of a record this member holds (KIP-1222): the broker keeps it
    /// for this member for another lock duration. The record stays held, undecided.
    pub fn renew(
        &mut self,
        ctx: &Ctx<'_>,
        tp: TopicPartition,
        offset: i64,
        reply: oneshot::Sender<Result<()>>,
    ) {
        let Some(&node) = self.in_hand.get(&tp).and_then(|h| h.get(&offset)) else {
            let _ = reply.send(Err(Error::new(
                ErrorKind::Config,
                "renew",
                format!("record {tp}@{offset} is not held by this consumer; renew a record before acknowledging it"),
            )));
            return;
        };
        let Some(epoch) = self.sources.get_mut(node).session.next_ack() else {
            let _ = reply.send(Err(Error::new(
                ErrorKind::Closed,
                "renew",
                "the share session this record was acquired in is gone; it is delivered again",
            )));
            return;
        };
        let ids = ids_by_name(&ctx.kafka.cluster().snapshot());
        let who = ctx.who(&ids);
        let mut acks = AckSet::new();
        acks.insert(tp.clone(), [(offset, RENEW)].into_iter().collect());
        let req = requests::acknowledge(&who, epoch, &acks);
        let (kafka, lane, names) = (ctx.kafka.clone(), self.lane, ctx.names.clone());
        tokio::spawn(async move {
            let res = requests::send_renew(&kafka, node, lane, &req, &names)
                .await
                .and_then(|parts| match parts.into_iter().find(|(p, _)| *p == tp) {
                    Some((_, Some(e))) => Err(e),
                    _ => Ok(()),
                });
            let _ = reply.send(res);
        });
    }

    /// The handler is done with these records: each still held gets `kind` (those it
    /// acknowledged itself were decided then).
    pub fn decided(&mut self, tp: &TopicPartition, decisions: Vec<(i64, AcknowledgeType)>) {
        for (offset, kind) in decisions {
            self.decide(tp, offset, kind);
        }
    }

    /// Closing: what the user still holds goes back to the group.
    pub fn release_held(&mut self) {
        let held: Vec<(TopicPartition, i64)> = self
            .in_hand
            .iter()
            .flat_map(|(tp, h)| h.keys().map(|o| (tp.clone(), *o)))
            .collect();
        for (tp, o) in held {
            self.decide(&tp, o, AcknowledgeType::Release);
        }
    }

    /// Starts a ShareFetch at every broker that leads an assigned partition, has nothing out
    /// and whose last records are all decided.
    pub fn start_fetches(&mut self, ctx: &Ctx<'_>, assigned: &BTreeMap<TopicPartition, Uuid>) {
        if assigned.is_empty() && self.nodes.values().all(|n| n.to_ack.is_empty()) {
            return;
        }
        let now = Instant::now();
        let snapshot = ctx.kafka.cluster().snapshot();
        let mut wanted: BTreeMap<i32, BTreeSet<TopicPartition>> = BTreeMap::new();
        // The leader epoch each partition is asked at (a hung broker's fetch is given up once
        // a newer leader is named).
        let mut epochs: HashMap<TopicPartition, i32> = HashMap::new();
        let mut missing_leader = false;
        for tp in assigned.keys() {
            match snapshot
                .topic(&tp.topic)
                .and_then(|t| t.partition(tp.partition))
                .filter(|p| p.leader >= 0)
            {
                Some(p) => {
                    wanted.entry(p.leader).or_default().insert(tp.clone());
                    epochs.insert(tp.clone(), p.leader_epoch);
                }
                None => missing_leader = true,
            }
        }
        if missing_leader && self.sources.leaderless(now) {
            ctx.kafka.cluster().invalidate();
        }
        // Brokers that lead nothing now but hold acknowledgements get a fetch too (it forgets
        // the partitions and carries the acknowledgements).
        for (node, n) in &self.nodes {
            if !n.to_ack.is_empty() {
                wanted.entry(*node).or_default();
            }
        }
        for (node, source) in self.sources.iter() {
            if source.session.is_open() {
                wanted.entry(node).or_default();
            }
        }
        let ids = ids_by_name(&snapshot);
        for (node, parts) in wanted {
            let n = self.nodes.entry(node).or_default();
            if n.outstanding > 0 || n.acking > 0 || !self.sources.ready(node, now) {
                continue; // busy, or paced (see `on_fetched`)
            }
            let session = &mut self.sources.get_mut(node).session;
            if parts.is_empty() && n.to_ack.is_empty() {
                if session.is_open() {
                    // Nothing left to read there: let the session go.
                    session.reset();
                }
                continue;
            }
            let acked: BTreeSet<TopicPartition> = n.to_ack.keys().cloned().collect();
            // A partition with acknowledgements stays in the session for this fetch (it is
            // forgotten by the next one if it is no longer assigned).
            let mut parts = parts;
            parts.extend(acked.iter().cloned());
            let plan = session.next_fetch(&parts, &acked);
            let sent: AckSet = if plan.acks_allowed {
                std::mem::take(&mut n.to_ack)
            } else {
                // A new session: the records these were for went back with the old one.
                if !n.to_ack.is_empty() {
                    n.to_ack.clear();
                    Self::warn_acks_lost(ctx, &Error::closed("share_fetch"));
                }
                AckSet::new()
            };
            let who = ctx.who(&ids);
            let req = requests::fetch(&who, ctx.config, &plan, &sent);
            n.fetch_carries_acks = !sent.is_empty();
            // What the answer's records may take decoded: the bytes the fetch asks for. No
            // broker is fetched from again before its records are decided, so what is held is
            // at most this per broker.
            let budget = Budget::whole(ctx.config.max_bytes.max(1) as usize)
                .check_crcs(ctx.config.check_crcs);
            self.sources.begin(node, budget.total(), now);
            tracing::trace!(node, epoch = plan.epoch, listed = ?plan.listed, forget = ?plan.forget, acks = sent.len(), "share fetch");
            let watched: Vec<Watched> = parts
                .iter()
                .filter_map(|tp| {
                    epochs.get(tp).map(|e| Watched {
                        partition: tp.clone(),
                        leader_epoch: *e,
                    })
                })
                .collect();
            let kafka = ctx.kafka.clone();
            let (lane, max_wait) = (self.lane, ctx.config.max_wait);
            let names = ctx.names.clone();
            let tx = ctx.report.clone();
            let observed = Observed::start(ctx.kafka, node);
            let span = send::span(
                &ctx.config.group_id,
                node,
                parts.first().map(|tp| tp.topic.as_str()),
            );
            tokio::spawn(tracing::Instrument::instrument(
                async move {
                    let fetch = send::Fetch {
                        node,
                        lane,
                        max_wait,
                        watched: &watched,
                    };
                    let result = send::send(&kafka, &fetch, |conn, v| {
                        requests::check_acquire_mode(&req, v, conn.addr())?;
                        Ok::<ShareFetchRequest, Error>(req)
                    })
                    .await
                    .and_then(|(resp, _)| share_fetch::parse(resp, &names, &mut { budget }));
                    if let Ok(a) = &result {
                        observed
                            .answered(&kafka, a.partitions.iter().map(|p| p.records.len()).sum());
                    }
                    let _ = tx.send(Internal::Fetched { node, sent, result });
                },
                span,
            ));
        }
    }

    pub fn on_fetched(
        &mut self,
        ctx: &Ctx<'_>,
        node: i32,
        sent: AckSet,
        result: Result<ShareAnswer>,
    ) {
        let n = self.nodes.entry(node).or_default();
        let waiters = std::mem::take(&mut n.fetch_waiters);
        let outcome: CommitResult = match &result {
            Ok(a) => sent
                .keys()
                .map(|tp| {
                    let err = a
                        .partitions
                        .iter()
                        .find(|p| &p.partition == tp)
                        .and_then(|p| p.ack_error.clone());
                    (tp.clone(), err.map_or(Ok(()), Err))
                })
                .collect(),
            Err(e) => sent.keys().map(|tp| (tp.clone(), Err(e.clone()))).collect(),
        };
        for id in waiters {
            self.commit_part_done(id, outcome.clone());
        }
        // Paced as the group consumer's fetches are (fetch/source.rs).
        let ended = match &result {
            Err(_) => Ended::Failed,
            Ok(a) => Ended::Answered {
                idle: a.partitions.iter().all(|p| p.records.is_empty()),
            },
        };
        let session = self.sources.end(node, ended, Instant::now());
        let answer = match result {
            Ok(a) => a,
            Err(e) => {
                if e.is_retriable() {
                    tracing::debug!(node, error = %e, "share fetch failed");
                } else {
                    // Retrying will not fix it (an older broker, a refused request): said, not
                    // left to a debug line while nothing arrives.
                    tracing::warn!(node, member = %ctx.member_id, error = %e, "share fetch failed");
                    ctx.kafka.emit(Event::Warning {
                        message: e.to_string(),
                    });
                }
                // The session's state is unknown now: start a new one. Acknowledgements it
                // carried may not have arrived; the broker releases those records when their
                // lock runs out, so they are delivered again (at least once).
                session.reset();
                if e.needs_metadata_refresh() {
                    ctx.kafka.cluster().invalidate();
                }
                if !sent.is_empty() {
                    Self::warn_acks_lost(ctx, &e);
                }
                return;
            }
        };
        if let Some(t) = answer.lock_timeout {
            self.lock_timeout = t;
        }
        tracing::trace!(
            node,
            member = %ctx.member_id,
            partitions = answer.partitions.len(),
            records = answer
                .partitions
                .iter()
                .map(|p| p.records.len())
                .sum::<usize>(),
            "share fetch answer"
        );
        for part in answer.partitions {
            if let Some(e) = &part.ack_error {
                if sent.contains_key(&part.partition) {
                    tracing::warn!(partition = %part.partition, error = %e, "acknowledgements refused (a record's acquisition lock may have run out: it is delivered again)");
                    ctx.kafka.emit(Event::Warning {
                        message: e.to_string(),
                    });
                }
            }
            if let Some((e, offsets)) = &part.unread {
                // Not silently dropped: said, and released at once (not left to the lock).
                let message = format!(
                    "{} acquired record(s) of {} from offset {} cannot be read and are released to the group (the broker archives a record after its delivery limit): {e}",
                    offsets.len(),
                    part.partition,
                    offsets.first().copied().unwrap_or(-1)
                );
                tracing::warn!(member = %ctx.member_id, "{message}");
                ctx.kafka.emit(Event::Warning { message });
                let n = self.nodes.entry(node).or_default();
                let acks = n.to_ack.entry(part.partition.clone()).or_default();
                for o in offsets {
                    acks.insert(*o, AcknowledgeType::Release.code());
                }
                // The records read before them are delivered as usual.
            }
            if let Some(e) = &part.error {
                tracing::debug!(partition = %part.partition, error = %e, "share fetch partition error");
                // KIP-951: the broker names the new leader; fetch from it at once.
                let hinted = part
                    .leader_hint
                    .as_ref()
                    .is_some_and(|h| h.follow(ctx.kafka, &part.partition));
                if e.needs_metadata_refresh() && !hinted {
                    ctx.kafka.cluster().invalidate();
                }
                continue;
            }
            let n = self.nodes.entry(node).or_default();
            // Offsets acquired without a record are acknowledged with the next fetch.
            if !part.gaps.is_empty() {
                let acks = n.to_ack.entry(part.partition.clone()).or_default();
                for g in &part.gaps {
                    acks.insert(*g, GAP);
                }
            }
            if part.records.is_empty() {
                continue;
            }
            let hand = self.in_hand.entry(part.partition.clone()).or_default();
            let mut batch = Vec::with_capacity(part.records.len());
            for (message, delivery_count) in part.records {
                hand.insert(message.offset, node);
                batch.push(ShareRecord {
                    message,
                    delivery_count,
                });
            }
            n.outstanding += batch.len();
            let _ = ctx.deliver.send(Delivered {
                partition: part.partition,
                records: batch,
            });
        }
    }

    fn warn_acks_lost(ctx: &Ctx<'_>, e: &Error) {
        let message = format!("acknowledgements may not have reached the broker ({e}); their records are delivered again once their acquisition lock runs out");
        tracing::warn!("{message}");
        ctx.kafka.emit(Event::Warning { message });
    }

    /// A record's fate is decided: it leaves the user's hands and waits for the next request.
    pub fn decide(&mut self, tp: &TopicPartition, offset: i64, kind: AcknowledgeType) -> bool {
        let Some(hand) = self.in_hand.get_mut(tp) else {
            return false;
        };
        let Some(node) = hand.remove(&offset) else {
            return false;
        };
        if hand.is_empty() {
            self.in_hand.remove(tp);
        }
        let n = self.nodes.entry(node).or_default();
        n.outstanding = n.outstanding.saturating_sub(1);
        n.to_ack
            .entry(tp.clone())
            .or_default()
            .insert(offset, kind.code());
        true
    }

    /// Sends every decided acknowledgement now (ShareAcknowledge), answering `reply` with the
    /// outcome per partition once all brokers answered.
    pub fn commit(&mut self, ctx: &Ctx<'_>, reply: oneshot::Sender<CommitResult>) {
        let id = self.next_commit;
        self.next_commit += 1;
        let mut waiting = 0;
        let mut results = CommitResult::new();
        let nodes: Vec<i32> = self
            .nodes
            .iter()
            .filter(|(_, n)| !n.to_ack.is_empty())
            .map(|(k, _)| *k)
            .collect();
        // Acknowledgements riding on a fetch in flight are part of this commit too.
        for (node, n) in self.nodes.iter_mut() {
            if self.sources.get(*node).is_some_and(|s| s.in_flight()) && n.fetch_carries_acks {
                n.fetch_waiters.push(id);
                waiting += 1;
            }
        }
        for node in nodes {
            match self.send_acks(ctx, node, false, Some(id)) {
                Some(()) => waiting += 1,
                None => {
                    let n = self.nodes.entry(node).or_default();
                    for tp in std::mem::take(&mut n.to_ack).into_keys() {
                        results.push((tp, Err(Error::new(ErrorKind::Closed, "commit", "the share session these records were acquired in is gone; they are delivered again"))));
                    }
                }
            }
        }
        if waiting == 0 {
            let _ = reply.send(results);
            return;
        }
        self.commits.insert(
            id,
            Commit {
                waiting,
                results,
                reply,
            },
        );
    }

    /// A ShareAcknowledge with the broker's decided acknowledgements (`close`: and the end of
    /// the session). `None` when no session is open there.
    fn send_acks(
        &mut self,
        ctx: &Ctx<'_>,
        node: i32,
        close: bool,
        commit: Option<u64>,
    ) -> Option<()> {
        let session = &mut self.sources.get_mut(node).session;
        let epoch = if close {
            if !session.is_open() {
                return None;
            }
            session.reset();
            CLOSE
        } else {
            session.next_ack()?
        };
        let n = self.nodes.entry(node).or_default();
        let sent = std::mem::take(&mut n.to_ack);
        n.acking += 1;
        let ids = ids_by_name(&ctx.kafka.cluster().snapshot());
        let who = ctx.who(&ids);
        let req = requests::acknowledge(&who, epoch, &sent);
        let kafka = ctx.kafka.clone();
        let lane = self.lane;
        let names = ctx.names.clone();
        let tx = ctx.report.clone();
        tokio::spawn(async move {
            let result = requests::send_acknowledge(&kafka, node, lane, &req, &names).await;
            let _ = tx.send(Internal::Acked {
                node,
                commit,
                sent,
                result,
            });
        });
        Some(())
    }

    pub fn on_acked(
        &mut self,
        node: i32,
        commit: Option<u64>,
        sent: AckSet,
        result: Result<Vec<(TopicPartition, Option<Error>)>>,
    ) {
        let n = self.nodes.entry(node).or_default();
        n.acking = n.acking.saturating_sub(1);
        let per_partition: CommitResult = match result {
            Ok(parts) => {
                let mut by: HashMap<TopicPartition, Option<Error>> = parts.into_iter().collect();
                sent.into_keys()
                    .map(|tp| {
                        let r = match by.remove(&tp).flatten() {
                            Some(e) => Err(e),
                            None => Ok(()),
                        };
                        (tp, r)
                    })
                    .collect()
            }
            Err(e) => {
                self.sources.get_mut(node).session.reset();
                sent.into_keys().map(|tp| (tp, Err(e.clone()))).collect()
            }
        };
        for (tp, r) in &per_partition {
            if let Err(e) = r {
                tracing::warn!(partition = %tp, error = %e, "acknowledgement failed");
            }
        }
        if let Some(id) = commit {
            self.commit_part_done(id, per_partition);
        }
    }

    /// One of the answers commit `id` waits for came.
    fn commit_part_done(&mut self, id: u64, results: CommitResult) {
        let done = match self.commits.get_mut(&id) {
            Some(c) => {
                c.results.extend(results);
                c.waiting -= 1;
                c.waiting == 0
            }
            None => false,
        };
        if done {
            if let Some(c) = self.commits.remove(&id) {
                let _ = c.reply.send(c.results);
            }
        }
    }

    /// Closing: once no request is out anywhere, each broker's acknowledgements go with the
    /// end of its session. Returns whether that happened (the member may leave then).
    pub fn close_sessions(&mut self, ctx: &Ctx<'_>) -> bool {
        let busy = self.sources.any_in_flight() || self.nodes.values().any(|n| n.acking > 0);
        if busy {
            return false;
        }
        let nodes: BTreeSet<i32> = self
            .nodes
            .keys()
            .copied()
            .chain(self.sources.iter().map(|(node, _)| node))
            .collect();
        for node in nodes {
            if self.send_acks(ctx, node, true, None).is_none() {
                let n = self.nodes.entry(node).or_default();
                if !n.to_ack.is_empty() {
                    n.to_ack.clear();
                    Self::warn_acks_lost(ctx, &Error::closed("close"));
                }
            }
        }
        true
    }
}
