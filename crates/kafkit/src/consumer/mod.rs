//! The group consumer, KafkaJS-style: `subscribe`, then `run` with a per-message or per-batch
//! handler (or take a `Stream` of records), with the KIP-848 consumer group protocol
//! ([`GroupProtocol::Consumer`], the default) or the classic one ([`GroupProtocol::Classic`]:
//! client-side assignors from [`assignor`], with the Java client's wire format). Both run the
//! same hooks, offsets and events, so a group can be migrated member by member.
//!
//! Without a group, [`Kafka::assigned_consumer`] reads the partitions it is given
//! ([`Consumer::assign`]), from where it is told ([`Consumer::seek`] and its kin), with the same
//! run and `Stream` API.
//!
//! ```no_run
//! # async fn demo() -> kafkit::Result<()> {
//! use kafkit::{Kafka, KafkaConfig};
//! use kafkit::consumer::{ConsumerConfig, GroupProtocol};
//! let kafka = Kafka::connect(KafkaConfig::new(["127.0.0.1:9092"])).await?;
//! let consumer = kafka.consumer(ConsumerConfig::new("my-group").group_protocol(GroupProtocol::Consumer))?;
//! consumer.subscribe(&["my-topic"], true).await?;
//! consumer
//!     .run_each_message(|m| async move {
//!         println!("{}-{}@{}: {:?}", m.topic, m.partition, m.offset, m.value);
//!         Ok(())
//!     })
//!     .await?;
//! # Ok(()) }
//! ```

mod assign;
pub mod config;
mod engine;
mod lookup;
mod run;
mod subscription;

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

pub use crate::fetch::message;
pub use crate::groups::consumer::classic::assignor;
pub use crate::groups::ConsumerGroupMetadata;
pub use config::{AutoOffsetReset, ConsumerConfig, GroupProtocol, IsolationLevel};
pub use engine::MemberStatus;
pub use engine::{RebalanceHook, RebalanceKind};
pub use lookup::OffsetAndTimestamp;
pub use message::{Batch, Message, MessageHeader};
pub use run::{BatchContext, RunOptions};

use crate::groups::consumer::kip848::{generate_member_id, Subscription};
use engine::{Command, Delivery, Engine, Hooks, SharedHooks};
use subscription::{Addition, FromBeginning};

use crate::delivery::DeliveryQueue;
use crate::error::{Error, Result};
use crate::events::TopicPartition;
use crate::Kafka;

struct Inner {
    kafka: Kafka,
    config: ConsumerConfig,
    /// Reads assigned partitions, with no group session (`Kafka::assigned_consumer`).
    assigned: bool,
    member_id: String,
    /// The member epoch the engine last saw (0 before joining), for group_metadata.
    member_epoch: Arc<AtomicI32>,
    /// The member id in use (classic ids come from the coordinator).
    member_id_now: Arc<Mutex<String>>,
    commands: mpsc::UnboundedSender<Command>,
    delivery: DeliveryQueue<mpsc::Receiver<Delivery>>,
    engine: Mutex<Option<tokio::task::JoinHandle<Option<Error>>>>,
    hooks: SharedHooks,
    /// What `subscribe` calls added up to.
    subscription: Mutex<(Option<Subscription>, FromBeginning)>,
    /// What `ConsumerConfig::validate` warned about.
    warnings: Vec<String>,
    /// Taken by the first `subscribe`, which starts the engine.
    pending_engine: Mutex<Option<(mpsc::UnboundedReceiver<Command>, mpsc::Sender<Delivery>)>>,
    running: AtomicBool,
    /// Why the consumer cannot deliver: its first subscribe failed, or its engine stopped on
    /// an error. A run or stream gives it rather than waiting for ever or ending without one.
    failed: Arc<Mutex<Option<Error>>>,
    /// A handler asked for the stop: the run waits for it to complete before it returns.
    stop_from_handler: AtomicBool,
}

