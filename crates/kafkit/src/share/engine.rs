//! The share consumer's task: it owns the membership, the coordinator connection, one share
//! session per broker and every acquired record until it is acknowledged. Slow work (requests)
//! runs in tasks that report back, so heartbeats never wait behind a long poll.
//!
//! Flow: a broker is fetched from again only once every record of its last answer has been
//! decided (processed, acknowledged or released): the next ShareFetch then carries those
//! acknowledgements, and records are never acquired far ahead of the handler, where their
//! acquisition lock would run out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use kafka_protocol::messages::share_acknowledge_request::{
    AcknowledgePartition, AcknowledgeTopic, AcknowledgementBatch as AckBatch,
};
use kafka_protocol::messages::share_fetch_request::{
    AcknowledgementBatch as FetchAckBatch, FetchPartition, FetchTopic, ForgottenTopic,
};
use kafka_protocol::messages::{
    ShareAcknowledgeRequest, ShareFetchRequest, ShareGroupHeartbeatRequest,
    ShareGroupHeartbeatResponse,
};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use uuid::Uuid;

use super::acks::{ranges, AcknowledgeType, GAP};
use super::fetch::{self, ShareAnswer};
use super::membership::{ShareAction, ShareMembership};
use super::session::{by_topic, ShareSession, CLOSE};
use super::{ShareConsumerConfig, ShareRecord};
use crate::cluster::coordinator::{connect_coordinator, COORDINATOR_BACKOFF};
use crate::cluster::CoordinatorType;
use crate::error::{Error, ErrorKind, Result};
use crate::events::{Event, TopicPartition};
use crate::net::{Connection, Lane};
use crate::Kafka;

/// Records of one partition from one answer, handed to the user.
pub(crate) struct ShareBatch {
    pub partition: TopicPartition,
    pub records: Vec<ShareRecord>,
}

/// Per-partition outcomes of a commit.
pub(crate) type CommitResult = Vec<(TopicPartition, Result<()>)>;

pub(crate) enum Command {
    Subscribe(BTreeSet<String>, oneshot::Sender<Result<()>>),
    /// The user's explicit acknowledgement of one record.
    Acknowledge(
        TopicPartition,
        i64,
        AcknowledgeType,
        oneshot::Sender<Result<()>>,
    ),
    /// The handler is done with these records: each gets this type unless acknowledged
    /// explicitly before.
    Decided(TopicPartition, Vec<(i64, AcknowledgeType)>),
    Commit(oneshot::Sender<CommitResult>),
    Assignment(oneshot::Sender<Vec<TopicPartition>>),
    Close(oneshot::Sender<Result<()>>),
}

enum Internal {
    Coordinator(Result<Connection>),
    Heartbeat(Result<ShareGroupHeartbeatResponse>),
    Names(Vec<Uuid>, Result<HashMap<Uuid, String>>),
    Fetched {
        node: i32,
        started: Instant,
        sent: AckSet,
        result: Result<ShareAnswer>,
    },
    Acked {
        node: i32,
        commit: Option<u64>,
        sent: AckSet,
        result: Result<Vec<(TopicPartition, Option<Error>)>>,
    },
}

/// Acknowledgements by partition: offset → wire type.
type AckSet = BTreeMap<TopicPartition, BTreeMap<i64, i8>>;

#[derive(Default)]
struct Node {
    session: ShareSession,
    fetching: bool,
    /// Records of the last answer not decided yet: no fetch before they are.
    outstanding: usize,
    /// Decided, not sent yet.
    to_ack: AckSet,
    /// ShareAcknowledge requests out.
    acking: usize,
}

struct Commit {
    waiting: usize,
    results: CommitResult,
    reply: oneshot::Sender<CommitResult>,
}

