//! Share groups (KIP-932, "queues for Kafka"): consumers of one share group read the same
//! partitions cooperatively. Each record is acquired by one member at a time, then
//! acknowledged: accepted (done), released (delivered again, to any member) or rejected (never
//! again). The broker counts deliveries ([`ShareRecord::delivery_count`]) and archives a
//! record delivered too often (`group.share.delivery.count.limit`). Kafka 4.2+.
//!
//! ```no_run
//! # async fn demo() -> kafkit::Result<()> {
//! use kafkit::{Kafka, KafkaConfig};
//! use kafkit::share::ShareConsumerConfig;
//! let kafka = Kafka::connect(KafkaConfig::new(["127.0.0.1:9092"])).await?;
//! let consumer = kafka.share_consumer(ShareConsumerConfig::new("work-queue"))?;
//! consumer.subscribe(&["jobs"]).await?;
//! // Ok accepts the record; an error releases it for another try.
//! consumer
//!     .run_each_message(|r| async move {
//!         println!("{}@{} (delivery {})", r.topic, r.offset, r.delivery_count);
//!         Ok(())
//!     })
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! Acknowledgements ride on the next ShareFetch to the partition's leader; [`ShareConsumer::commit`]
//! sends them at once and reports the outcome per partition. A member that stops without
//! acknowledging loses its records to the others when their acquisition lock runs out
//! (`group.share.record.lock.duration.ms`, 30 s by default).

mod acks;
mod builders;
mod engine;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::Stream;
use tokio::sync::{mpsc, oneshot};

pub use acks::AcknowledgeType;
use engine::Delivered;
use engine::{Command, Engine};

use crate::delivery::stream::{self, Feed, Opened};
use crate::delivery::DeliveryQueue;
use crate::error::{Error, Result};
use crate::events::TopicPartition;
use crate::fetch::message::Message;
use crate::groups::generate_member_id;
use crate::Kafka;

/// How records are acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcknowledgementMode {
    /// Each record counts as accepted once the caller moves past it (the next record of a
    /// [`ShareConsumer::stream`], a handler that returns `Ok`), released when the handler
    /// fails. The default (Java's `share.acknowledgement.mode=implicit`).
    Implicit,
    /// The caller acknowledges each record with [`ShareConsumer::acknowledge`]; from a
    /// stream, records left unacknowledged when the next batch is taken are released. A
    /// handler's own acknowledgement wins over its result.
    Explicit,
}

/// How the broker counts the records one share fetch acquires (KIP-1206, Java's
/// `share.acquire.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShareAcquireMode {
    /// Whole record batches: a fetch may acquire more than `max_records` to end on a batch
    /// boundary. The default (Java's `batch_optimized`).
    #[default]
    BatchOptimized,
    /// At most `max_records` records per fetch, even mid-batch (Java's `record_limit`). Needs
    /// ShareFetch v2 (Apache Kafka 4.2+); an older broker is refused with an error rather than
    /// silently handing out whole batches.
    RecordLimit,
}

impl ShareAcquireMode {
    /// The wire value of ShareFetch's `ShareAcquireMode`.
    pub(crate) fn code(self) -> i8 {
        match self {
            ShareAcquireMode::BatchOptimized => 0,
            ShareAcquireMode::RecordLimit => 1,
        }
    }
}

/// Share consumer options.
#[derive(Debug, Clone)]
pub struct ShareConsumerConfig {
    /// The share group (a name of its own: a consumer group's id is refused).
    pub group_id: String,
    /// Default [`AcknowledgementMode::Implicit`].
    pub acknowledgement_mode: AcknowledgementMode,
    /// Records one fetch acquires at most (Java `max.poll.records`). Default 500. A fetch may
    /// acquire more to end on a batch boundary unless `acquire_mode` is
    /// [`ShareAcquireMode::RecordLimit`].
    pub max_records: i32,
    /// Whether `max_records` is a strict limit. Default [`ShareAcquireMode::BatchOptimized`].
    pub acquire_mode: ShareAcquireMode,
    /// Longest a fetch waits for records. Default 500 ms.
    pub max_wait: Duration,
    /// Bytes a fetch waits for. Default 1.
    pub min_bytes: i32,
    /// Bytes per fetch response (`fetch.max.bytes`). Default 50 MiB. Also what one answer's
    /// records may take in memory once decoded (inflated batches included).
    pub max_bytes: i32,
    /// Rack of this client.
    pub rack_id: Option<String>,
    /// Check each record batch's CRC-32C (Java `check.crcs`). Default true. A batch that fails
    /// it (or cannot be read otherwise) is released back to the group with a warning.
    pub check_crcs: bool,
}

