//! The share consumer behind `kafka.shareConsumer()` (KIP-932 share groups, `lib/share-consumer.js`).
//! As with the consumer, nothing joins the group before `run`: `start` builds the kafkit
//! share consumer and subscribes it, `run` hands each batch (one partition's records from one
//! fetch) to one JavaScript call. JavaScript sends the acknowledgements it decided with
//! `settle`; its handler's result decides the records it left open (`true` accepts them,
//! `false` releases them), as kafkit's `run_each_batch` does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafkit::admin::{AlterConfigOp, ConfigResource};
use kafkit::share::{
    AcknowledgeType, AcknowledgementMode, ShareAcquireMode, ShareBatch, ShareConsumer,
    ShareConsumerConfig, ShareRecord,
};
use kafkit::{Error, ErrorKind, Event};
use napi::bindgen_prelude::{Int32Array, Promise};
use napi::threadsafe_function::ThreadsafeFunction;
use napi::Status;
use napi_derive::napi;

use crate::batch::{pack_messages, PackedRecords};
use crate::client::{ClientOptions, Link};
use crate::error::{config, to_js, IntoJs, Result};
use crate::shapes::Tp;

/// The share consumer's options, as `lib/share-consumer.js` passes them (unset ones keep
/// kafkit's defaults).
#[napi(object)]
pub struct ShareOptions {
    pub group_id: String,
    /// `implicit` (default) or `explicit`.
    pub acknowledgement_mode: Option<String>,
    pub max_records: Option<i32>,
    /// `batch_optimized` (default) or `record_limit`.
    pub acquire_mode: Option<String>,
    pub max_wait_time_in_ms: Option<u32>,
    pub min_bytes: Option<i32>,
    pub max_bytes: Option<i32>,
    pub rack_id: Option<String>,
}

fn share_config(o: ShareOptions) -> Result<ShareConsumerConfig> {
    let mut c = ShareConsumerConfig::new(o.group_id);
    c.acknowledgement_mode = match o.acknowledgement_mode.as_deref() {
        None | Some("implicit") => AcknowledgementMode::Implicit,
        Some("explicit") => AcknowledgementMode::Explicit,
        Some(m) => {
            return Err(config(format!(
                "shareConsumer acknowledgementMode '{m}' is not one of 'implicit', 'explicit'"
            )))
        }
    };
    c.acquire_mode = match o.acquire_mode.as_deref() {
        None | Some("batch_optimized") => ShareAcquireMode::BatchOptimized,
        Some("record_limit") => ShareAcquireMode::RecordLimit,
        Some(m) => {
            return Err(config(format!(
                "shareConsumer acquireMode '{m}' is not one of 'batch_optimized', 'record_limit'"
            )))
        }
    };
    if let Some(v) = o.max_records {
        c.max_records = v;
    }
    if let Some(v) = o.max_wait_time_in_ms {
        c.max_wait = Duration::from_millis(v.into());
    }
    if let Some(v) = o.min_bytes {
        c.min_bytes = v;
    }
    if let Some(v) = o.max_bytes {
        c.max_bytes = v;
    }
    c.rack_id = o.rack_id;
    Ok(c)
}

/// The outcome of `commit` for one partition: `error` is a native error's reason (decoded by
/// `lib/errors.js`), absent when the broker took the acknowledgements.
#[napi(object)]
pub struct ShareCommitOutcome {
    pub topic: String,
    pub partition: i32,
    pub error: Option<String>,
}

/// The handler's view of one batch. Its controls stop working once the handler's promise
/// settles: the records are then decided, and the run has moved on.
#[napi]
pub struct NativeShareBatch {
    consumer: ShareConsumer,
    records: Arc<Vec<ShareRecord>>,
    open: Arc<AtomicBool>,
    topic: String,
    partition: i32,
    taken: AtomicBool,
}

impl NativeShareBatch {
    fn record(&self, offset: f64) -> Result<&ShareRecord> {
        if !self.open.load(Ordering::Acquire) {
            return Err(config(
                "this batch's handler already returned: its records were decided then (acknowledge and renew work only while the handler runs)",
            ));
        }
        let offset = offset as i64;
        self.records
            .binary_search_by_key(&offset, |r| r.offset)
            .map(|i| &self.records[i])
            .map_err(|_| {
                config(format!(
                    "offset {offset} is not a record of this batch ({}-{})",
                    self.topic, self.partition
                ))
            })
    }
}