pub(crate) struct Engine {
    kafka: Kafka,
    config: ShareConsumerConfig,
    member: ShareMembership,
    lane: Lane,
    coordinator: Option<Connection>,
    finding: bool,
    coordinator_attempts: u32,
    coordinator_retry_at: Option<Instant>,
    /// Assigned partitions by name, with their topic ids.
    assigned: BTreeMap<TopicPartition, Uuid>,
    /// The latest assignment by id, until its names are known.
    target: Option<BTreeMap<Uuid, BTreeSet<i32>>>,
    names: HashMap<Uuid, String>,
    resolving: bool,
    nodes: HashMap<i32, Node>,
    /// Records with the user: where they came from, and an explicit acknowledgement if any.
    in_hand: HashMap<TopicPartition, BTreeMap<i64, (i32, Option<AcknowledgeType>)>>,
    lock_timeout: Duration,
    commits: HashMap<u64, Commit>,
    next_commit: u64,
    deliver: mpsc::UnboundedSender<ShareBatch>,
    commands: mpsc::UnboundedReceiver<Command>,
    report: mpsc::UnboundedSender<Internal>,
    internal: mpsc::UnboundedReceiver<Internal>,
    subscribe_reply: Option<oneshot::Sender<Result<()>>>,
    answered: bool,
    closing: Option<oneshot::Sender<Result<()>>>,
    /// Closing: final acknowledgements are out, then the leave.
    sessions_closed: bool,
    fatal: Option<Error>,
}

