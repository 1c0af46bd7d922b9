//! The consumer behind KafkaJS's `kafka.consumer()`. As in KafkaJS, nothing joins a group
//! before `run`: `start` builds the kafkit consumer from the consumer options and the run
//! options together (auto-commit is a run option in KafkaJS), subscribes and connects; `run`
//! then hands each batch to one JavaScript call and waits for its promise.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafkit::consumer::{
    AutoOffsetReset, BatchContext, Consumer, ConsumerConfig, GroupProtocol, IsolationLevel,
    RunOptions,
};
use kafkit::{Error, ErrorKind, TopicPartition};
use napi::bindgen_prelude::{Buffer, Promise};
use napi::threadsafe_function::ThreadsafeFunction;
use napi::Status;
use napi_derive::napi;

use crate::batch::NativeBatch;
use crate::client::{ClientOptions, Link};
use crate::error::{config, IntoJs, Result};
use crate::shapes::{self, GroupsShape, TopicOffset, Tp};

/// KafkaJS's consumer options and `run` options, as `lib/consumer.js` passes them (unset
/// options keep kafkit's defaults; the JavaScript side applies KafkaJS's).
#[napi(object)]
pub struct ConsumerOptions {
    pub group_id: String,
    pub group_protocol: String,
    pub group_remote_assignor: Option<String>,
    pub rebalance_timeout: Option<u32>,
    pub session_timeout: Option<u32>,
    pub heartbeat_interval: Option<u32>,
    pub partition_assigners: Option<Vec<String>>,
    pub max_bytes_per_partition: Option<i32>,
    pub min_bytes: Option<i32>,
    pub max_bytes: Option<i32>,
    pub max_wait_time_in_ms: Option<u32>,
    pub rack_id: Option<String>,
    pub read_uncommitted: Option<bool>,
    pub group_instance_id: Option<String>,
    pub auto_commit: Option<bool>,
    pub auto_commit_interval: Option<u32>,
    pub auto_commit_threshold: Option<u32>,
    pub fallback_to_classic: Option<bool>,
}

#[napi(object)]
pub struct TopicSubscription {
    pub topic: String,
    pub from_beginning: bool,
    /// `topic` is a regular expression the broker evaluates (KIP-848, from a RegExp).
    pub pattern: Option<bool>,
}

#[napi(object)]
pub struct RunSettings {
    pub partitions_consumed_concurrently: u32,
    pub each_batch_auto_resolve: bool,
}

fn ms(v: u32) -> Duration {
    Duration::from_millis(v.into())
}

fn consumer_config(o: ConsumerOptions) -> Result<ConsumerConfig> {
    let protocol = match o.group_protocol.as_str() {
        "classic" => GroupProtocol::Classic,
        "consumer" => GroupProtocol::Consumer,
        _ => {
            return Err(config(
                "Consumer groupProtocol must be either 'classic' or 'consumer'",
            ))
        }
    };
    let mut c = ConsumerConfig::new(o.group_id).group_protocol(protocol);
    c.remote_assignor = o.group_remote_assignor;
    if let Some(v) = o.rebalance_timeout {
        c.rebalance_timeout = ms(v);
    }
    c.session_timeout = o.session_timeout.map(ms);
    c.heartbeat_interval = o.heartbeat_interval.map(ms);
    if let Some(names) = o.partition_assigners {
        if names
            .iter()
            .any(|n| n == crate::assigners::KAFKAJS_ROUND_ROBIN)
        {
            c.custom_assigners
                .push(crate::assigners::kafkajs_round_robin());
        }
        c.partition_assigners = names;
    }
    if let Some(v) = o.max_bytes_per_partition {
        c.max_bytes_per_partition = v;
    }
    if let Some(v) = o.min_bytes {
        c.min_bytes = v;
    }
    if let Some(v) = o.max_bytes {
        c.max_bytes = v;
    }
    if let Some(v) = o.max_wait_time_in_ms {
        c.max_wait = ms(v);
    }
    c.rack_id = o.rack_id;
    if o.read_uncommitted == Some(true) {
        c.isolation_level = IsolationLevel::ReadUncommitted;
    }
    c.instance_id = o.group_instance_id;
    if let Some(on) = o.auto_commit {
        c.auto_commit = on;
    }
    if let Some(v) = o.auto_commit_interval {
        c.auto_commit_interval = ms(v);
    }
    c.auto_commit_threshold = o.auto_commit_threshold.map(|n| n as usize);
    if let Some(on) = o.fallback_to_classic {
        c.fallback_to_classic = on;
    }
    Ok(c)
}