fn ack_type(code: u32) -> Result<AcknowledgeType> {
    match code {
        1 => Ok(AcknowledgeType::Accept),
        2 => Ok(AcknowledgeType::Release),
        3 => Ok(AcknowledgeType::Reject),
        _ => Err(config(format!("unknown acknowledgement type {code}"))),
    }
}

#[napi]
impl NativeShareBatch {
    #[napi(getter)]
    pub fn topic(&self) -> String {
        self.topic.clone()
    }

    #[napi(getter)]
    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// The records, once (JavaScript keeps the decoded messages).
    #[napi]
    pub fn take(&self) -> Option<PackedRecords> {
        if self.taken.swap(true, Ordering::AcqRel) {
            return None;
        }
        let (data, layout, numbers) = pack_messages(self.records.iter().map(|r| &r.message));
        Some(PackedRecords {
            data: data.into(),
            layout: layout.into(),
            numbers: numbers.into(),
        })
    }

    /// Each record's delivery count (1 the first time), in record order.
    #[napi]
    pub fn delivery_counts(&self) -> Int32Array {
        let counts: Vec<i32> = self
            .records
            .iter()
            .map(|r| r.delivery_count.into())
            .collect();
        counts.into()
    }

    /// Acknowledges records of this batch: `types` per offset, 1 accept, 2 release, 3 reject.
    #[napi]
    pub async fn settle(&self, offsets: Vec<f64>, types: Vec<u32>) -> Result<()> {
        if offsets.len() != types.len() {
            return Err(config("settle: one acknowledgement type per offset"));
        }
        for (offset, code) in offsets.into_iter().zip(types) {
            let kind = ack_type(code)?;
            let record = self.record(offset)?;
            self.consumer.acknowledge(record, kind).await.js()?;
        }
        Ok(())
    }

    /// Renews a record's acquisition lock (KIP-1222, Kafka 4.2+).
    #[napi]
    pub async fn renew(&self, offset: f64) -> Result<()> {
        let record = self.record(offset)?;
        self.consumer.renew(record).await.js()
    }
}

/// A JavaScript batch handler: resolves `true` to accept the records it left undecided,
/// `false` to release them (it failed, or the consumer is in explicit mode).
type Handler = ThreadsafeFunction<NativeShareBatch, Promise<bool>, NativeShareBatch, Status, false>;

async fn handle(
    cb: Arc<Handler>,
    consumer: ShareConsumer,
    batch: ShareBatch,
) -> kafkit::Result<()> {
    let topic = batch.partition.topic.clone();
    let partition = batch.partition.partition;
    let open = Arc::new(AtomicBool::new(true));
    let nb = NativeShareBatch {
        consumer,
        records: Arc::new(batch.records),
        open: open.clone(),
        topic,
        partition,
        taken: AtomicBool::new(false),
    };
    let outcome = match cb.call_async_catch(nb).await {
        Ok(p) => p.await,
        Err(e) => Err(e),
    };
    open.store(false, Ordering::Release);
    match outcome {
        Ok(true) => Ok(()),
        Ok(false) => Err(Error::new(
            ErrorKind::Handler,
            "eachBatch",
            "records left undecided go back to the group",
        )),
        Err(e) => Err(Error::new(
            ErrorKind::Handler,
            "eachBatch",
            format!("the handler could not be called: {e}"),
        )),
    }
}

#[napi]
pub struct NativeShareConsumer {
    link: Arc<Link>,
    consumer: Mutex<Option<ShareConsumer>>,
    stopping: AtomicBool,
}

impl NativeShareConsumer {
    fn consumer(&self) -> Result<ShareConsumer> {
        self.consumer
            .lock()
            .ok()
            .and_then(|c| c.clone())
            .ok_or_else(|| {
                config(
                    "the share consumer has not joined its group: call shareConsumer.run() first",
                )
            })
    }
}

#[napi]
impl NativeShareConsumer {
    #[napi(factory)]
    pub async fn connect(client: ClientOptions) -> Result<Self> {
        Ok(NativeShareConsumer {
            link: Link::connect(client).await?,
            consumer: Mutex::new(None),
            stopping: AtomicBool::new(false),
        })
    }