/// A group consumer, or a consumer of assigned partitions without a group
/// ([`Kafka::assigned_consumer`]). Cheap to clone; clones share the membership.
#[derive(Clone)]
pub struct Consumer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("group_id", &self.inner.config.group_id)
            .field("assigned", &self.inner.assigned)
            .field("member_id", &self.inner.member_id)
            .finish()
    }
}

impl Kafka {
    /// A group consumer sharing this handle's connections and metadata. Options the chosen
    /// group protocol ignores are logged once each, with what replaces them.
    pub fn consumer(&self, config: ConsumerConfig) -> Result<Consumer> {
        Consumer::new(self.clone(), config, false)
    }
}

/// Records handed to the handler at once, at most (the delivery queue).
const DELIVERY_QUEUE: usize = 16;

impl Consumer {
    fn new(kafka: Kafka, config: ConsumerConfig, assigned: bool) -> Result<Consumer> {
        let warnings = if assigned {
            config.validate_assigned()?
        } else {
            config.validate()?
        };
        for warning in &warnings {
            tracing::warn!(group = %config.group_id, "{warning}");
        }
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (delivery_tx, delivery_rx) = mpsc::channel(DELIVERY_QUEUE);
        Ok(Consumer {
            inner: Arc::new(Inner {
                kafka,
                assigned,
                member_id: generate_member_id(),
                member_epoch: Arc::new(AtomicI32::new(0)),
                member_id_now: Arc::new(Mutex::new(String::new())),
                config,
                commands,
                delivery: DeliveryQueue::new(delivery_rx, "consumer"),
                engine: Mutex::new(None),
                hooks: SharedHooks::default(),
                subscription: Mutex::new((None, FromBeginning::default())),
                warnings,
                pending_engine: Mutex::new(Some((commands_rx, delivery_tx))),
                running: AtomicBool::new(false),
                failed: Arc::new(Mutex::new(None)),
                stop_from_handler: AtomicBool::new(false),
            }),
        })
    }

    /// The settings.
    pub fn config(&self) -> &ConsumerConfig {
        &self.inner.config
    }

    /// This member's id (KIP-1082: generated by the client, kept for the consumer's lifetime).
    /// Under `classic` it is the id the coordinator gave at the last join (empty before).
    pub fn member_id(&self) -> String {
        let now = self
            .inner
            .member_id_now
            .lock()
            .map(|id| id.clone())
            .unwrap_or_default();
        if now.is_empty() && self.inner.config.group_protocol == GroupProtocol::Consumer {
            return self.inner.member_id.clone();
        }
        now
    }

    /// Who this member is in its group now, for
    /// [`Producer::send_offsets_to_transaction`](crate::producer::Producer::send_offsets_to_transaction):
    /// the coordinator refuses offsets from a member whose epoch is no longer current.
    pub fn group_metadata(&self) -> ConsumerGroupMetadata {
        ConsumerGroupMetadata {
            group_id: self.inner.config.group_id.clone(),
            generation_id: self.inner.member_epoch.load(Ordering::Acquire),
            member_id: self.member_id(),
            group_instance_id: self.inner.config.instance_id.clone(),
        }
    }

    /// Checks that the group coordinator is reachable and, under group protocol `consumer`,
    /// that it offers the KIP-848 heartbeat API. Optional: [`subscribe`](Self::subscribe)
    /// reaches the coordinator anyway.
    ///
    /// Whether the group runs KIP-848 is known for sure only at the first heartbeat, which
    /// `subscribe` sends: a broker that lists the API but has the protocol turned off (Kafka
    /// 4.x without `consumer` in `group.coordinator.rebalance.protocols`) passes here and fails
    /// at `subscribe`, with an error naming both fixes (group protocol `classic`, or enabling
    /// the protocol on the broker). Only a broker that lacks the API altogether (before 4.0)
    /// fails here already. A consumer of assigned partitions has no coordinator: it has
    /// nothing to check.
    pub async fn connect(&self) -> Result<()> {
        if self.inner.assigned {
            return Ok(());
        }
        let kafka = &self.inner.kafka;
        let node = crate::cluster::coordinator::find_coordinator_retrying(
            kafka.pool(),
            &kafka.config().retry,
            crate::cluster::CoordinatorType::Group,
            &self.inner.config.group_id,
        )
        .await?;
        let conn = kafka.pool().get(node, crate::net::Lane::Group).await?;
        if self.inner.config.group_protocol == GroupProtocol::Classic {
            return Ok(());
        }
        match engine::check_consumer_protocol(&conn) {
            Err(e) if self.inner.config.fallback_to_classic => {
                tracing::warn!(group = %self.inner.config.group_id, "{e}; the consumer will use the classic protocol (fallback_to_classic)");
                Ok(())
            }
            other => other,
        }
    }

