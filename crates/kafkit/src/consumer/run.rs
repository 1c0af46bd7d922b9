//! The run loop: hands batches to the user's handler, up to N partitions at once, and reports
//! what was processed so commits store exactly that.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use futures::Stream;

use super::engine::{Command, Delivery, InHand, MemberStatus};
use super::Consumer;
use crate::delivery::stream::{self, Feed, Opened};
use crate::error::{Error, ErrorKind, Result};
use crate::events::{Event, TopicPartition};
use crate::fetch::message::{Batch, Message};

tokio::task_local! {
    /// The consumer whose handler is running in this task (its shared state's address), so
    /// `stop` called from the handler does not wait for the handler.
    static HANDLER_OF: usize;
}

/// Whether this task is running one of `consumer`'s handlers.
pub(crate) fn in_handler_of(consumer: &Consumer) -> bool {
    HANDLER_OF
        .try_with(|id| *id == consumer.id())
        .unwrap_or(false)
}

/// Options of `run` (KafkaJS's `consumer.run({...})`).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Partitions whose batches are handled at the same time (`partitionsConsumedConcurrently`).
    /// Records of one partition are always handled in order. Default 1.
    pub partitions_consumed_concurrently: usize,
    /// After a batch handler returns, its last record counts as processed
    /// (`eachBatchAutoResolve`). Default true.
    pub each_batch_auto_resolve: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            partitions_consumed_concurrently: 1,
            each_batch_auto_resolve: true,
        }
    }
}

/// What a batch handler gets: the batch and the controls KafkaJS's `eachBatch` offers.
///
/// ```no_run
/// # async fn demo(consumer: kafkit::consumer::Consumer) -> kafkit::Result<()> {
/// consumer
///     .run_each_batch(|ctx| async move {
///         for m in &ctx.batch.messages {
///             if !ctx.is_running() || ctx.is_stale() {
///                 break; // a seek or a rebalance made the rest of this batch obsolete
///             }
///             println!("{}@{}", ctx.batch.topic, m.offset);
///             ctx.resolve_offset(m.offset);
///             ctx.heartbeat().await?;
///         }
///         Ok(())
///     })
///     .await
/// # }
/// ```
pub struct BatchContext {
    /// The records.
    pub batch: Batch,
    consumer: Consumer,
    resolved: Arc<AtomicI64>,
    /// Shared with the engine: the progress it reads, and whether the batch is obsolete.
    hand: Arc<InHand>,
    /// The handler outlived `max_poll_interval`.
    stale: Arc<AtomicBool>,
}

impl BatchContext {
    /// Marks `offset` (and everything before it in this batch) as processed.
    pub fn resolve_offset(&self, offset: i64) {
        self.resolved.fetch_max(offset, Ordering::AcqRel);
        self.hand
            .next
            .fetch_max(offset.saturating_add(1), Ordering::AcqRel);
    }

    /// The partition of the batch.
    pub fn partition(&self) -> TopicPartition {
        TopicPartition::new(self.batch.topic.to_string(), self.batch.partition)
    }

    /// Wakes the consumer's group loop and reports the member's standing. Heartbeats run on
    /// their own schedule in kafkit, beside the handler, so a long handler needs no call: under
    /// `classic` the loop sends a heartbeat now if one is due; under `consumer` nothing is
    /// sent (the broker sets the heartbeat pace) and the call never waits on the network.
    pub async fn heartbeat(&self) -> Result<MemberStatus> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.consumer.command(Command::Heartbeat {
            tp: self.partition(),
            reply,
        })?;
        rx.await.map_err(|_| self.consumer.engine_gone())
    }

    /// Commits what was processed when the auto-commit policy says it is time (the interval
    /// passed or the threshold was reached); with auto-commit off, commits it now (KafkaJS's
    /// `commitOffsetsIfNecessary`).
    pub async fn commit_offsets_if_necessary(&self) -> Result<()> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.consumer.command(Command::CommitIfNecessary(reply))?;
        rx.await.map_err(|_| self.consumer.engine_gone())?
    }

    /// The next offset to commit for this partition (last resolved + 1), if any was resolved
    /// in this batch.
    pub fn uncommitted_offsets(&self) -> Option<(TopicPartition, i64)> {
        let r = self.resolved.load(Ordering::Acquire);
        (r >= 0).then(|| (self.partition(), r + 1))
    }

    /// Whether the consumer is still running (false once `stop` was called).
    pub fn is_running(&self) -> bool {
        self.consumer.is_running()
    }

    /// Whether the rest of this batch is obsolete: a seek moved the partition, a rebalance is
    /// taking it away or took it (fenced, session lost), or the handler outlived
    /// `max_poll_interval`. Stop processing and return; what was resolved is kept (and, on a
    /// revocation, committed before the partition moves).
    pub fn is_stale(&self) -> bool {
        self.stale.load(Ordering::Acquire) || self.hand.is_obsolete()
    }

    /// Pauses this partition (resume it with `Consumer::resume`).
    pub fn pause(&self) -> Result<()> {
        self.consumer.pause(&[self.partition()])
    }
}