    /// Builds the share consumer and subscribes it (joining the share group).
    /// `from_beginning` sets the group's `share.auto.offset.reset` to `earliest` first: where
    /// the group has no start offset for a partition it starts at its first record.
    #[napi]
    pub async fn start(
        &self,
        options: ShareOptions,
        topics: Vec<String>,
        from_beginning: bool,
    ) -> Result<()> {
        let config = share_config(options)?;
        if from_beginning {
            let group = ConfigResource::group(config.group_id.clone());
            let set = AlterConfigOp::set("share.auto.offset.reset", "earliest");
            self.link
                .kafka
                .admin()
                .incremental_alter_configs(&[(group, vec![set])], false)
                .await
                .js()?;
        }
        let consumer = self.link.kafka.share_consumer(config).js()?;
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        if let Err(e) = consumer.subscribe(&names).await {
            let _ = consumer.close().await;
            return Err(to_js(e));
        }
        self.stopping.store(false, Ordering::Release);
        if let Ok(mut c) = self.consumer.lock() {
            *c = Some(consumer);
        }
        Ok(())
    }

    /// Runs until `stop`; the promise settles when the run ends, with the error that ended it
    /// if the share group did (not authorized, ...).
    #[napi]
    pub async fn run(&self, callback: Handler) -> Result<()> {
        let consumer = self.consumer()?;
        let group = consumer.config().group_id.clone();
        // The engine reports what ends a membership as a Crash event.
        let mut events = self.link.kafka.events();
        let cb = Arc::new(callback);
        let c2 = consumer.clone();
        consumer
            .run_each_batch(move |batch| handle(cb.clone(), c2.clone(), batch))
            .await
            .js()?;
        if self.stopping.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut cause = None;
        while let Ok(e) = events.try_recv() {
            if let Event::Crash { group_id, error } = e {
                if group_id == group {
                    cause = Some(error);
                }
            }
        }
        Err(to_js(Error::new(
            ErrorKind::Fatal,
            "share_consumer",
            format!(
                "the share consumer left group {group}: {}",
                cause.as_deref().unwrap_or("its membership ended")
            ),
        )))
    }

    /// Leaves the group: records still held go back to it, decided acknowledgements are sent.
    #[napi]
    pub async fn stop(&self) -> Result<()> {
        self.stopping.store(true, Ordering::Release);
        let consumer = self.consumer.lock().ok().and_then(|mut c| c.take());
        match consumer {
            Some(c) => c.close().await.js(),
            None => Ok(()),
        }
    }

    /// Sends the acknowledgements decided so far and reports each partition's outcome.
    #[napi]
    pub async fn commit(&self) -> Result<Vec<ShareCommitOutcome>> {
        let outcome = self.consumer()?.commit().await.js()?;
        Ok(outcome
            .into_iter()
            .map(|(tp, res)| ShareCommitOutcome {
                topic: tp.topic,
                partition: tp.partition,
                error: res.err().map(|e| to_js(e).reason),
            })
            .collect())
    }

    #[napi]
    pub async fn assignment(&self) -> Result<Vec<Tp>> {
        Ok(self
            .consumer()?
            .assignment()
            .await
            .js()?
            .into_iter()
            .map(Tp::from)
            .collect())
    }

    /// The cluster's topics (a RegExp subscription is matched against them when made).
    #[napi]
    pub async fn list_topics(&self) -> Result<Vec<String>> {
        self.link.kafka.admin().list_topics().await.js()
    }

    #[napi]
    pub fn member_id(&self) -> Option<String> {
        self.consumer().ok().map(|c| c.member_id().to_string())
    }

    #[napi]
    pub async fn next_events(&self) -> Option<Vec<crate::events::NativeEvent>> {
        self.link.next_events().await
    }

    /// The events already received, without waiting (those of connecting).
    #[napi]
    pub fn take_events(&self) -> Vec<crate::events::NativeEvent> {
        self.link.take_events()
    }

    #[napi]
    pub fn want_requests(&self, on: bool) {
        self.link.want_requests(on)
    }

    #[napi]
    pub async fn disconnect(&self) -> Result<()> {
        let res = self.stop().await;
        self.link.close().await;
        res
    }
}