impl ShareConsumerConfig {
    /// Defaults for `group_id`.
    ///
    /// ```
    /// let c = kafkit::share::ShareConsumerConfig::new("work-queue");
    /// assert_eq!(c.max_records, 500);
    /// ```
    pub fn new(group_id: impl Into<String>) -> Self {
        ShareConsumerConfig {
            group_id: group_id.into(),
            acknowledgement_mode: AcknowledgementMode::Implicit,
            max_records: 500,
            acquire_mode: ShareAcquireMode::BatchOptimized,
            max_wait: Duration::from_millis(500),
            min_bytes: 1,
            max_bytes: 50 * 1024 * 1024,
            rack_id: None,
            check_crcs: true,
        }
    }

    /// Sets the acknowledgement mode.
    ///
    /// ```
    /// use kafkit::share::{AcknowledgementMode, ShareConsumerConfig};
    /// let c = ShareConsumerConfig::new("q").acknowledgement_mode(AcknowledgementMode::Explicit);
    /// assert_eq!(c.acknowledgement_mode, AcknowledgementMode::Explicit);
    /// ```
    pub fn acknowledgement_mode(mut self, mode: AcknowledgementMode) -> Self {
        self.acknowledgement_mode = mode;
        self
    }

    /// Sets how strictly `max_records` holds (see [`ShareAcquireMode`]).
    ///
    /// ```
    /// use kafkit::share::{ShareAcquireMode, ShareConsumerConfig};
    /// let c = ShareConsumerConfig::new("q").acquire_mode(ShareAcquireMode::RecordLimit);
    /// assert_eq!(c.acquire_mode, ShareAcquireMode::RecordLimit);
    /// ```
    pub fn acquire_mode(mut self, mode: ShareAcquireMode) -> Self {
        self.acquire_mode = mode;
        self
    }

    /// Sets the longest wait of a fetch.
    ///
    /// ```
    /// let c = kafkit::share::ShareConsumerConfig::new("q").max_wait(std::time::Duration::from_millis(100));
    /// assert_eq!(c.max_wait.as_millis(), 100);
    /// ```
    pub fn max_wait(mut self, d: Duration) -> Self {
        self.max_wait = d;
        self
    }

    fn validate(&self) -> Result<()> {
        if self.group_id.trim().is_empty() {
            return Err(Error::config(
                "group_id is empty; give the share group a name",
            ));
        }
        if self.max_records <= 0 || self.max_bytes <= 0 || self.min_bytes < 0 {
            return Err(Error::config(
                "max_records and max_bytes must be positive, min_bytes not negative",
            ));
        }
        Ok(())
    }
}

/// One partition's records from one fetch, as [`ShareConsumer::run_each_batch`] hands them out.
pub struct ShareBatch {
    /// The partition.
    pub partition: TopicPartition,
    /// The records, in offset order.
    pub records: Vec<ShareRecord>,
    consumer: ShareConsumer,
}

impl ShareBatch {
    /// Acknowledges one record of the batch now (see [`ShareConsumer::acknowledge`]).
    pub async fn acknowledge(&self, record: &ShareRecord, kind: AcknowledgeType) -> Result<()> {
        self.consumer.acknowledge(record, kind).await
    }

    /// Renews one record's acquisition lock (see [`ShareConsumer::renew`]).
    pub async fn renew(&self, record: &ShareRecord) -> Result<()> {
        self.consumer.renew(record).await
    }
}

/// A record acquired by this member, with the number of times the broker has delivered it
/// (1 the first time). Dereferences to the [`Message`].
#[derive(Debug, Clone)]
pub struct ShareRecord {
    /// The record.
    pub message: Message,
    /// Deliveries so far, this one included.
    pub delivery_count: i16,
}

impl std::ops::Deref for ShareRecord {
    type Target = Message;
    fn deref(&self) -> &Message {
        &self.message
    }
}

impl ShareRecord {
    fn partition_id(&self) -> TopicPartition {
        TopicPartition::new(self.message.topic.to_string(), self.message.partition)
    }
}