impl Engine {
    pub(crate) fn new(
        kafka: Kafka,
        config: ShareConsumerConfig,
        member_id: String,
        deliver: mpsc::UnboundedSender<ShareBatch>,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> Self {
        let (report, internal) = mpsc::unbounded_channel();
        Engine {
            member: ShareMembership::new(
                config.group_id.clone(),
                member_id,
                config.rack_id.clone(),
            ),
            kafka,
            config,
            lane: Lane::private(),
            coordinator: None,
            finding: false,
            coordinator_attempts: 0,
            coordinator_retry_at: None,
            assigned: BTreeMap::new(),
            target: None,
            names: HashMap::new(),
            resolving: false,
            nodes: HashMap::new(),
            in_hand: HashMap::new(),
            lock_timeout: Duration::from_secs(30),
            commits: HashMap::new(),
            next_commit: 0,
            deliver,
            commands,
            report,
            internal,
            subscribe_reply: None,
            answered: false,
            closing: None,
            sessions_closed: false,
            fatal: None,
        }
    }

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
                Some(msg) = self.internal.recv() => self.on_internal(msg),
                cmd = self.commands.recv() => match cmd {
                    Some(c) => self.on_command(c),
                    None => if self.closing.is_none() {
                        let (tx, _) = oneshot::channel();
                        self.begin_close(tx);
                    },
                },
                _ = tokio::time::sleep_until(deadline) => {}
            }
        }
        self.kafka
            .pool()
            .close_lane(self.lane, Duration::from_secs(1))
            .await;
        self.fatal.clone()
    }

    fn next_deadline(&self, now: Instant) -> Instant {
        [
            Some(now + Duration::from_secs(1)),
            self.member.next_deadline().map(Instant::from_std),
            self.coordinator_retry_at,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(now)
        .max(now + Duration::from_millis(1))
    }

    fn finished(&mut self) -> bool {
        if let Some(reply) = self.subscribe_reply.take() {
            match &self.fatal {
                Some(e) => {
                    let _ = reply.send(Err(e.clone()));
                }
                None if self.answered || self.closing.is_some() => {
                    let _ = reply.send(Ok(()));
                }
                None => self.subscribe_reply = Some(reply),
            }
        }
        if let Some(e) = &self.fatal {
            if let Some(reply) = self.closing.take() {
                let _ = reply.send(Err(e.clone()));
            }
            return true;
        }
        if self.closing.is_some() && self.member.has_left() {
            if let Some(reply) = self.closing.take() {
                let _ = reply.send(Ok(()));
            }
            return true;
        }
        false
    }

    fn step(&mut self, now: Instant) {
        while let Some(action) = self.member.poll_action() {
            self.on_action(action, now);
        }
        self.drive_membership(now);
        if self.closing.is_some() {
            self.close_sessions();
        } else {
            self.start_fetches();
        }
    }

    fn on_action(&mut self, action: ShareAction, now: Instant) {
        match action {
            ShareAction::Assignment(target) => {
                self.target = Some(target);
                self.apply_target();
            }
            ShareAction::Joined(epoch) => {
                tracing::debug!(group = %self.config.group_id, epoch, "joined the share group");
            }
            ShareAction::Fatal(e) => {
                tracing::error!(group = %self.config.group_id, error = %e, "share group error");
                self.kafka.emit(Event::Crash {
                    group_id: self.config.group_id.clone(),
                    error: e.to_string(),
                });
                self.fatal = Some(e);
            }
            ShareAction::Warn(e) => {
                tracing::warn!(group = %self.config.group_id, error = %e, "share group warning");
                self.kafka.emit(Event::Warning {
                    message: e.to_string(),
                });
            }
            ShareAction::FindCoordinator => self.coordinator_lost(now),
            ShareAction::Left => {}
        }
    }

    /// Takes the broker's assignment once every topic id has a name.
    fn apply_target(&mut self) {
        let Some(target) = &self.target else { return };
        let snapshot = self.kafka.cluster().snapshot();
        for (id, name) in &snapshot.topic_names {
            self.names.entry(*id).or_insert_with(|| name.to_string());
        }
        let unknown: Vec<Uuid> = target
            .keys()
            .filter(|id| !self.names.contains_key(id))
            .copied()
            .collect();
        if !unknown.is_empty() {
            if !self.resolving {
                self.resolving = true;
                let kafka = self.kafka.clone();
                let tx = self.report.clone();
                tokio::spawn(async move {
                    let res = kafka.cluster().resolve_topic_ids(&unknown).await;
                    let _ = tx.send(Internal::Names(unknown, res));
                });
            }
            return;
        }
        let Some(target) = self.target.take() else {
            return;
        };
        let mut assigned = BTreeMap::new();
        for (id, parts) in target {
            let name = self.names[&id].clone();
            for p in parts {
                assigned.insert(TopicPartition::new(name.clone(), p), id);
            }
        }
        self.kafka
            .cluster()
            .track(assigned.keys().map(|tp| tp.topic.clone()));
        tracing::debug!(group = %self.config.group_id, partitions = assigned.len(), "share assignment");
        self.assigned = assigned;
    }

    fn drive_membership(&mut self, now: Instant) {
        match &self.coordinator {
            Some(conn) => {
                let Some(req) = self.member.poll_heartbeat(now.into_std()) else {
                    return;
                };
                let conn = conn.clone();
                let tx = self.report.clone();
                let timeout = self.kafka.config().request_timeout;
                tokio::spawn(async move {
                    let res = send_heartbeat(&conn, &req, timeout).await;
                    let _ = tx.send(Internal::Heartbeat(res));
                });
            }
            None => {
                let wants = self.member.next_deadline().is_some();
                if self.finding || !wants || self.coordinator_retry_at.is_some_and(|r| r > now) {
                    return;
                }
                self.finding = true;
                let kafka = self.kafka.clone();
                let group = self.config.group_id.clone();
                let tx = self.report.clone();
                tokio::spawn(async move {
                    let res = connect_coordinator(
                        kafka.pool(),
                        CoordinatorType::Group,
                        &group,
                        Lane::Group,
                    )
                    .await
                    .and_then(|(_, conn)| check_share_protocol(&conn).map(|_| conn));
                    let _ = tx.send(Internal::Coordinator(res));
                });
            }
        }
    }

    fn coordinator_lost(&mut self, now: Instant) {
        self.coordinator = None;
        self.coordinator_attempts += 1;
        self.coordinator_retry_at =
            Some(now + COORDINATOR_BACKOFF.backoff(self.coordinator_attempts - 1));
    }

    /// Starts a ShareFetch at every broker that leads an assigned partition, has nothing out
    /// and whose last records are all decided.
    fn start_fetches(&mut self) {
        if self.assigned.is_empty() && self.nodes.values().all(|n| n.to_ack.is_empty()) {
            return;
        }
        let snapshot = self.kafka.cluster().snapshot();
        let mut wanted: BTreeMap<i32, BTreeSet<TopicPartition>> = BTreeMap::new();
        let mut missing_leader = false;
        for tp in self.assigned.keys() {
            match snapshot
                .topic(&tp.topic)
                .and_then(|t| t.partition(tp.partition))
                .filter(|p| p.leader >= 0)
            {
                Some(p) => {
                    wanted.entry(p.leader).or_default().insert(tp.clone());
                }
                None => missing_leader = true,
            }
        }
        if missing_leader {
            self.kafka.cluster().invalidate();
        }
        // Brokers that lead nothing now but hold acknowledgements get a fetch too (it forgets
        // the partitions and carries the acknowledgements).
        for (node, n) in &self.nodes {
            if !n.to_ack.is_empty() || n.session.is_open() {
                wanted.entry(*node).or_default();
            }
        }
        let ids: BTreeMap<String, Uuid> = snapshot
            .topics
            .values()
            .map(|t| (t.name.clone(), t.id))
            .collect();
        for (node, parts) in wanted {
            let n = self.nodes.entry(node).or_default();
            if n.fetching || n.outstanding > 0 || n.acking > 0 {
                continue;
            }
            if parts.is_empty() && n.to_ack.is_empty() {
                if n.session.is_open() {
                    // Nothing left to read there: let the session go.
                    n.session.reset();
                }
                continue;
            }
            let acked: BTreeSet<TopicPartition> = n.to_ack.keys().cloned().collect();
            // A partition with acknowledgements stays in the session for this fetch (it is
            // forgotten by the next one if it is no longer assigned).
            let mut parts = parts;
            parts.extend(acked.iter().cloned());
            let plan = n.session.next_fetch(&parts, &acked);
            let sent: AckSet = if plan.acks_allowed {
                std::mem::take(&mut n.to_ack)
            } else {
                // A new session: the records these were for went back with the old one.
                n.to_ack.clear();
                AckSet::new()
            };
            let mut req = ShareFetchRequest::default();
            req.group_id = Some(StrBytes::from_string(self.config.group_id.clone()).into());
            req.member_id = Some(StrBytes::from_string(self.member.member_id().to_string()));
            req.share_session_epoch = plan.epoch;
            req.max_wait_ms = self.config.max_wait.as_millis().min(i32::MAX as u128) as i32;
            req.min_bytes = self.config.min_bytes;
            req.max_bytes = self.config.max_bytes;
            req.max_records = self.config.max_records;
            req.batch_size = self.config.max_records;
            let listed: BTreeSet<&TopicPartition> = plan.listed.iter().chain(sent.keys()).collect();
            req.topics = by_topic(listed, &ids)
                .into_iter()
                .map(|(id, partitions)| {
                    let mut t = FetchTopic::default();
                    t.topic_id = id;
                    t.partitions = partitions
                        .into_iter()
                        .map(|p| {
                            let mut fp = FetchPartition::default();
                            fp.partition_index = p;
                            fp.partition_max_bytes = self.config.max_bytes;
                            let tp = TopicPartition::new(
                                self.names.get(&id).cloned().unwrap_or_default(),
                                p,
                            );
                            if let Some(acks) = sent.get(&tp) {
                                fp.acknowledgement_batches = ranges(acks)
                                    .into_iter()
                                    .map(|r| {
                                        let mut b = FetchAckBatch::default();
                                        b.first_offset = r.first;
                                        b.last_offset = r.last;
                                        b.acknowledge_types = r.types;
                                        b
                                    })
                                    .collect();
                            }
                            fp
                        })
                        .collect();
                    t
                })
                .collect();
            req.forgotten_topics_data = by_topic(&plan.forget, &ids)
                .into_iter()
                .map(|(id, partitions)| {
                    let mut f = ForgottenTopic::default();
                    f.topic_id = id;
                    f.partitions = partitions;
                    f
                })
                .collect();
            n.fetching = true;
            tracing::trace!(node, epoch = plan.epoch, listed = ?plan.listed, forget = ?plan.forget, acks = sent.len(), "share fetch");
            let kafka = self.kafka.clone();
            let lane = self.lane;
            let names = self.names.clone();
            let tx = self.report.clone();
            let timeout = self.kafka.config().request_timeout + self.config.max_wait;
            kafka.emit(Event::FetchStart { node_id: node });
            let started = Instant::now();
            tokio::spawn(async move {
                let result = async {
                    let conn = kafka.pool().get(node, lane).await?;
                    let v = conn.version::<ShareFetchRequest>()?;
                    let resp = conn.send_timeout(&req, v, timeout).await?;
                    fetch::parse(resp, &names)
                }
                .await;
                let _ = tx.send(Internal::Fetched {
                    node,
                    started,
                    sent,
                    result,
                });
            });
        }
    }

    fn on_fetched(
        &mut self,
        node: i32,
        started: Instant,
        sent: AckSet,
        result: Result<ShareAnswer>,
    ) {
        let n = self.nodes.entry(node).or_default();
        n.fetching = false;
        let answer = match result {
            Ok(a) => a,
            Err(e) => {
                tracing::debug!(node, error = %e, "share fetch failed");
                // The session's state is unknown now: start a new one. Acknowledgements it
                // carried may not have arrived; the broker releases those records when their
                // lock runs out, so they are delivered again (at least once).
                n.session.reset();
                if e.needs_metadata_refresh() {
                    self.kafka.cluster().invalidate();
                }
                if !sent.is_empty() {
                    self.warn_acks_lost(&e);
                }
                return;
            }
        };
        if let Some(t) = answer.lock_timeout {
            self.lock_timeout = t;
        }
        tracing::trace!(
            node,
            member = %self.member.member_id(),
            partitions = answer.partitions.len(),
            records = answer
                .partitions
                .iter()
                .map(|p| p.records.len())
                .sum::<usize>(),
            "share fetch answer"
        );
        let mut records = 0;
        for part in answer.partitions {
            if let Some(e) = &part.ack_error {
                if sent.contains_key(&part.partition) {
                    tracing::warn!(partition = %part.partition, error = %e, "acknowledgements refused (a record's acquisition lock may have run out: it is delivered again)");
                    self.kafka.emit(Event::Warning {
                        message: e.to_string(),
                    });
                }
            }
            if let Some(e) = &part.error {
                tracing::debug!(partition = %part.partition, error = %e, "share fetch partition error");
                if e.needs_metadata_refresh() {
                    self.kafka.cluster().invalidate();
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
                hand.insert(message.offset, (node, None));
                batch.push(ShareRecord {
                    message,
                    delivery_count,
                });
            }
            records += batch.len();
            n.outstanding += batch.len();
            let _ = self.deliver.send(ShareBatch {
                partition: part.partition,
                records: batch,
            });
        }
        self.kafka.emit(Event::Fetch {
            node_id: node,
            records,
            duration: started.elapsed(),
        });
    }

    fn warn_acks_lost(&self, e: &Error) {
        let message = format!("acknowledgements may not have reached the broker ({e}); their records are delivered again once their acquisition lock runs out");
        tracing::warn!("{message}");
        self.kafka.emit(Event::Warning { message });
    }

    /// A record's fate is decided: it leaves the user's hands and waits for the next request.
    fn decide(&mut self, tp: &TopicPartition, offset: i64, kind: AcknowledgeType) -> bool {
        let Some(hand) = self.in_hand.get_mut(tp) else {
            return false;
        };
        let Some((node, _)) = hand.remove(&offset) else {
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

    fn on_command(&mut self, cmd: Command) {
        let now = Instant::now();
        match cmd {
            Command::Subscribe(topics, reply) => {
                self.kafka.cluster().track(topics.iter().cloned());
                self.member.subscribe(topics, now.into_std());
                if self.answered {
                    let _ = reply.send(Ok(()));
                } else {
                    self.subscribe_reply = Some(reply);
                }
            }
            Command::Acknowledge(tp, offset, kind, reply) => {
                let held = self.in_hand.get_mut(&tp).and_then(|h| h.get_mut(&offset));
                let res = match held {
                    Some((_, ack)) => {
                        *ack = Some(kind);
                        Ok(())
                    }
                    None => Err(Error::new(
                        ErrorKind::Config,
                        "acknowledge",
                        format!("record {tp}@{offset} is not held by this consumer (already acknowledged, or delivered to another call); acknowledge each record once, before the next batch"),
                    )),
                };
                let _ = reply.send(res);
            }
            Command::Decided(tp, decisions) => {
                for (offset, default) in decisions {
                    let explicit = self
                        .in_hand
                        .get(&tp)
                        .and_then(|h| h.get(&offset))
                        .and_then(|(_, a)| *a);
                    self.decide(&tp, offset, explicit.unwrap_or(default));
                }
            }
            Command::Commit(reply) => self.commit(reply),
            Command::Assignment(reply) => {
                let _ = reply.send(self.assigned.keys().cloned().collect());
            }
            Command::Close(reply) => self.begin_close(reply),
        }
    }

    /// Sends every decided acknowledgement now (ShareAcknowledge), answering `reply` with the
    /// outcome per partition once all brokers answered.
    fn commit(&mut self, reply: oneshot::Sender<CommitResult>) {
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
        for node in nodes {
            match self.send_acks(node, false, Some(id)) {
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
    fn send_acks(&mut self, node: i32, close: bool, commit: Option<u64>) -> Option<()> {
        let n = self.nodes.entry(node).or_default();
        let epoch = if close {
            if !n.session.is_open() {
                return None;
            }
            n.session.reset();
            CLOSE
        } else {
            n.session.next_ack()?
        };
        let sent = std::mem::take(&mut n.to_ack);
        n.acking += 1;
        let ids: BTreeMap<String, Uuid> = self
            .kafka
            .cluster()
            .snapshot()
            .topics
            .values()
            .map(|t| (t.name.clone(), t.id))
            .collect();
        let mut req = ShareAcknowledgeRequest::default();
        req.group_id = Some(StrBytes::from_string(self.config.group_id.clone()).into());
        req.member_id = Some(StrBytes::from_string(self.member.member_id().to_string()));
        req.share_session_epoch = epoch;
        req.topics = by_topic(sent.keys(), &ids)
            .into_iter()
            .map(|(id, partitions)| {
                let mut t = AcknowledgeTopic::default();
                t.topic_id = id;
                t.partitions = partitions
                    .into_iter()
                    .map(|p| {
                        let tp = TopicPartition::new(
                            self.names.get(&id).cloned().unwrap_or_default(),
                            p,
                        );
                        let mut ap = AcknowledgePartition::default();
                        ap.partition_index = p;
                        ap.acknowledgement_batches = sent
                            .get(&tp)
                            .map(|acks| {
                                ranges(acks)
                                    .into_iter()
                                    .map(|r| {
                                        let mut b = AckBatch::default();
                                        b.first_offset = r.first;
                                        b.last_offset = r.last;
                                        b.acknowledge_types = r.types;
                                        b
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        ap
                    })
                    .collect();
                t
            })
            .collect();
        let kafka = self.kafka.clone();
        let lane = self.lane;
        let names = self.names.clone();
        let tx = self.report.clone();
        tokio::spawn(async move {
            let result = async {
                let conn = kafka.pool().get(node, lane).await?;
                let v = conn.version::<ShareAcknowledgeRequest>()?;
                let resp = conn.send_version(&req, v).await?;
                Error::check(resp.error_code, "share_acknowledge", || {
                    "the broker refused the acknowledgements".to_string()
                })?;
                let mut out = Vec::new();
                for t in resp.responses {
                    let Some(name) = names.get(&t.topic_id) else {
                        continue;
                    };
                    for p in t.partitions {
                        let tp = TopicPartition::new(name.clone(), p.partition_index);
                        let e = Error::from_code(
                            p.error_code,
                            "share_acknowledge",
                            format!("acknowledging records of {tp}"),
                        );
                        out.push((tp, e));
                    }
                }
                Ok(out)
            }
            .await;
            let _ = tx.send(Internal::Acked {
                node,
                commit,
                sent,
                result,
            });
        });
        Some(())
    }

    fn on_acked(
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
                n.session.reset();
                sent.into_keys().map(|tp| (tp, Err(e.clone()))).collect()
            }
        };
        for (tp, r) in &per_partition {
            if let Err(e) = r {
                tracing::warn!(partition = %tp, error = %e, "acknowledgement failed");
            }
        }
        let Some(id) = commit else { return };
        let done = match self.commits.get_mut(&id) {
            Some(c) => {
                c.results.extend(per_partition);
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

    fn begin_close(&mut self, reply: oneshot::Sender<Result<()>>) {
        self.closing = Some(reply);
        // What the user still holds goes back to the group.
        let held: Vec<(TopicPartition, i64, AcknowledgeType)> = self
            .in_hand
            .iter()
            .flat_map(|(tp, h)| {
                h.iter()
                    .map(|(o, (_, a))| (tp.clone(), *o, a.unwrap_or(AcknowledgeType::Release)))
            })
            .collect();
        for (tp, o, kind) in held {
            self.decide(&tp, o, kind);
        }
        self.assigned.clear();
    }

    /// Closing: once no request is out at a broker, its acknowledgements go with the end of
    /// its session; once all are out, the member leaves.
    fn close_sessions(&mut self) {
        if self.sessions_closed {
            return;
        }
        let busy = self.nodes.values().any(|n| n.fetching || n.acking > 0);
        if busy {
            return;
        }
        let nodes: Vec<i32> = self.nodes.keys().copied().collect();
        for node in nodes {
            if self.send_acks(node, true, None).is_none() {
                let n = self.nodes.entry(node).or_default();
                if !n.to_ack.is_empty() {
                    n.to_ack.clear();
                    self.warn_acks_lost(&Error::closed("close"));
                }
            }
        }
        self.sessions_closed = true;
        self.member.leave(Instant::now().into_std());
    }

    fn on_internal(&mut self, msg: Internal) {
        let now = Instant::now();
        match msg {
            Internal::Coordinator(res) => {
                self.finding = false;
                match res {
                    Ok(conn) => {
                        self.coordinator = Some(conn);
                        self.coordinator_attempts = 0;
                        self.coordinator_retry_at = None;
                    }
                    Err(e) if e.kind() == &ErrorKind::Unsupported => {
                        self.fatal = Some(e);
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "finding the share group coordinator failed");
                        self.coordinator_lost(now);
                    }
                }
            }
            Internal::Heartbeat(res) => {
                self.answered = true;
                match res {
                    Ok(resp) => self.member.on_response(resp, now.into_std()),
                    Err(e) => {
                        if matches!(e.kind(), ErrorKind::Connection | ErrorKind::Timeout(_)) {
                            self.coordinator = None;
                        }
                        self.member.on_failed(&e, now.into_std());
                    }
                }
            }
            Internal::Names(ids, res) => {
                self.resolving = false;
                match res {
                    Ok(found) => {
                        self.names.extend(found);
                        let missing = ids.iter().filter(|id| !self.names.contains_key(id)).count();
                        if missing > 0 {
                            tracing::debug!(
                                missing,
                                "share assignment names topics metadata does not know yet"
                            );
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "resolving topic ids failed"),
                }
                self.apply_target();
            }
            Internal::Fetched {
                node,
                started,
                sent,
                result,
            } => self.on_fetched(node, started, sent, result),
            Internal::Acked {
                node,
                commit,
                sent,
                result,
            } => self.on_acked(node, commit, sent, result),
        }
    }
}

async fn send_heartbeat(
    conn: &Connection,
    req: &ShareGroupHeartbeatRequest,
    timeout: Duration,
) -> Result<ShareGroupHeartbeatResponse> {
    let v = conn.version::<ShareGroupHeartbeatRequest>()?;
    conn.send_timeout(req, v, timeout).await
}

/// The broker must serve ShareGroupHeartbeat v1 (Kafka 4.1+; production-ready in 4.2).
pub(crate) fn check_share_protocol(conn: &Connection) -> Result<()> {
    let key = 76;
    match conn.api_versions().range(key) {
        Some((_, max)) if max >= 1 => Ok(()),
        other => Err(Error::new(
            ErrorKind::Unsupported,
            "share_consumer",
            format!(
                "the broker at {} does not serve share groups (KIP-932){}; use Apache Kafka 4.2+ with the share.version feature at 1 or more (kafka-features.sh upgrade --feature share.version=1)",
                conn.addr(),
                match other {
                    Some((min, max)) => format!(" (it offers ShareGroupHeartbeat v{min}-v{max}, kafkit needs v1)"),
                    None => String::new(),
                }
            ),
        )),
    }
}
