//! The producer: batching per partition, linger, compression, idempotence, backpressure.
//!
//! Over 600 lines: the public `Producer` and the appending path that owns the open batches
//! (backpressure, linger, sealing) are one owner; the drain, sending and settling live in
//! `accumulator.rs` and `sender.rs`.
//!
//! ```no_run
//! # async fn demo() -> kafkit::Result<()> {
//! use kafkit::{Kafka, KafkaConfig};
//! use kafkit::producer::{ProducerConfig, Record};
//! let kafka = Kafka::connect(KafkaConfig::new(["127.0.0.1:9092"])).await?;
//! let producer = kafka.producer(ProducerConfig::default())?;
//! let ack = producer.send(Record::new("orders", b"hello").key(b"k1")).await?;
//! let meta = ack.await?;
//! println!("written at {}-{}@{}", meta.topic, meta.partition, meta.offset);
//! producer.close().await?;
//! # Ok(()) }
//! ```

mod accumulator;
mod config;
pub(crate) mod idempotence;
pub mod partitioner;
mod record;
mod request;
mod sender;
mod transaction;
mod transaction_version;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, Semaphore};

pub use crate::protocol::compression::{Compression, CompressionLevels};
pub use config::{Acks, ProducerConfig};
pub use record::{DeliveryFuture, Header, Record, RecordMetadata};
pub use transaction_version::TransactionVersion;

use accumulator::{Accumulator, Batch};
use idempotence::ProducerIdentity;
use record::BatchOutcome;

use crate::error::{Error, ErrorKind, Result};
use crate::protocol::record_batch::RecordBatchBuilder;
use crate::Kafka;

/// Bytes a batch adds around its records (the v2 batch header).
const BATCH_OVERHEAD: usize = 61;

/// First allocation of a batch buffer; it grows (doubling) up to `batch_size`, so many
/// partitions with a few records each do not hold `batch_size` bytes apiece.
const INITIAL_BATCH_CAPACITY: usize = 16 * 1024;