struct Inner {
    kafka: Kafka,
    config: ShareConsumerConfig,
    member_id: String,
    commands: mpsc::UnboundedSender<Command>,
    delivery: DeliveryQueue<mpsc::UnboundedReceiver<Delivered>>,
    pending: Mutex<
        Option<(
            mpsc::UnboundedReceiver<Command>,
            mpsc::UnboundedSender<Delivered>,
        )>,
    >,
    engine: Mutex<Option<tokio::task::JoinHandle<Option<Error>>>>,
    running: AtomicBool,
}

/// A member of a share group. Cheap to clone; clones share the membership.
#[derive(Clone)]
pub struct ShareConsumer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ShareConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShareConsumer")
            .field("group_id", &self.inner.config.group_id)
            .field("member_id", &self.inner.member_id)
            .finish()
    }
}

impl Kafka {
    /// A share group member (KIP-932) on this handle's connections and metadata.
    ///
    /// ```no_run
    /// # async fn f(kafka: kafkit::Kafka) -> kafkit::Result<()> {
    /// let consumer = kafka.share_consumer(kafkit::share::ShareConsumerConfig::new("work-queue"))?;
    /// # Ok(()) }
    /// ```
    pub fn share_consumer(&self, config: ShareConsumerConfig) -> Result<ShareConsumer> {
        config.validate()?;
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (deliver, delivery) = mpsc::unbounded_channel();
        Ok(ShareConsumer {
            inner: Arc::new(Inner {
                kafka: self.clone(),
                member_id: generate_member_id(),
                config,
                commands,
                delivery: DeliveryQueue::new(delivery, "share consumer"),
                pending: Mutex::new(Some((commands_rx, deliver))),
                engine: Mutex::new(None),
                running: AtomicBool::new(false),
            }),
        })
    }
}

impl ShareConsumer {
    /// This member's id (generated by the client, kept for its lifetime).
    pub fn member_id(&self) -> &str {
        &self.inner.member_id
    }

    /// The settings.
    pub fn config(&self) -> &ShareConsumerConfig {
        &self.inner.config
    }