fn tps(list: Vec<Tp>) -> Vec<TopicPartition> {
    list.into_iter()
        .map(|t| TopicPartition::new(t.topic, t.partition))
        .collect()
}

/// A JavaScript handler: takes a batch, resolves `true` when it handled it, `false` when it
/// failed (the JavaScript side keeps the error it threw, to report it as itself).
type Handler = ThreadsafeFunction<NativeBatch, Promise<bool>, NativeBatch, Status, false>;

/// Checks consumer options without connecting (so `kafka.consumer()` throws at once, as in
/// KafkaJS).
#[napi]
pub fn validate_consumer(options: ConsumerOptions) -> Result<()> {
    consumer_config(options)?.validate().js().map(|_| ())
}

#[napi]
pub struct NativeConsumer {
    link: Arc<Link>,
    consumer: Mutex<Option<Consumer>>,
    /// JavaScript assigners (`addAssigner`), offered at the next `start`.
    assigners: Mutex<Vec<Arc<dyn kafkit::consumer::assignor::PartitionAssigner>>>,
}

impl NativeConsumer {
    fn consumer(&self) -> Result<Consumer> {
        self.consumer
            .lock()
            .ok()
            .and_then(|c| c.clone())
            .ok_or_else(|| {
                config("Consumer group was not initialized, consumer#run must be called first")
            })
    }
}

async fn handle(cb: Arc<Handler>, ctx: BatchContext) -> kafkit::Result<()> {
    let (batch, handle) = NativeBatch::new(Arc::new(ctx));
    let outcome = match cb.call_async_catch(batch).await {
        Ok(p) => p.await,
        Err(e) => Err(e),
    };
    // The batch's controls stop working once its handler is done.
    if let Ok(mut h) = handle.lock() {
        *h = None;
    }
    match outcome {
        Ok(true) => Ok(()),
        Ok(false) => Err(Error::new(
            ErrorKind::Handler,
            "eachBatch",
            "the handler threw",
        )),
        Err(e) => Err(Error::new(
            ErrorKind::Handler,
            "eachBatch",
            format!("the handler could not be called: {e}"),
        )),
    }
}

#[napi]
impl NativeConsumer {
    #[napi(factory)]
    pub async fn connect(client: ClientOptions) -> Result<Self> {
        Ok(NativeConsumer {
            link: Link::connect(client).await?,
            consumer: Mutex::new(None),
            assigners: Mutex::new(Vec::new()),
        })
    }

    /// Offers a JavaScript assigner (KafkaJS's custom `partitionAssigners`) at the next
    /// `start`, under `name`; `user_data` goes in this member's subscription.
    #[napi]
    pub fn add_assigner(
        &self,
        name: String,
        user_data: Option<Buffer>,
        assign: crate::assigners::AssignFn,
    ) {
        let user_data = user_data
            .filter(|b| !b.is_empty())
            .map(|b| bytes::Bytes::copy_from_slice(&b));
        if let Ok(mut list) = self.assigners.lock() {
            list.retain(|a| a.name() != name);
            list.push(Arc::new(crate::assigners::JsAssigner::new(
                name, user_data, assign,
            )));
        }
    }

    /// Builds the consumer, subscribes it and connects it; returns the warnings its options
    /// earned (options the group protocol ignores, ...).
    #[napi]
    pub async fn start(
        &self,
        options: ConsumerOptions,
        subscriptions: Vec<TopicSubscription>,
    ) -> Result<Vec<String>> {
        let mut config = consumer_config(options)?;
        if let Ok(list) = self.assigners.lock() {
            config.custom_assigners.extend(list.iter().cloned());
        }
        let consumer = self.link.kafka.consumer(config).js()?;
        for from_beginning in [false, true] {
            let topics: Vec<&str> = subscriptions
                .iter()
                .filter(|s| s.from_beginning == from_beginning && s.pattern != Some(true))
                .map(|s| s.topic.as_str())
                .collect();
            if !topics.is_empty() {
                consumer.subscribe(&topics, from_beginning).await.js()?;
            }
        }
        for s in subscriptions.iter().filter(|s| s.pattern == Some(true)) {
            consumer
                .subscribe_pattern(&s.topic, s.from_beginning)
                .await
                .js()?;
        }
        consumer.connect().await.js()?;
        let warnings = consumer.warnings().to_vec();
        if let Ok(mut c) = self.consumer.lock() {
            *c = Some(consumer);
        }
        Ok(warnings)
    }

