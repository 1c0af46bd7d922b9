//! The share consumer's task: it owns the membership, the coordinator connection, the
//! assignment and the user's commands; the records themselves (sessions, fetches,
//! acknowledgements) belong to [`records`]. Slow work (requests) runs in tasks that
//! report back, so heartbeats never wait behind a long poll.

mod records;
mod report;
mod requests;

pub(crate) use report::Delivered;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use uuid::Uuid;

use crate::cluster::coordinator::connect_coordinator;
use crate::cluster::CoordinatorType;
use crate::engine_loop::{self, Inbox, Turns};
use crate::error::{Error, ErrorKind, Result};
use crate::events::{Event, TopicPartition};
use crate::groups::coordinator::CoordinatorLookup;
use crate::groups::membership::Membership;
use crate::groups::share::{ShareAction, ShareMembership};
use crate::groups::topic_ids::TopicIds;
use crate::net::Lane;
use crate::share::acks::AcknowledgeType;
use crate::share::ShareConsumerConfig;
use crate::Kafka;
use records::Records;
use report::{CommitResult, Internal};
use requests::{check_share_protocol, send_heartbeat};

/// What the records' owner uses of the engine's state (a macro: the borrows stay per field).
macro_rules! ctx {
    ($e:ident) => {
        records::Ctx {
            kafka: &$e.kafka,
            config: &$e.config,
            member_id: $e.member.member_id(),
            names: $e.ids.names(),
            report: &$e.report,
            deliver: &$e.deliver,
        }
    };
}

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
    /// Renew a held record's acquisition lock.
    Renew(TopicPartition, i64, oneshot::Sender<Result<()>>),
    Assignment(oneshot::Sender<Vec<TopicPartition>>),
    Close(oneshot::Sender<Result<()>>),
}