    /// Runs `hook` when partitions are assigned (before they are fetched). Hooks may be set
    /// at any time; one set after `subscribe` runs from the next rebalance step on.
    pub fn on_partitions_assigned(&self, hook: RebalanceHook) {
        self.set_hook(|h| h.assigned = Some(hook));
    }

    /// Runs `hook` before partitions are taken away (after the commit of what was processed).
    pub fn on_partitions_revoked(&self, hook: RebalanceHook) {
        self.set_hook(|h| h.revoked = Some(hook));
    }

    /// Runs `hook` when partitions are lost (fenced, or session expired): nothing is committed.
    pub fn on_partitions_lost(&self, hook: RebalanceHook) {
        self.set_hook(|h| h.lost = Some(hook));
    }

    fn set_hook(&self, f: impl FnOnce(&mut Hooks)) {
        if let Ok(mut h) = self.inner.hooks.lock() {
            f(&mut h);
        }
    }

    /// Subscribes to topics by name and joins the group. As in KafkaJS, a later call adds to
    /// the subscription (use [`replace_subscription`](Self::replace_subscription) to replace
    /// it). `from_beginning`: these topics' partitions without a committed offset start at the
    /// earliest record (the others at `auto_offset_reset`).
    ///
    /// ```no_run
    /// # async fn demo(consumer: kafkit::consumer::Consumer) -> kafkit::Result<()> {
    /// consumer.subscribe(&["orders"], true).await?;
    /// consumer.subscribe(&["payments"], false).await?; // now orders and payments
    /// # Ok(()) }
    /// ```
    pub async fn subscribe(&self, topics: &[&str], from_beginning: bool) -> Result<()> {
        let names = topic_names(topics, "subscribe")?;
        self.change_subscription(false, Addition::Topics(names), from_beginning)
            .await
    }

    /// Subscribes to every topic whose whole name matches `pattern`, evaluated by the broker
    /// (RE2J syntax, Kafka 4.0+); topics created later that match are picked up. Adds to the
    /// subscription like [`subscribe`](Self::subscribe): topics and patterns subscribed
    /// before stay.
    pub async fn subscribe_pattern(&self, pattern: &str, from_beginning: bool) -> Result<()> {
        if pattern.is_empty() {
            return Err(Error::config(
                "subscribe_pattern needs a non-empty regular expression",
            ));
        }
        self.change_subscription(
            false,
            Addition::Pattern(pattern.to_string()),
            from_beginning,
        )
        .await
    }

    /// Replaces the whole subscription with these topics: partitions of topics no longer
    /// subscribed are revoked (their processed offsets committed first).
    ///
    /// ```no_run
    /// # async fn demo(consumer: kafkit::consumer::Consumer) -> kafkit::Result<()> {
    /// consumer.subscribe(&["orders", "payments"], false).await?;
    /// consumer.replace_subscription(&["payments"], false).await?; // orders is revoked
    /// # Ok(()) }
    /// ```
    pub async fn replace_subscription(&self, topics: &[&str], from_beginning: bool) -> Result<()> {
        let names = topic_names(topics, "replace_subscription")?;
        self.change_subscription(true, Addition::Topics(names), from_beginning)
            .await
    }