impl Consumer {
    /// Runs `handler` for each record until `stop` (KafkaJS's `eachMessage`). A handler error
    /// stops the run with that error; records after the failing one are not marked processed.
    ///
    /// Records that cannot be read (corrupt, or a batch past `max_prefetch_bytes`) end the run
    /// with an error of kind [`CorruptRecord`](ErrorKind::CorruptRecord) or
    /// [`TooLarge`](ErrorKind::TooLarge) once the partition's records before them were
    /// handled; the consumer stays in its group and nothing past them is committed. Seek past
    /// them ([`Error::partition_offset`] says where) and run again to go on, as with Java's
    /// `CorruptRecordException`.
    ///
    /// A consumer that stopped on an error (a member fenced for good, an authorization
    /// refused) ends the run with that error, and a run after a failed `subscribe` returns the
    /// subscribe's error at once; a run ends with `Ok(())` only when `stop` ended it.
    pub async fn run_each_message<H, F>(&self, handler: H) -> Result<()>
    where
        H: Fn(Message) -> F + Send + Sync + 'static,
        F: Future<Output = Result<()>> + Send + 'static,
    {
        self.run_each_message_with(RunOptions::default(), handler)
            .await
    }

    /// `run_each_message` with options (concurrency).
    pub async fn run_each_message_with<H, F>(&self, options: RunOptions, handler: H) -> Result<()>
    where
        H: Fn(Message) -> F + Send + Sync + 'static,
        F: Future<Output = Result<()>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        self.run_each_batch_with(
            RunOptions {
                each_batch_auto_resolve: false,
                ..options
            },
            move |ctx: BatchContext| {
                let handler = handler.clone();
                async move {
                    for m in ctx.batch.messages.clone() {
                        if !ctx.is_running() || ctx.is_stale() {
                            break;
                        }
                        let offset = m.offset;
                        handler(m).await?;
                        ctx.resolve_offset(offset);
                    }
                    Ok(())
                }
            },
        )
        .await
    }

    /// Runs `handler` for each batch until `stop` (KafkaJS's `eachBatch`).
    pub async fn run_each_batch<H, F>(&self, handler: H) -> Result<()>
    where
        H: Fn(BatchContext) -> F + Send + Sync + 'static,
        F: Future<Output = Result<()>> + Send + 'static,
    {
        self.run_each_batch_with(RunOptions::default(), handler)
            .await
    }

    /// `run_each_batch` with options.
    pub async fn run_each_batch_with<H, F>(&self, options: RunOptions, handler: H) -> Result<()>
    where
        H: Fn(BatchContext) -> F + Send + Sync + 'static,
        F: Future<Output = Result<()>> + Send + 'static,
    {
        let mut rx = self.inner.delivery.take("run")?;
        if let Some(e) = self.failure() {
            return Err(e);
        }
        self.inner.running.store(true, Ordering::Release);
        let concurrency = options.partitions_consumed_concurrently.max(1);
        let max_poll = self.inner.config.max_poll_interval;
        let mut running = FuturesUnordered::new();
        // The run ends on a partition's records that cannot be read, but the consumer stays:
        // the application may seek past them and run again. (Also set when the consumer has
        // stopped on its own: nothing more to stop or report.)
        let mut partition_error = false;
        let result = loop {
            let can_take = running.len() < concurrency;
            tokio::select! {
                delivery = rx.recv(), if can_take => {
                    // Closed: the consumer stopped, on an error or not.
                    let Some(d) = delivery else {
                        // The engine said it already (a Crash event) and has stopped.
                        partition_error = true;
                        break self.failure().map_or(Ok(()), Err);
                    };
                    // A batch the engine dropped while queued (its partition revoked) is skipped.
                    if d.progress.take() {
                        let mut d = d;
                        if let Some(e) = self.stopped_partition(&mut d) {
                            partition_error = true;
                            break Err(e);
                        }
                        running.push(self.handle(d, &handler, options.each_batch_auto_resolve, max_poll));
                    }
                }
                Some(res) = running.next(), if !running.is_empty() => {
                    if let Err(e) = res {
                        break Err(e);
                    }
                }
                else => break Ok(()),
            }
            if !self.is_running() && running.is_empty() {
                break Ok(());
            }
        };
        // Let in-flight handlers finish so their progress is reported before leaving.
        while let Some(res) = running.next().await {
            if let Err(e) = res {
                tracing::warn!(error = %e, "handler failed while stopping");
            }
        }
        drop(rx);
        // A handler asked for the stop and could not wait for it: the run does, so what was
        // processed is committed and the group left when it returns.
        if self.inner.stop_from_handler.swap(false, Ordering::AcqRel) {
            if let Err(e) = self.stop().await {
                tracing::warn!(error = %e, "stopping after the handler asked for it failed");
            }
        }
        self.inner.running.store(false, Ordering::Release);
        if let Some(e) = result.as_ref().err().filter(|_| !partition_error) {
            self.inner.kafka.emit(Event::Crash {
                group_id: self.inner.config.group_id.clone(),
                error: e.to_string(),
            });
            let _ = self.stop().await;
        }
        result
    }

    /// The error of a delivery that says its partition stopped at records that cannot be
    /// read, marked as handled; `None` for a batch of records.
    fn stopped_partition(&self, d: &mut Delivery) -> Option<Error> {
        let e = d.error.take()?;
        let _ = self.command(Command::Processed {
            tp: TopicPartition::new(d.batch.topic.to_string(), d.batch.partition),
            generation: d.generation,
            next: None,
            done: true,
        });
        Some(e)
    }

    fn handle<H, F>(
        &self,
        d: Delivery,
        handler: &H,
        auto_resolve: bool,
        max_poll: Duration,
    ) -> impl Future<Output = Result<()>>
    where
        H: Fn(BatchContext) -> F,
        F: Future<Output = Result<()>>,
    {
        let resolved = Arc::new(AtomicI64::new(-1));
        let stale = Arc::new(AtomicBool::new(false));
        let tp = TopicPartition::new(d.batch.topic.to_string(), d.batch.partition);
        let (first, size, lag, last, epoch, high_watermark) = (
            d.batch.first_offset(),
            d.batch.messages.len(),
            d.batch.offset_lag(),
            d.batch.last_offset(),
            d.batch.messages.last().map_or(-1, |m| m.leader_epoch),
            d.batch.high_watermark,
        );
        let ctx = BatchContext {
            batch: d.batch,
            consumer: self.clone(),
            resolved: resolved.clone(),
            hand: d.progress.clone(),
            stale: stale.clone(),
        };
        let consumer = self.clone();
        let generation = d.generation;
        // A batch of records the fetch left out (control records, aborted transactions) gets
        // its events and moves the position, without a handler call (as KafkaJS).
        let skipped = ctx.batch.skipped.is_some();
        let fut = (!skipped).then(|| HANDLER_OF.scope(self.id(), handler(ctx)));
        async move {
            consumer.inner.kafka.emit(Event::StartBatchProcess {
                partition: tp.clone(),
                first_offset: first,
                last_offset: last,
                batch_size: size,
                offset_lag: lag,
                high_watermark,
            });
            let started = Instant::now();
            let res = match fut {
                None => Ok(()),
                Some(fut) => {
                    tokio::pin!(fut);
                    // Watch for a handler that outlives max_poll_interval (KafkaJS's isStale).
                    loop {
                        tokio::select! {
                            r = &mut fut => break r,
                            _ = tokio::time::sleep(max_poll), if !stale.load(Ordering::Acquire) => {
                                stale.store(true, Ordering::Release);
                                let _ = consumer.command(Command::Stale);
                            }
                        }
                    }
                }
            };
            if stale.load(Ordering::Acquire) {
                let _ = consumer.command(Command::Rejoin);
            }
            let next = if skipped || (res.is_ok() && auto_resolve && last >= 0) {
                Some((last + 1, epoch))
            } else {
                let r = resolved.load(Ordering::Acquire);
                (r >= 0).then_some((r + 1, epoch))
            };
            let _ = consumer.command(Command::Processed {
                tp: tp.clone(),
                generation,
                next,
                done: true,
            });
            consumer.inner.kafka.emit(Event::EndBatchProcess {
                partition: tp,
                first_offset: first,
                last_offset: last,
                batch_size: size,
                offset_lag: lag,
                high_watermark,
                duration: started.elapsed(),
            });
            res.map_err(|e| {
                if e.kind() == &ErrorKind::Handler {
                    e
                } else {
                    Error::new(ErrorKind::Handler, "handler", e.to_string())
                }
            })
        }
    }

    /// The records as a `Stream`. A record counts as processed once the stream is polled for
    /// the record after it (so auto-commit stores what the caller has taken). One stream or run
    /// per consumer.
    ///
    /// A partition whose records cannot be read yields one `Err` item (kind
    /// [`CorruptRecord`](ErrorKind::CorruptRecord) or [`TooLarge`](ErrorKind::TooLarge), with
    /// [`Error::partition_offset`]) and stops there until a seek; the stream goes on with the
    /// other partitions. A consumer that stopped on an error, or whose `subscribe` failed,
    /// yields that error, then the stream ends.
    pub fn stream(&self) -> impl Stream<Item = Result<Message>> + Send + 'static {
        self.inner.running.store(true, Ordering::Release);
        stream::records(
            self.inner.delivery.handle(),
            RecordFeed {
                consumer: self.clone(),
            },
        )
    }
}