pub(crate) struct Engine {
    kafka: Kafka,
    config: ShareConsumerConfig,
    member: ShareMembership,
    coordinator: CoordinatorLookup,
    /// Assigned partitions by name, with their topic ids.
    assigned: BTreeMap<TopicPartition, Uuid>,
    /// The latest assignment by id, until its names are known.
    target: Option<BTreeMap<Uuid, BTreeSet<i32>>>,
    /// The assignment's topic ids: their names, and the lookups of those metadata did not know.
    ids: TopicIds,
    resolving: bool,
    records: Records,
    deliver: mpsc::UnboundedSender<Delivered>,
    report: mpsc::UnboundedSender<Internal>,
    /// Taken by the loop when it starts (`engine_loop.rs`).
    inbox: Option<Inbox<Command, Internal>>,
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
        deliver: mpsc::UnboundedSender<Delivered>,
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
            coordinator: CoordinatorLookup::default(),
            assigned: BTreeMap::new(),
            target: None,
            ids: TopicIds::default(),
            resolving: false,
            records: Records::new(),
            deliver,
            report,
            inbox: Some(Inbox {
                commands,
                reports: internal,
            }),
            subscribe_reply: None,
            answered: false,
            closing: None,
            sessions_closed: false,
            fatal: None,
        }
    }

    pub(crate) async fn run(mut self) -> Option<Error> {
        if let Some(mut inbox) = self.inbox.take() {
            engine_loop::run(&mut self, &mut inbox).await;
        }
        self.kafka
            .pool()
            .close_lane(self.records.lane(), Duration::from_secs(1))
            .await;
        self.fatal.clone()
    }

    fn next_deadline(&self, now: Instant) -> Instant {
        [
            Some(now + Duration::from_secs(1)),
            self.member.next_deadline().map(Instant::from_std),
            self.coordinator.next_deadline(),
            self.records.next_deadline().filter(|t| *t > now),
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
        let ctx = ctx!(self);
        if self.closing.is_none() {
            self.records.start_fetches(&ctx, &self.assigned);
        } else if !self.sessions_closed && self.records.close_sessions(&ctx) {
            self.sessions_closed = true;
            self.member.leave(now.into_std());
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
            ShareAction::FindCoordinator => self.coordinator.lost(now),
            ShareAction::Left => {}
        }
    }

    /// Takes the broker's assignment: the partitions of topics with a name at once; a topic id
    /// metadata does not know waits, looked up again (paced) until it is named, without
    /// holding back the others.
    fn apply_target(&mut self) {
        let Some(target) = &self.target else { return };
        let snapshot = self.kafka.cluster().snapshot();
        self.ids.learn(
            snapshot
                .topic_names
                .iter()
                .map(|(id, name)| (id, name.as_ref())),
        );
        let unknown: Vec<Uuid> = target
            .keys()
            .filter(|id| !self.ids.is_named(id))
            .copied()
            .collect();
        let all_named = unknown.is_empty();
        if !all_named && !self.resolving {
            self.resolving = true;
            let wait = self.ids.wait(&unknown, Instant::now());
            let kafka = self.kafka.clone();
            let tx = self.report.clone();
            tokio::spawn(async move {
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                let res = kafka.cluster().resolve_topic_ids(&unknown).await;
                let _ = tx.send(Internal::Names(unknown, res));
            });
        }
        let mut assigned = BTreeMap::new();
        for (id, parts) in target {
            let Some(name) = self.ids.name(id) else {
                continue;
            };
            for p in parts {
                assigned.insert(TopicPartition::new(name.clone(), *p), *id);
            }
        }
        if all_named {
            // Kept while an id waits: it is applied once named.
            self.target = None;
        }
        if assigned == self.assigned {
            return;
        }
        self.kafka
            .cluster()
            .track(assigned.keys().map(|tp| tp.topic.clone()));
        tracing::debug!(group = %self.config.group_id, partitions = assigned.len(), "share assignment");
        self.assigned = assigned;
    }

    /// A lookup of assigned topic ids ended: the ids still unknown back off; one still unknown
    /// after [`NAME_LOOKUPS`] lookups is named in a warning, once.
    fn on_names(&mut self, ids: &[Uuid], res: Result<HashMap<Uuid, String>>, now: Instant) {
        self.resolving = false;
        let found = res.unwrap_or_else(|e| {
            tracing::debug!(error = %e, "resolving topic ids failed");
            HashMap::new()
        });
        let group = format!("share group '{}'", self.config.group_id);
        for message in self
            .ids
            .answered(ids, &found, now, &group, self.target.as_ref())
        {
            tracing::warn!(group = %self.config.group_id, "{message}");
            self.kafka.emit(Event::Warning { message });
        }
        self.apply_target();
    }

    fn drive_membership(&mut self, now: Instant) {
        match self.coordinator.known() {
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
                if !wants || !self.coordinator.start(now) {
                    return;
                }
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
                let _ = reply.send(self.records.acknowledge(&tp, offset, kind));
            }
            Command::Decided(tp, decisions) => self.records.decided(&tp, decisions),
            Command::Renew(tp, offset, reply) => {
                let ctx = ctx!(self);
                self.records.renew(&ctx, tp, offset, reply);
            }
            Command::Commit(reply) => {
                let ctx = ctx!(self);
                self.records.commit(&ctx, reply);
            }
            Command::Assignment(reply) => {
                let _ = reply.send(self.assigned.keys().cloned().collect());
            }
            Command::Close(reply) => self.begin_close(reply),
        }
    }

    fn begin_close(&mut self, reply: oneshot::Sender<Result<()>>) {
        self.closing = Some(reply);
        self.records.release_held();
        self.assigned.clear();
    }

    fn on_internal(&mut self, msg: Internal) {
        let now = Instant::now();
        match msg {
            Internal::Coordinator(res) => match res {
                Ok(conn) => self.coordinator.found(conn),
                Err(e) if e.kind() == &ErrorKind::Unsupported => {
                    self.fatal = Some(e);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "finding the share group coordinator failed");
                    if self.coordinator.failed(&e, now) {
                        let message = format!(
                                "share consumer of group '{}': the group coordinator cannot be found ({e}); the member keeps looking for it, for as long as it runs",
                                self.config.group_id
                            );
                        tracing::warn!("{message}");
                        self.kafka.emit(Event::Warning { message });
                    }
                }
            },
            Internal::Heartbeat(res) => {
                self.answered = true;
                match res {
                    Ok(resp) => self.member.on_response(resp, now.into_std()),
                    Err(e) => {
                        if matches!(e.kind(), ErrorKind::Connection | ErrorKind::Timeout(_)) {
                            self.coordinator.disconnected();
                        }
                        self.member.on_failed(&e, now.into_std());
                    }
                }
            }
            Internal::Names(ids, res) => self.on_names(&ids, res, now),
            Internal::Fetched { node, sent, result } => {
                let ctx = ctx!(self);
                self.records.on_fetched(&ctx, node, sent, result);
            }
            Internal::Acked {
                node,
                commit,
                sent,
                result,
            } => self.records.on_acked(node, commit, sent, result),
        }
    }
}

/// The loop's view of the engine; each turn's work is in the engine's own methods.
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
    /// Every handle dropped: the member closes.
    fn on_handles_gone(&mut self) {
        if self.closing.is_none() {
            let (tx, _) = oneshot::channel();
            self.begin_close(tx);
        }
    }
}