    /// The warnings the settings gave when the consumer was made (options the chosen group
    /// protocol ignores, each with what replaces it). Each is also logged, and sent once as an
    /// [`Event::Warning`](crate::Event::Warning) when the consumer first subscribes, so a
    /// listener registered after `Kafka::consumer` still sees it.
    ///
    /// ```no_run
    /// # async fn demo(kafka: kafkit::Kafka) -> kafkit::Result<()> {
    /// use std::time::Duration;
    /// use kafkit::consumer::ConsumerConfig;
    /// let consumer = kafka.consumer(ConsumerConfig::new("g").session_timeout(Duration::from_secs(30)))?;
    /// assert!(consumer.warnings()[0].contains("group.consumer.session.timeout.ms"));
    /// # Ok(()) }
    /// ```
    pub fn warnings(&self) -> &[String] {
        &self.inner.warnings
    }

    async fn change_subscription(
        &self,
        replace: bool,
        addition: Addition,
        from_beginning: bool,
    ) -> Result<()> {
        if self.inner.assigned {
            return Err(Error::config(
                "this consumer reads assigned partitions (Kafka::assigned_consumer): give it partitions with assign, or make a group consumer with Kafka::consumer to subscribe",
            ));
        }
        let (subscription, from_beginning) = {
            let mut guard = self
                .inner
                .subscription
                .lock()
                .map_err(|_| self.engine_gone())?;
            let (current, from) = &mut *guard;
            if replace {
                *from = FromBeginning::default();
            }
            if from_beginning {
                match &addition {
                    Addition::Topics(t) => from.topics.extend(t.iter().cloned()),
                    Addition::Pattern(_) => from.all = true,
                }
            }
            let next = subscription::add(current.as_ref().filter(|_| !replace), addition);
            *current = Some(next.clone());
            (next, from.clone())
        };
        let first = self
            .inner
            .pending_engine
            .lock()
            .map(|p| p.is_some())
            .unwrap_or(false);
        if first {
            // Fail here, not later in `run`, when the broker lacks the group protocol. A
            // coordinator not reachable yet is no reason to fail: the membership keeps looking
            // for it in the background (and says so), as it does when it is lost later. Found
            // by the stateful fuzzer: an unanswered handshake failed the subscribe, and the
            // consumer never started.
            match self.connect().await {
                Err(e) if e.is_retriable() => {
                    tracing::warn!(group = %self.inner.config.group_id, error = %e, "the group coordinator is not reachable yet; joining in the background");
                }
                Err(e) => {
                    // Kept for a run or stream started anyway: it returns this, not nothing.
                    self.set_failed(Some(e.clone()));
                    return Err(e);
                }
                Ok(()) => self.set_failed(None),
            }
            for warning in &self.inner.warnings {
                self.inner.kafka.emit(crate::events::Event::Warning {
                    message: warning.clone(),
                });
            }
        }
        self.start_engine();
        let (reply, rx) = oneshot::channel();
        self.command(Command::Subscribe {
            subscription,
            from_beginning,
            reply,
        })?;
        // The first heartbeat answer normally comes within a round trip; should the coordinator
        // be unreachable for now, the membership keeps trying in the background.
        let wait = self.inner.kafka.config().request_timeout;
        match tokio::time::timeout(wait, rx).await {
            Ok(answer) => answer.map_err(|_| self.engine_gone())?,
            Err(_) => {
                tracing::warn!(group = %self.inner.config.group_id, "no heartbeat answer yet; joining in the background");
                Ok(())
            }
        }
    }

    fn start_engine(&self) {
        let pending = self
            .inner
            .pending_engine
            .lock()
            .ok()
            .and_then(|mut p| p.take());
        let Some((commands, delivery)) = pending else {
            return;
        };
        let hooks = self.inner.hooks.clone();
        let engine = Engine::new(
            self.inner.kafka.clone(),
            self.inner.config.clone(),
            self.inner.member_id.clone(),
            self.inner.member_epoch.clone(),
            self.inner.member_id_now.clone(),
            hooks,
            delivery,
            self.inner.delivery.shared(),
            commands,
            self.inner.assigned,
            self.inner.failed.clone(),
        );
        let handle = tokio::spawn(engine.run());
        if let Ok(mut e) = self.inner.engine.lock() {
            *e = Some(handle);
        }
    }