    /// Subscribes to these topics (replacing earlier ones) and joins the share group. A broker
    /// without share groups fails here, naming the feature to turn on.
    ///
    /// ```no_run
    /// # async fn f(c: kafkit::share::ShareConsumer) -> kafkit::Result<()> {
    /// c.subscribe(&["jobs", "retries"]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn subscribe(&self, topics: &[&str]) -> Result<()> {
        if topics.is_empty() || topics.iter().any(|t| t.is_empty()) {
            return Err(Error::config(
                "subscribe needs at least one non-empty topic name",
            ));
        }
        self.start_engine();
        let (reply, rx) = oneshot::channel();
        self.command(Command::Subscribe(
            topics.iter().map(|t| t.to_string()).collect(),
            reply,
        ))?;
        let wait = self.inner.kafka.config().request_timeout;
        match tokio::time::timeout(wait, rx).await {
            Ok(answer) => answer.map_err(|_| self.gone())?,
            Err(_) => {
                tracing::warn!(group = %self.inner.config.group_id, "no heartbeat answer yet; joining the share group in the background");
                Ok(())
            }
        }
    }

    fn start_engine(&self) {
        let Some((commands, deliver)) = self.inner.pending.lock().ok().and_then(|mut p| p.take())
        else {
            return;
        };
        let engine = Engine::new(
            self.inner.kafka.clone(),
            self.inner.config.clone(),
            self.inner.member_id.clone(),
            deliver,
            commands,
        );
        let handle = tokio::spawn(engine.run());
        if let Ok(mut e) = self.inner.engine.lock() {
            *e = Some(handle);
        }
    }

    fn command(&self, cmd: Command) -> Result<()> {
        self.inner.commands.send(cmd).map_err(|_| self.gone())
    }

    fn gone(&self) -> Error {
        Error::closed("share_consumer")
    }

    /// The partitions assigned to this member now (others may read them too).
    pub async fn assignment(&self) -> Result<Vec<TopicPartition>> {
        let (tx, rx) = oneshot::channel();
        self.command(Command::Assignment(tx))?;
        rx.await.map_err(|_| self.gone())
    }

    /// Acknowledges one record this member holds: decided at once (a handler's result no longer
    /// counts for it), sent with the next fetch to its broker, or at once by
    /// [`commit`](Self::commit). A record is acknowledged once; a second call is an error.
    ///
    /// ```no_run
    /// # async fn f(c: kafkit::share::ShareConsumer, r: kafkit::share::ShareRecord) -> kafkit::Result<()> {
    /// use kafkit::share::AcknowledgeType;
    /// c.acknowledge(&r, if r.delivery_count > 3 { AcknowledgeType::Reject } else { AcknowledgeType::Release }).await?;
    /// # Ok(()) }
    /// ```
    pub async fn acknowledge(&self, record: &ShareRecord, kind: AcknowledgeType) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        self.command(Command::Acknowledge(
            record.partition_id(),
            record.offset,
            kind,
            reply,
        ))?;
        rx.await.map_err(|_| self.gone())?
    }

    /// Renews the acquisition lock of a record this member holds, for a handler that needs
    /// longer than the broker's lock duration (`group.share.record.lock.duration.ms`): the
    /// record stays this member's for another lock duration and is not redelivered meanwhile.
    /// Needs Apache Kafka 4.2+ (ShareAcknowledge v2, KIP-1222); an older broker gives an
    /// `Unsupported` error naming it.
    ///
    /// ```no_run
    /// # async fn f(c: kafkit::share::ShareConsumer, r: kafkit::share::ShareRecord) -> kafkit::Result<()> {
    /// // Still working on it after 20 s: keep it.
    /// c.renew(&r).await?;
    /// # Ok(()) }
    /// ```
    pub async fn renew(&self, record: &ShareRecord) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        self.command(Command::Renew(record.partition_id(), record.offset, reply))?;
        rx.await.map_err(|_| self.gone())?
    }

    /// Sends every acknowledgement decided so far now (and waits for those already riding on a
    /// fetch), then reports the outcome for each partition: a record whose acquisition lock ran
    /// out is refused with INVALID_RECORD_STATE (it was delivered again).
    ///
    /// ```no_run
    /// # async fn f(c: kafkit::share::ShareConsumer) -> kafkit::Result<()> {
    /// for (tp, outcome) in c.commit().await? {
    ///     if let Err(e) = outcome {
    ///         eprintln!("{tp}: {e}");
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn commit(&self) -> Result<Vec<(TopicPartition, Result<()>)>> {
        let (reply, rx) = oneshot::channel();
        self.command(Command::Commit(reply))?;
        rx.await.map_err(|_| self.gone())
    }

    /// Runs `handler` for each record until [`close`](Self::close): `Ok` accepts the record,
    /// an error releases it (it is delivered again, to some member, until the broker's
    /// delivery limit archives it) and the run goes on. An explicit acknowledgement from the
    /// handler wins over its result.
    pub async fn run_each_message<H, F>(&self, handler: H) -> Result<()>
    where
        H: Fn(ShareRecord) -> F + Send + Sync + 'static,
        F: Future<Output = Result<()>> + Send + 'static,
    {
        self.drain(|batch| async {
            let mut decided = Vec::with_capacity(batch.records.len());
            for record in batch.records {
                let offset = record.offset;
                let kind = match handler(record).await {
                    Ok(()) => AcknowledgeType::Accept,
                    Err(e) => {
                        tracing::debug!(partition = %batch.partition, offset, error = %e, "handler failed: releasing the record");
                        AcknowledgeType::Release
                    }
                };
                decided.push((offset, kind));
            }
            (batch.partition, decided)
        })
        .await
    }

    /// Runs `handler` for each batch of records (one partition's records from one fetch) until
    /// [`close`](Self::close). The handler may acknowledge records itself with
    /// [`acknowledge`](Self::acknowledge) (or [`ShareBatch::acknowledge`]); when it returns, the
    /// records it left undecided are accepted if it returned `Ok` and released if it failed.
    ///
    /// ```no_run
    /// # async fn f(c: kafkit::share::ShareConsumer) -> kafkit::Result<()> {
    /// use kafkit::share::AcknowledgeType;
    /// c.run_each_batch(|batch| async move {
    ///     for r in &batch.records {
    ///         if r.value.is_none() {
    ///             batch.acknowledge(r, AcknowledgeType::Reject).await?; // a tombstone: drop it
    ///         }
    ///     }
    ///     Ok(()) // the others are accepted
    /// })
    /// .await
    /// # }
    /// ```
    pub async fn run_each_batch<H, F>(&self, handler: H) -> Result<()>
    where
        H: Fn(ShareBatch) -> F + Send + Sync + 'static,
        F: Future<Output = Result<()>> + Send + 'static,
    {
        self.drain(|batch| async {
            let offsets: Vec<i64> = batch.records.iter().map(|r| r.offset).collect();
            let partition = batch.partition.clone();
            let kind = match handler(ShareBatch {
                partition: batch.partition,
                records: batch.records,
                consumer: self.clone(),
            })
            .await
            {
                Ok(()) => AcknowledgeType::Accept,
                Err(e) => {
                    tracing::debug!(partition = %partition, error = %e, "batch handler failed: releasing its records");
                    AcknowledgeType::Release
                }
            };
            (partition, offsets.into_iter().map(|o| (o, kind)).collect())
        })
        .await
    }

    /// One run: each delivered batch goes through `handle`, whose decisions go back to the
    /// engine, until the member closes.
    async fn drain<'a, H, F>(&'a self, handle: H) -> Result<()>
    where
        H: Fn(Delivered) -> F,
        F: Future<Output = (TopicPartition, Vec<(i64, AcknowledgeType)>)> + 'a,
    {
        let mut rx = self.inner.delivery.take("run")?;
        self.inner.running.store(true, Ordering::Release);
        while let Some(batch) = rx.recv().await {
            let (partition, decided) = handle(batch).await;
            if self.command(Command::Decided(partition, decided)).is_err() {
                break;
            }
        }
        self.inner.running.store(false, Ordering::Release);
        Ok(())
    }

    /// The records as a `Stream`. Implicit mode: a record is accepted once the next one is
    /// taken (and the last ones when the stream is dropped); explicit mode: acknowledge each
    /// with [`acknowledge`](Self::acknowledge) — records left unacknowledged when the next
    /// batch is taken are released.
    pub fn stream(&self) -> impl Stream<Item = Result<ShareRecord>> + Send + 'static {
        stream::records(
            self.inner.delivery.handle(),
            RecordFeed {
                consumer: self.clone(),
            },
        )
    }

    /// Whether `run_each_message` is running.
    pub fn is_running(&self) -> bool {
        self.inner.running.load(Ordering::Acquire)
    }

    /// Leaves the share group: records still held go back to the group (released), decided
    /// acknowledgements are sent with the end of each share session, then the member leaves.
    /// A running `run_each_message` returns. Idempotent.
    pub async fn close(&self) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        if self.command(Command::Close(reply)).is_err() {
            return Ok(());
        }
        let res = rx.await.unwrap_or(Ok(()));
        let handle = self.inner.engine.lock().ok().and_then(|mut e| e.take());
        if let Some(h) = handle {
            let _ = tokio::time::timeout(Duration::from_secs(30), h).await;
        }
        res
    }
}