/// State shared by the producer handle and its sender task.
pub(crate) struct Shared {
    kafka: Kafka,
    config: ProducerConfig,
    idempotent: bool,
    acc: Mutex<Accumulator>,
    /// Wakes the sender (a batch sealed, a flush, a close).
    wake: Notify,
    /// Wakes flushers (a batch completed).
    progress: Notify,
    /// `buffer_memory`, in bytes of encoded records.
    memory: Semaphore,
    identity: Mutex<ProducerIdentity>,
    reset: AtomicBool,
    fatal: Mutex<Option<Error>>,
    /// Present with a transactional id.
    txn: Option<transaction::Txn>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Accumulator> {
        // A panic while holding the lock cannot leave batches half-appended in a way that
        // matters more than losing the producer, so recover the guard.
        self.acc.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn producer_id(&self) -> (i64, i16) {
        let id = *self.identity.lock().unwrap_or_else(|p| p.into_inner());
        (id.id, id.epoch)
    }

    fn reset_pending(&self) -> bool {
        self.reset.load(Ordering::Acquire)
    }

    /// Asks for a new epoch. In a transaction the failed batch has made it abortable and the
    /// abort bumps the epoch; outside one the sender does it once nothing is in flight.
    fn request_reset(&self) {
        if self.txn.is_none() {
            self.reset.store(true, Ordering::Release);
        }
    }

    fn txn(&self) -> Result<&transaction::Txn> {
        self.txn.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "transaction",
                "this producer has no transactional id; set ProducerConfig::transactional_id to use transactions",
            )
        })
    }

    fn set_identity(&self, id: ProducerIdentity, restart: bool) {
        *self.identity.lock().unwrap_or_else(|p| p.into_inner()) = id;
        if restart {
            self.restart_sequences(id);
        }
    }

    fn is_closed_and_empty(&self) -> bool {
        let acc = self.lock();
        acc.closed && acc.outstanding.is_empty()
    }

    /// Makes sure a producer id is known (and a requested epoch reset done once nothing is in
    /// flight). Returns false if the producer hit a fatal error.
    async fn producer_id_ready(&self) -> bool {
        if self.fatal.lock().map(|f| f.is_some()).unwrap_or(true) {
            return false;
        }
        if self.txn.is_some() {
            // init_transactions() gets the id; send() refuses records before it.
            return true;
        }
        let current = *self.identity.lock().unwrap_or_else(|p| p.into_inner());
        let resetting = self.reset_pending();
        if current.id >= 0 && !resetting {
            return true;
        }
        if resetting && self.in_flight() > 0 {
            return true; // the sender waits for responses first
        }
        let mut attempt = 0;
        loop {
            let res = async {
                let conn = self.kafka.pool().any().await?;
                let timeout_ms = self
                    .config
                    .transaction_timeout
                    .as_millis()
                    .min(i32::MAX as u128) as i32;
                idempotence::init_producer_id(
                    &conn,
                    self.config.transactional_id.as_deref(),
                    timeout_ms,
                    ProducerIdentity::NONE,
                )
                .await
            }
            .await;
            match res {
                Ok(id) => {
                    *self.identity.lock().unwrap_or_else(|p| p.into_inner()) = id;
                    if resetting {
                        self.restart_sequences(id);
                    }
                    self.reset.store(false, Ordering::Release);
                    tracing::debug!(
                        producer_id = id.id,
                        epoch = id.epoch,
                        "producer id assigned"
                    );
                    return true;
                }
                Err(e) if e.is_retriable() => {
                    let wait = self.kafka.config().retry.backoff(attempt.min(10));
                    tracing::debug!(error = %e, "InitProducerId failed; retrying");
                    attempt += 1;
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "producer cannot get a producer id");
                    self.set_fatal(e);
                    return false;
                }
            }
        }
    }

    fn in_flight(&self) -> usize {
        let acc = self.lock();
        acc.topics
            .values()
            .flat_map(|t| t.partitions.values())
            .map(|q| q.in_flight)
            .sum()
    }

    /// After a new producer id: sequences restart at 0 and pending batches are re-stamped.
    fn restart_sequences(&self, id: ProducerIdentity) {
        let mut acc = self.lock();
        let mut failed = Vec::new();
        for tq in acc.topics.values_mut() {
            for q in tq.partitions.values_mut() {
                q.next_sequence = 0;
                q.retrying = false;
                q.acked = false;
                for b in q.ready.iter_mut() {
                    if b.base_sequence >= 0 {
                        b.base_sequence = q.next_sequence;
                        q.next_sequence = q.next_sequence.wrapping_add(b.record_count) & i32::MAX;
                        if let Err(e) = sender::restamp_batch(b, id.id, id.epoch) {
                            failed.push((b.id, e));
                        }
                    }
                }
            }
        }
        drop(acc);
        for (id, e) in failed {
            tracing::error!(batch = id, error = %e, "could not re-stamp a batch");
        }
    }

    fn set_fatal(&self, e: Error) {
        let e = Error::new(ErrorKind::Fatal, e.operation(), e.to_string());
        *self.fatal.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.clone());
        self.fail_queued(&e);
    }

    /// Fails every batch not in flight; returns how many.
    fn fail_queued(&self, e: &Error) -> usize {
        let mut acc = self.lock();
        let batches = acc.take_queued();
        for b in &batches {
            self.memory.add_permits(b.reserved);
            acc.complete(b, Err(e.clone()));
        }
        drop(acc);
        self.progress.notify_waiters();
        batches.len()
    }

    /// Completes a batch that never reached the broker (expired, failed to encode).
    fn finish(&self, b: &Batch, result: std::result::Result<BatchOutcome, Error>) {
        if let (Some(t), Err(e)) = (&self.txn, &result) {
            t.record_failed(e, b.base_sequence >= 0);
        }
        if result.is_err() {
            crate::metrics::batch_failed(&b.topic, b.record_count);
        }
        self.memory.add_permits(b.reserved);
        self.lock().complete(b, result);
        self.progress.notify_waiters();
    }

    fn sent_ok(&self, b: Batch, outcome: BatchOutcome) {
        let bytes = b.data.as_ref().map_or(0, |d| d.len());
        crate::metrics::batch_acked(&b.topic, bytes, b.record_count);
        self.memory.add_permits(b.reserved);
        let mut acc = self.lock();
        if let Some(q) = acc.queue(&b.topic, b.partition) {
            q.in_flight = q.in_flight.saturating_sub(1);
            q.acked = true;
            if q.in_flight == 0 {
                q.retrying = false;
            }
        }
        acc.complete(&b, Ok(outcome));
        drop(acc);
        self.progress.notify_waiters();
    }

    fn sent_failed(&self, b: Batch, e: Error) {
        crate::metrics::batch_failed(&b.topic, b.record_count);
        if let Some(t) = &self.txn {
            t.record_failed(&e, b.base_sequence >= 0);
        }
        self.memory.add_permits(b.reserved);
        let mut acc = self.lock();
        if let Some(q) = acc.queue(&b.topic, b.partition) {
            q.in_flight = q.in_flight.saturating_sub(1);
        }
        acc.complete(&b, Err(e));
        drop(acc);
        self.progress.notify_waiters();
    }

    /// Puts a batch back for a retry, in sequence order ahead of newer batches.
    fn requeue(&self, b: Batch) {
        let idempotent = self.idempotent;
        let mut acc = self.lock();
        let key = acc.topic_key(&b.topic);
        let q = acc
            .topics
            .get_mut(&key)
            .map(|t| t.partitions.entry(b.partition).or_default());
        if let Some(q) = q {
            q.in_flight = q.in_flight.saturating_sub(1);
            q.retrying = idempotent;
            let pos = q
                .ready
                .iter()
                .position(|r| {
                    r.base_sequence < 0
                        || (b.base_sequence >= 0 && r.base_sequence > b.base_sequence)
                })
                .unwrap_or(q.ready.len());
            q.ready.insert(pos, b);
        }
        drop(acc);
        self.wake.notify_one();
    }
}