    fn command(&self, cmd: Command) -> Result<()> {
        self.inner
            .commands
            .send(cmd)
            .map_err(|_| self.engine_gone())
    }

    fn engine_gone(&self) -> Error {
        Error::closed("consumer")
    }

    /// Identifies the consumer (clones share it).
    fn id(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }

    fn set_failed(&self, e: Option<Error>) {
        if let Ok(mut f) = self.inner.failed.lock() {
            *f = e;
        }
    }

    /// Why this consumer cannot deliver (its subscribe failed, or it stopped on an error).
    pub(crate) fn failure(&self) -> Option<Error> {
        self.inner.failed.lock().ok().and_then(|f| f.clone())
    }

    /// Stops fetching and delivering these partitions (they stay assigned).
    ///
    /// ```no_run
    /// # async fn demo(consumer: kafkit::consumer::Consumer) -> kafkit::Result<()> {
    /// let tp = kafkit::TopicPartition::new("orders", 0);
    /// consumer.pause(&[tp.clone()])?;
    /// // ... nothing of orders-0 is fetched or handed over meanwhile ...
    /// consumer.resume(&[tp])?;
    /// # Ok(()) }
    /// ```
    pub fn pause(&self, partitions: &[TopicPartition]) -> Result<()> {
        self.command(Command::Pause(partitions.to_vec(), true))
    }

    /// Resumes paused partitions.
    pub fn resume(&self, partitions: &[TopicPartition]) -> Result<()> {
        self.command(Command::Pause(partitions.to_vec(), false))
    }

    /// Moves the position of an assigned partition; buffered records are dropped. A batch the
    /// handler holds becomes stale ([`BatchContext::is_stale`]).
    ///
    /// ```no_run
    /// # async fn demo(consumer: kafkit::consumer::Consumer) -> kafkit::Result<()> {
    /// let tp = kafkit::TopicPartition::new("orders", 0);
    /// consumer.assign(&[tp.clone()]).await?;
    /// consumer.seek(tp, 42)?; // the next record handed over is offset 42
    /// # Ok(()) }
    /// ```
    pub fn seek(&self, partition: TopicPartition, offset: i64) -> Result<()> {
        if offset < 0 {
            return Err(Error::config(format!("seek offset {offset} is negative")));
        }
        self.command(Command::Seek(partition, offset))
    }

    /// Moves the position of an assigned partition to its earliest or latest offset (KafkaJS's
    /// `seek` to -2 or -1), looked up by the consumer before it reads the partition again, as
    /// for a partition without a committed offset; returns at once. Buffered records are
    /// dropped and a batch the handler holds becomes stale, as with [`seek`](Self::seek).
    ///
    /// ```no_run
    /// # async fn demo(consumer: kafkit::consumer::Consumer) -> kafkit::Result<()> {
    /// use kafkit::consumer::AutoOffsetReset;
    /// consumer.seek_reset(kafkit::TopicPartition::new("orders", 0), AutoOffsetReset::Earliest)?;
    /// # Ok(()) }
    /// ```
    pub fn seek_reset(&self, partition: TopicPartition, to: config::AutoOffsetReset) -> Result<()> {
        if to == config::AutoOffsetReset::None {
            return Err(Error::config(
                "seek_reset goes to Earliest or Latest; give one of them (or seek to an offset)",
            ));
        }
        self.command(Command::SeekReset(partition, to))
    }

    /// The partitions assigned to this member now.
    pub async fn assignment(&self) -> Result<Vec<TopicPartition>> {
        let (tx, rx) = oneshot::channel();
        self.command(Command::Assignment(tx))?;
        rx.await.map_err(|_| self.engine_gone())
    }