/// How the group consumer's stream opens and settles its batches.
struct RecordFeed {
    consumer: Consumer,
}

/// The batch a stream is taking records from.
struct OpenBatch {
    tp: TopicPartition,
    generation: u64,
    /// The offset after the last record taken (the batch's first while none was).
    next: i64,
    epoch: i32,
    /// Shared with the engine: what was taken, and whether the batch is obsolete.
    progress: Arc<InHand>,
}

impl Feed for RecordFeed {
    type Delivery = Delivery;
    type Record = Message;
    type Open = OpenBatch;

    fn open(&mut self, mut d: Delivery) -> Result<Opened<Self>> {
        if !d.progress.take() {
            return Ok(None); // dropped while queued (its partition revoked)
        }
        // A partition stopped at records that cannot be read: an error item; the stream goes
        // on with the other partitions.
        if let Some(e) = self.consumer.stopped_partition(&mut d) {
            return Err(e);
        }
        // Nothing taken yet: the next offset is the batch's first (past a batch of left-out
        // records, after its last).
        let next = match d.batch.skipped {
            Some((_, last)) => last + 1,
            None => d.batch.first_offset(),
        };
        let open = OpenBatch {
            tp: TopicPartition::new(d.batch.topic.to_string(), d.batch.partition),
            generation: d.generation,
            next,
            epoch: -1,
            progress: d.progress,
        };
        Ok(Some((open, d.batch.messages)))
    }

    fn taken(&mut self, open: &mut OpenBatch, m: &Message) {
        // Everything before this record has been taken by the caller. (Offsets only grow
        // within a batch, and the stream is the only writer: a plain store does.)
        open.progress.next.store(m.offset, Ordering::Release);
        open.next = m.offset + 1;
        open.epoch = m.leader_epoch;
    }

    fn obsolete(&self, open: &OpenBatch) -> bool {
        open.progress.is_obsolete()
    }

    /// What the caller took counts as processed (also when the batch became obsolete, or
    /// the stream dropped).
    fn settle(&mut self, open: OpenBatch) {
        let _ = self.consumer.command(Command::Processed {
            tp: open.tp,
            generation: open.generation,
            next: Some((open.next, open.epoch)),
            done: true,
        });
    }

    fn failure(&self) -> Option<Error> {
        self.consumer.failure()
    }
}