/// A Kafka producer. Cheap to clone; clones share batches and the sender task.
#[derive(Clone)]
pub struct Producer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("config", &self.shared.config)
            .finish()
    }
}

impl Kafka {
    /// A producer sharing this handle's connections and metadata.
    pub fn producer(&self, config: ProducerConfig) -> Result<Producer> {
        Producer::new(self.clone(), config)
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Producer {
    fn new(kafka: Kafka, config: ProducerConfig) -> Result<Producer> {
        config.validate()?;
        let shared = Arc::new(Shared {
            txn: config.transactional_id.clone().map(transaction::Txn::new),
            idempotent: config.is_idempotent(),
            memory: Semaphore::new(config.buffer_memory),
            kafka,
            config,
            acc: Mutex::new(Accumulator::default()),
            wake: Notify::new(),
            progress: Notify::new(),
            identity: Mutex::new(ProducerIdentity::NONE),
            reset: AtomicBool::new(false),
            fatal: Mutex::new(None),
        });
        tokio::spawn(sender::run(shared.clone()));
        Ok(Producer { shared })
    }

    /// The settings.
    pub fn config(&self) -> &ProducerConfig {
        &self.shared.config
    }

    /// Queues a record and returns a future of its acknowledgement. Waits (up to `max_block`)
    /// for topic metadata and for buffer space when `buffer_memory` is in use: that wait is the
    /// producer's backpressure.
    pub async fn send(&self, record: Record<'_>) -> Result<DeliveryFuture> {
        let shared = &self.shared;
        if let Some(e) = shared.fatal.lock().ok().and_then(|f| f.clone()) {
            return Err(e);
        }
        if let Some(t) = &shared.txn {
            t.check_send()?;
        }
        let topic = match shared
            .kafka
            .cluster()
            .snapshot()
            .topic(record.topic)
            .filter(|t| t.has_leaders())
        {
            Some(t) => t.clone(),
            None => {
                // Said at once, not after max_block: the caller may wait a long time.
                let (kafka, max_block) = (&shared.kafka, shared.config.max_block);
                let until = crate::events::utc_after(max_block);
                kafka
                    .cluster()
                    .wait_for_topic_noting(record.topic, max_block, |cause| {
                        let message = format!(
                            "produce: {}; waiting for it up to {max_block:?} (max_block, until {until}) before the send fails",
                            cause.describe(record.topic)
                        );
                        tracing::warn!("{message}");
                        kafka.emit(crate::events::Event::Warning { message });
                    })
                    .await
                    .map_err(|e| e.during("produce"))?
            }
        };
        let partitions = topic.partitions.len() as i32;
        if let Some(p) = record.partition {
            if p < 0 || p >= partitions {
                return Err(Error::new(
                    ErrorKind::Kafka(crate::error::ResponseError::UnknownTopicOrPartition),
                    "produce",
                    format!("partition {p} of topic '{}' does not exist (it has {partitions}); pick 0..{}", record.topic, partitions - 1),
                ));
            }
        }
        let size = RecordBatchBuilder::record_size(record.key, record.value, record.headers);
        if size + BATCH_OVERHEAD > shared.config.max_request_size {
            return Err(Error::new(
                ErrorKind::TooLarge,
                "produce",
                format!(
                    "record of {} bytes is larger than max_request_size ({} bytes); raise max_request_size (and the topic's max.message.bytes) or send smaller records",
                    size + BATCH_OVERHEAD,
                    shared.config.max_request_size
                ),
            ));
        }
        self.reserve(size).await?;
        let timestamp = record.timestamp.unwrap_or_else(now_ms);
        let explicit = record.partition.or_else(|| {
            shared
                .config
                .partitioner
                .partition(record.topic, record.key, record.value, partitions)
        });
        let mut acc = shared.lock();
        if acc.closed {
            drop(acc);
            shared.memory.add_permits(size);
            return Err(Error::closed("produce"));
        }
        let key = acc.topic_key(record.topic);
        let Some(tq) = acc.topics.get_mut(&key) else {
            return Err(Error::closed("produce"));
        };
        let partition = match explicit {
            Some(p) => p,
            None => *tq
                .sticky
                .get_or_insert_with(|| random_partition(partitions)),
        };
        let q = tq.partitions.entry(partition).or_default();
        let mut wake = false;
        // A full batch is sealed before the record that would overflow it.
        if let Some(open) = &q.open {
            let used = open
                .builder
                .as_ref()
                .map_or(0, RecordBatchBuilder::size_estimate);
            if open.record_count > 0 && used + size > shared.config.batch_size {
                if let Some(b) = q.open.take() {
                    q.ready.push_back(b);
                }
                if explicit.is_none() {
                    tq.sticky = Some(random_partition(partitions));
                }
                wake = true;
            }
        }
        // Sticky may have moved: re-borrow the queue of the record's partition.
        let q = tq.partitions.entry(partition).or_default();
        let opened = q.open.is_none();
        if opened {
            let capacity = shared
                .config
                .batch_size
                .min(INITIAL_BATCH_CAPACITY)
                .max(size + BATCH_OVERHEAD);
            let codec = shared.config.compression;
            let builder = RecordBatchBuilder::with_capacity(codec, capacity)
                .with_level(shared.config.compression_levels.get(codec));
            let batch = acc.new_batch(key.clone(), partition, builder);
            let Some(q) = acc.queue(&key, partition) else {
                return Err(Error::closed("produce"));
            };
            q.open = Some(batch);
        }
        let Some(q) = acc.queue(&key, partition) else {
            return Err(Error::closed("produce"));
        };
        let Some(open) = q.open.as_mut() else {
            return Err(Error::closed("produce"));
        };
        let Some(builder) = open.builder.as_mut() else {
            return Err(Error::closed("produce"));
        };
        builder.append(timestamp, record.key, record.value, record.headers);
        let index = open.record_count as i64;
        open.record_count += 1;
        open.reserved += size;
        let rx = open.done.subscribe();
        if builder.size_estimate() >= shared.config.batch_size {
            if let Some(b) = q.open.take() {
                q.ready.push_back(b);
            }
            wake = true;
        }
        drop(acc);
        if wake || opened {
            shared.wake.notify_one();
        }
        Ok(DeliveryFuture::new(key, partition, index, timestamp, rx))
    }

    async fn reserve(&self, size: usize) -> Result<()> {
        let shared = &self.shared;
        let n = u32::try_from(size)
            .map_err(|_| Error::new(ErrorKind::TooLarge, "produce", "record too large"))?;
        if size > shared.config.buffer_memory {
            return Err(Error::new(
                ErrorKind::TooLarge,
                "produce",
                format!(
                    "record of {size} bytes is larger than buffer_memory ({}); raise buffer_memory",
                    shared.config.buffer_memory
                ),
            ));
        }
        match tokio::time::timeout(shared.config.max_block, shared.memory.acquire_many(n)).await {
            Ok(Ok(permit)) => {
                permit.forget();
                Ok(())
            }
            Ok(Err(_)) => Err(Error::closed("produce")),
            Err(_) => Err(Error::new(
                ErrorKind::Timeout(shared.config.max_block),
                "produce",
                format!(
                    "buffer_memory ({} bytes) stayed full for max_block: the brokers accept records more slowly than they are sent; slow down, or raise buffer_memory / max_block",
                    shared.config.buffer_memory
                ),
            )),
        }
    }

    /// Sends records and waits for every acknowledgement (KafkaJS's `send`).
    pub async fn send_all<'a>(
        &self,
        records: impl IntoIterator<Item = Record<'a>>,
    ) -> Result<Vec<RecordMetadata>> {
        let mut acks = Vec::new();
        for r in records {
            acks.push(self.send(r).await?);
        }
        self.wake_now();
        let mut out = Vec::with_capacity(acks.len());
        for a in acks {
            out.push(a.await?);
        }
        Ok(out)
    }

    fn wake_now(&self) {
        self.shared.wake.notify_one();
    }

    /// Sends everything queued now without waiting for linger, and waits for the acknowledgements.
    pub async fn flush(&self) -> Result<()> {
        let shared = &self.shared;
        let upto = {
            let mut acc = shared.lock();
            if acc.next_batch_id == 0 {
                return Ok(());
            }
            let upto = acc.next_batch_id - 1;
            acc.flush_upto = Some(acc.flush_upto.map_or(upto, |f| f.max(upto)));
            upto
        };
        shared.wake.notify_one();
        loop {
            let progressed = shared.progress.notified();
            if shared.lock().flushed(upto) {
                return Ok(());
            }
            progressed.await;
        }
    }

    /// Flushes, then stops the sender. Records sent after `close` fail with a Closed error.
    pub async fn close(&self) -> Result<()> {
        self.flush().await?;
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Stops at once: queued records fail with a Closed error (records in flight still complete).
    pub async fn close_now(&self) {
        self.shared.lock().closed = true;
        let n = self.shared.fail_queued(&Error::closed("produce"));
        if n > 0 {
            tracing::warn!(batches = n, "producer closed with unsent batches");
        }
        self.shared.wake.notify_one();
    }

    /// Gets the producer id of the transactional id, fencing any older producer that used it
    /// and finishing the transaction it left open. Call once, before the first transaction.
    pub async fn init_transactions(&self) -> Result<()> {
        transaction::init(&self.shared).await
    }

    /// The transaction protocol this producer speaks with the cluster, chosen by
    /// [`init_transactions`](Self::init_transactions): [`TransactionVersion::V2`] (KIP-890) when
    /// the cluster finalizes `transaction.version` 2 or above, [`TransactionVersion::V1`]
    /// otherwise. `None` before `init_transactions` and for a producer without a transactional
    /// id. It may change at the end of a transaction when the producer reconnects to a
    /// coordinator whose cluster changed the feature (after `kafka-features upgrade`).
    ///
    /// ```no_run
    /// # async fn demo(kafka: kafkit::Kafka) -> kafkit::Result<()> {
    /// use kafkit::producer::{ProducerConfig, TransactionVersion};
    /// let producer = kafka.producer(ProducerConfig::default().transactional_id("etl-1"))?;
    /// producer.init_transactions().await?;
    /// assert_eq!(producer.transaction_version(), Some(TransactionVersion::V2));
    /// # Ok(()) }
    /// ```
    pub fn transaction_version(&self) -> Option<TransactionVersion> {
        self.shared.txn.as_ref().and_then(|t| t.version())
    }

    /// Opens a transaction: records sent until commit or abort belong to it.
    pub fn begin_transaction(&self) -> Result<()> {
        transaction::begin(&self.shared)
    }

    /// Commits `offsets` (the next offset to read, per partition) for the consumer group of
    /// `group` as part of the open transaction: they count only if it commits. Pass
    /// [`Consumer::group_metadata`](crate::consumer::Consumer::group_metadata), so a member
    /// that lost its partitions cannot commit (its epoch is checked).
    pub async fn send_offsets_to_transaction(
        &self,
        offsets: &[(crate::events::TopicPartition, i64)],
        group: &crate::groups::ConsumerGroupMetadata,
    ) -> Result<()> {
        transaction::send_offsets(&self.shared, offsets, group).await
    }

    /// Sends what is queued, waits for every acknowledgement and commits the open transaction.
    /// If a record of it failed, this fails and the transaction must be aborted.
    pub async fn commit_transaction(&self) -> Result<()> {
        let shared = &self.shared;
        transaction::locked(shared, async {
            shared
                .txn()?
                .check_send()
                .map_err(|e| e.during("commit_transaction"))?;
            let flushed = self.flush().await;
            transaction::end(shared, transaction::End::Commit, flushed).await
        })
        .await
    }

    /// Aborts the open transaction: its records stay in the log, but read_committed consumers
    /// skip them and its offsets are not committed.
    pub async fn abort_transaction(&self) -> Result<()> {
        let shared = &self.shared;
        transaction::locked(shared, async {
            shared.txn()?;
            // Records in flight must settle before the abort marker follows them.
            let _ = self.flush().await;
            transaction::end(shared, transaction::End::Abort, Ok(())).await
        })
        .await
    }

    /// Waits up to `timeout` for outstanding records, for shutdown paths.
    pub async fn flush_timeout(&self, timeout: Duration) -> Result<()> {
        tokio::time::timeout(timeout, self.flush())
            .await
            .map_err(|_| {
                Error::new(
                    ErrorKind::Timeout(timeout),
                    "flush",
                    "records still unacknowledged",
                )
            })?
    }
}

fn random_partition(n: i32) -> i32 {
    if n <= 1 {
        0
    } else {
        rand::random_range(0..n)
    }
}