/// How the share consumer's stream opens and settles its batches.
struct RecordFeed {
    consumer: ShareConsumer,
}

impl RecordFeed {
    fn decide(&self, tp: TopicPartition, offsets: Vec<i64>, kind: AcknowledgeType) {
        let decided = offsets.into_iter().map(|o| (o, kind)).collect();
        let _ = self.consumer.command(Command::Decided(tp, decided));
    }
}

impl Feed for RecordFeed {
    type Delivery = Delivered;
    type Record = ShareRecord;
    /// The batch's partition and every offset in it.
    type Open = (TopicPartition, Vec<i64>);

    fn open(&mut self, batch: Delivered) -> Result<Opened<Self>> {
        let offsets = batch.records.iter().map(|r| r.offset).collect();
        Ok(Some(((batch.partition, offsets), batch.records)))
    }

    /// Taken records count as the mode says: accepted (implicit) or, left unacknowledged,
    /// released (explicit).
    fn settle(&mut self, (tp, offsets): Self::Open) {
        let kind = match self.consumer.inner.config.acknowledgement_mode {
            AcknowledgementMode::Implicit => AcknowledgeType::Accept,
            AcknowledgementMode::Explicit => AcknowledgeType::Release,
        };
        self.decide(tp, offsets, kind);
    }

    /// Records never taken go back to the group.
    fn dropped(&mut self, open: Self::Open, rest: Vec<ShareRecord>) {
        let tp = open.0.clone();
        self.settle(open);
        if !rest.is_empty() {
            let rest = rest.iter().map(|r| r.offset).collect();
            self.decide(tp, rest, AcknowledgeType::Release);
        }
    }
}