    /// Runs until `stop`; the promise settles when the run ends.
    #[napi]
    pub async fn run(&self, settings: RunSettings, callback: Handler) -> Result<()> {
        let consumer = self.consumer()?;
        let cb = Arc::new(callback);
        let options = RunOptions {
            partitions_consumed_concurrently: settings.partitions_consumed_concurrently.max(1)
                as usize,
            each_batch_auto_resolve: settings.each_batch_auto_resolve,
        };
        let result = consumer
            .run_each_batch_with(options, move |ctx| handle(cb.clone(), ctx))
            .await;
        if let Err(e) = &result {
            if e.partition_offset().is_some() {
                // Records that cannot be read end the run; KafkaJS's consumer stops on a
                // crash it does not restart, so this one leaves its group too (nothing past
                // the records was committed).
                let _ = consumer.stop().await;
            }
        }
        result.js()
    }

    #[napi]
    pub async fn stop(&self) -> Result<()> {
        match self.consumer() {
            Ok(c) => c.stop().await.js(),
            Err(_) => Ok(()),
        }
    }

    #[napi]
    pub async fn commit_offsets(&self, offsets: Vec<TopicOffset>) -> Result<()> {
        let consumer = self.consumer()?;
        let mut list = Vec::with_capacity(offsets.len());
        for o in offsets {
            let offset = o.offset.parse::<i64>().map_err(|_| {
                config(format!(
                    "commitOffsets: offset '{}' is not an integer",
                    o.offset
                ))
            })?;
            list.push((TopicPartition::new(o.topic, o.partition), offset));
        }
        consumer.commit_offsets(&list).await.js()
    }

    /// KafkaJS's `seek`; -2 (earliest) and -1 (latest) are looked up by the consumer, unless
    /// `strict` (`kafkitStrictOffsets`), where the core refuses them.
    #[napi]
    pub fn seek(&self, topic: String, partition: i32, offset: String, strict: bool) -> Result<()> {
        let offset = offset
            .parse::<i64>()
            .map_err(|_| config(format!("seek: offset '{offset}' is not an integer")))?;
        let tp = TopicPartition::new(topic, partition);
        let c = self.consumer()?;
        match offset {
            -2 if !strict => c.seek_reset(tp, AutoOffsetReset::Earliest),
            -1 if !strict => c.seek_reset(tp, AutoOffsetReset::Latest),
            _ => c.seek(tp, offset),
        }
        .js()
    }

    #[napi]
    pub fn pause(&self, partitions: Vec<Tp>) -> Result<()> {
        self.consumer()?.pause(&tps(partitions)).js()
    }

    #[napi]
    pub fn resume(&self, partitions: Vec<Tp>) -> Result<()> {
        self.consumer()?.resume(&tps(partitions)).js()
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

    /// The partitions of `topic` the client knows now (for pausing a whole topic).
    #[napi]
    pub fn partitions_of(&self, topic: String) -> Vec<i32> {
        self.link
            .kafka
            .cluster()
            .snapshot()
            .topic(&topic)
            .map(|t| t.partitions.iter().map(|p| p.partition).collect())
            .unwrap_or_default()
    }

    #[napi]
    pub fn member_id(&self) -> Option<String> {
        self.consumer().ok().map(|c| c.member_id())
    }

    /// The topics of the cluster (RegExp subscriptions are matched against them, as KafkaJS
    /// does, when `subscribe` is called).
    #[napi]
    pub async fn list_topics(&self) -> Result<Vec<String>> {
        self.link.kafka.admin().list_topics().await.js()
    }

    /// The group, described (KafkaJS's `consumer.describeGroup()`), as JSON.
    #[napi]
    pub async fn describe_group(&self, group_id: String) -> Result<GroupsShape> {
        shapes::describe_groups(&self.link.kafka, &[group_id]).await
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
        let consumer = self.consumer.lock().ok().and_then(|mut c| c.take());
        let res = match consumer {
            Some(c) => c.disconnect().await.js(),
            None => Ok(()),
        };
        self.link.close().await;
        res
    }
}