    /// Commits these offsets (each the next offset to read).
    pub async fn commit_offsets(&self, offsets: &[(TopicPartition, i64)]) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        self.command(Command::Commit {
            offsets: Some(offsets.to_vec()),
            reply,
        })?;
        rx.await.map_err(|_| self.engine_gone())?
    }

    /// Commits the offsets the handler has processed and not yet committed.
    pub async fn commit(&self) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        self.command(Command::Commit {
            offsets: None,
            reply,
        })?;
        rx.await.map_err(|_| self.engine_gone())?
    }

    /// Leaves the group: the handler finishes its batches, processed offsets are committed
    /// (auto-commit), the revoke hook runs, then the member leaves. Idempotent. A consumer of
    /// assigned partitions stops once the handler is done (and has committed what it processed
    /// when its offsets are kept in a group with auto-commit).
    ///
    /// Called from inside one of this consumer's handlers, it only asks for the stop and
    /// returns at once (waiting would wait for the handler itself); the run ends once the
    /// handler returns, with what it resolved committed. This is how to stop after N records:
    ///
    /// ```no_run
    /// # async fn demo(consumer: kafkit::consumer::Consumer) -> kafkit::Result<()> {
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let seen = std::sync::Arc::new(AtomicUsize::new(0));
    /// let c = consumer.clone();
    /// consumer
    ///     .run_each_message(move |_m| {
    ///         let (seen, c) = (seen.clone(), c.clone());
    ///         async move {
    ///             if seen.fetch_add(1, Ordering::Relaxed) + 1 == 100 {
    ///                 c.stop().await?; // the run ends after this record
    ///             }
    ///             Ok(())
    ///         }
    ///     })
    ///     .await
    /// # }
    /// ```
    pub async fn stop(&self) -> Result<()> {
        self.inner.running.store(false, Ordering::Release);
        let (reply, rx) = oneshot::channel();
        if self.command(Command::Stop(reply)).is_err() {
            return Ok(()); // already stopped
        }
        if run::in_handler_of(self) {
            self.inner.stop_from_handler.store(true, Ordering::Release);
            return Ok(());
        }
        let res = rx.await.unwrap_or(Ok(()));
        let handle = self.inner.engine.lock().ok().and_then(|mut e| e.take());
        if let Some(h) = handle {
            let _ = tokio::time::timeout(Duration::from_secs(30), h).await;
        }
        res
    }

    /// Test support (feature `test-hooks`, not part of the API): ends the consumer without
    /// leaving the group, as a crashed process would; the broker moves its partitions after the
    /// session timeout.
    #[cfg(feature = "test-hooks")]
    #[doc(hidden)]
    pub fn abort(&self) {
        self.crash();
    }

    /// Test support (feature `test-hooks`, not part of the API): sends no heartbeat for `d`,
    /// as a frozen process would.
    #[cfg(feature = "test-hooks")]
    #[doc(hidden)]
    pub fn suspend_heartbeats(&self, d: Duration) {
        self.freeze(d);
    }

    // The hooks' bodies, compiled with or without the feature so the engine's commands for
    // them are always in use.
    #[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
    fn crash(&self) {
        let _ = self.command(Command::Abort);
    }

    #[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
    fn freeze(&self, d: Duration) {
        let _ = self.command(Command::SuspendHeartbeats(tokio::time::Instant::now() + d));
    }

    /// Stops and releases the consumer (KafkaJS's `disconnect`).
    pub async fn disconnect(&self) -> Result<()> {
        self.stop().await
    }

    /// Whether `run` is running.
    pub fn is_running(&self) -> bool {
        self.inner.running.load(Ordering::Acquire)
    }
}

/// Topic names for `subscribe`, checked.
fn topic_names(topics: &[&str], op: &str) -> Result<std::collections::BTreeSet<String>> {
    if topics.is_empty() || topics.iter().any(|t| t.is_empty()) {
        return Err(Error::config(format!(
            "{op} needs at least one non-empty topic name"
        )));
    }
    Ok(topics.iter().map(|t| t.to_string()).collect())
}
