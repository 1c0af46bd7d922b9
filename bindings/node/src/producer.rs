//! The producer behind KafkaJS's `kafka.producer()`: `send` takes a whole `messages` array as
//! one buffer plus a layout (see `lib/encode.js`), and answers per partition as KafkaJS does.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use kafkit::consumer::ConsumerGroupMetadata;
use kafkit::producer::{Acks, Compression, Header, Producer, ProducerConfig, Record};
use kafkit::TopicPartition;
use napi::bindgen_prelude::{Buffer, Float64Array, Int32Array};
use napi_derive::napi;
use tokio::sync::Mutex;

use crate::client::{ClientOptions, Link};
use crate::error::{config, IntoJs, Result};
use crate::shapes::{self, PartitionMetadataShape, TopicOffset};

/// KafkaJS's producer options that reach kafkit.
#[napi(object)]
pub struct ProducerOptions {
    pub idempotent: Option<bool>,
    pub transactional_id: Option<String>,
    pub transaction_timeout: Option<u32>,
    pub max_in_flight_requests: Option<u32>,
    /// kafkit's extension: a level per codec (KIP-390).
    pub compression_levels: Option<CompressionLevelOptions>,
}

/// kafkit's `compressionLevels` producer option (KafkaJS has none): the level each codec
/// compresses at when a `send` picks it (Java `compression.<codec>.level`).
#[napi(object)]
pub struct CompressionLevelOptions {
    pub gzip: Option<i32>,
    pub lz4: Option<i32>,
    pub zstd: Option<i32>,
}

/// What KafkaJS sets per `send`.
#[napi(object)]
pub struct SendOptions {
    pub acks: i32,
    pub compression: i32,
    pub timeout: u32,
    /// The send is a transaction's (`transaction.send`): it goes through the transactional
    /// producer. A transactional producer's other sends go out as KafkaJS's do, outside any
    /// transaction (idempotent only if `idempotent` was set).
    pub in_transaction: Option<bool>,
}

/// One entry of `send`'s answer (KafkaJS's `RecordMetadata`).
#[napi(object)]
pub struct PartitionMetadata {
    pub topic_name: String,
    pub partition: i32,
    pub error_code: i32,
    pub base_offset: String,
    pub log_append_time: String,
    pub log_start_offset: String,
}

/// Producers differ by what KafkaJS sets per `send`: acks, compression and timeout (and the
/// transactional one is apart).
type Key = (bool, i16, u8, u32);

#[napi]
pub struct NativeProducer {
    link: Arc<Link>,
    base: ProducerConfig,
    /// Whether sends outside a transaction are idempotent (KafkaJS's `idempotent`).
    plain_idempotent: Option<bool>,
    producers: Mutex<HashMap<Key, Producer>>,
}

fn acks(code: i32) -> Result<Acks> {
    match code {
        -1 => Ok(Acks::All),
        1 => Ok(Acks::Leader),
        0 => Ok(Acks::None),
        other => Err(config(format!(
            "acks {other} is not valid: use -1 (all), 1 or 0"
        ))),
    }
}

fn compression(code: i32) -> Result<Compression> {
    match code {
        0 => Ok(Compression::None),
        1 => Ok(Compression::Gzip),
        2 => Ok(Compression::Snappy),
        3 => Ok(Compression::Lz4),
        4 => Ok(Compression::Zstd),
        other => Err(config(format!(
            "compression {other} is not valid: use a CompressionTypes value (0 None, 1 GZIP, 2 Snappy, 3 LZ4, 4 ZSTD)"
        ))),
    }
}

fn parse_offset(s: &str) -> Result<i64> {
    s.parse::<i64>()
        .map_err(|_| config(format!("offset '{s}' is not an integer")))
}

/// Cuts `len` bytes off `data` at `*at`; `-1` is null.
fn take<'a>(data: &'a [u8], at: &mut usize, len: i32) -> Result<Option<&'a [u8]>> {
    if len < 0 {
        return Ok(None);
    }
    let end = at
        .checked_add(len as usize)
        .filter(|e| *e <= data.len())
        .ok_or_else(|| config("message layout runs past its data (a bug in lib/encode.js)"))?;
    let s = &data[*at..end];
    *at = end;
    Ok(Some(s))
}

#[napi]
impl NativeProducer {
    #[napi(factory)]
    pub async fn connect(client: ClientOptions, options: ProducerOptions) -> Result<Self> {
        let mut base = ProducerConfig::default();
        let plain_idempotent = options.idempotent;
        if let Some(on) = options.idempotent {
            base = base.idempotence(on);
        }
        if let Some(id) = options.transactional_id {
            base = base.transactional_id(id).idempotence(true);
        }
        if let Some(ms) = options.transaction_timeout {
            base.transaction_timeout = Duration::from_millis(ms.into());
        }
        if let Some(n) = options.max_in_flight_requests {
            base.max_in_flight = n.clamp(1, 5) as usize;
        }
        if let Some(levels) = options.compression_levels {
            for (codec, level) in [
                (Compression::Gzip, levels.gzip),
                (Compression::Lz4, levels.lz4),
                (Compression::Zstd, levels.zstd),
            ] {
                if let Some(level) = level {
                    base = base.compression_level(codec, level);
                }
            }
        }
        base.validate().js()?;
        let link = Link::connect(client).await?;
        Ok(NativeProducer {
            link,
            base,
            plain_idempotent,
            producers: Mutex::new(HashMap::new()),
        })
    }

    async fn producer(
        &self,
        acks_code: i32,
        codec: i32,
        timeout: u32,
        in_transaction: bool,
    ) -> Result<Producer> {
        let transactional = in_transaction && self.base.transactional_id.is_some();
        // A transactional id belongs to one producer: every send of it uses that one (acks=all,
        // compression and timeout of the producer's first use).
        let key = if transactional {
            if acks_code != -1 {
                return Err(config("a transactional producer sends with acks -1 (all)"));
            }
            (true, -1, 0, 0)
        } else {
            (false, acks(acks_code)?.code(), codec as u8, timeout)
        };
        let mut map = self.producers.lock().await;
        if let Some(p) = map.get(&key) {
            return Ok(p.clone());
        }
        let mut base = self.base.clone();
        if !transactional && base.transactional_id.is_some() {
            base.transactional_id = None;
            base.idempotence = self.plain_idempotent;
        }
        let mut c = base.acks(acks(acks_code)?).compression(compression(codec)?);
        if timeout > 0 {
            c.request_timeout = Duration::from_millis(timeout.into());
        }
        let p = self.link.kafka.producer(c).js()?;
        map.insert(key, p.clone());
        Ok(p)
    }

    /// Sends the messages of one topic and waits for every acknowledgement.
    #[napi]
    pub async fn send(
        &self,
        topic: String,
        data: Buffer,
        layout: Int32Array,
        timestamps: Float64Array,
        options: SendOptions,
    ) -> Result<Vec<PartitionMetadata>> {
        let producer = self
            .producer(
                options.acks,
                options.compression,
                options.timeout,
                options.in_transaction.unwrap_or(false),
            )
            .await?;
        let (data, layout, timestamps) = (&data[..], &layout[..], &timestamps[..]);
        let mut at = 0usize;
        let mut i = 0usize;
        // Headers of every message in one list; each message keeps its range.
        let mut headers: Vec<Header<'_>> = Vec::new();
        let mut parsed = Vec::with_capacity(timestamps.len());
        for &ts in timestamps {
            let head = layout
                .get(i..i + 4)
                .ok_or_else(|| config("message layout is short (a bug in lib/encode.js)"))?;
            let (partition, klen, vlen, hcount) = (head[0], head[1], head[2], head[3]);
            i += 4;
            let key = take(data, &mut at, klen)?;
            let value = take(data, &mut at, vlen)?;
            let from = headers.len();
            for _ in 0..hcount.max(0) {
                let h = layout
                    .get(i..i + 2)
                    .ok_or_else(|| config("header layout is short (a bug in lib/encode.js)"))?;
                i += 2;
                let k = take(data, &mut at, h[0])?.unwrap_or_default();
                let k = std::str::from_utf8(k).map_err(|_| config("a header key is not UTF-8"))?;
                let v = take(data, &mut at, h[1])?;
                headers.push(Header {
                    key: k.as_bytes(),
                    value: v,
                });
            }
            parsed.push((partition, key, value, from..headers.len(), ts));
        }
        let mut records = Vec::with_capacity(parsed.len());
        for (partition, key, value, hs, ts) in parsed {
            records.push(Record {
                topic: &topic,
                partition: (partition >= 0).then_some(partition),
                key,
                value,
                headers: &headers[hs],
                timestamp: (ts.is_finite() && ts >= 0.0).then_some(ts as i64),
            });
        }
        let acked = producer.send_all(records).await.js()?;
        // KafkaJS answers per partition with the first offset written there.
        let mut first: BTreeMap<i32, (i64, i64, i64)> = BTreeMap::new();
        for m in acked {
            let e = first
                .entry(m.partition)
                .or_insert((m.offset, -1, m.log_start_offset));
            e.0 = e.0.min(m.offset);
            e.2 = e.2.max(m.log_start_offset);
        }
        Ok(first
            .into_iter()
            .map(
                |(partition, (offset, append, log_start))| PartitionMetadata {
                    topic_name: topic.clone(),
                    partition,
                    error_code: 0,
                    base_offset: offset.to_string(),
                    log_append_time: append.to_string(),
                    log_start_offset: log_start.to_string(),
                },
            )
            .collect())
    }

    /// The transactional producer (created by the first transaction).
    async fn transactional(&self) -> Result<Producer> {
        if self.base.transactional_id.is_none() {
            return Err(config(
                "transactions need a transactionalId: kafka.producer({ transactionalId: 'my-app-tx', idempotent: true, maxInFlightRequests: 1 })",
            ));
        }
        self.producer(-1, 0, 0, true).await
    }

    #[napi]
    pub async fn begin_transaction(&self) -> Result<()> {
        let fresh = !self.producers.lock().await.contains_key(&(true, -1, 0, 0));
        let p = self.transactional().await?;
        if fresh {
            p.init_transactions().await.js()?;
        }
        p.begin_transaction().js()
    }

    #[napi]
    pub async fn send_offsets(&self, group_id: String, offsets: Vec<TopicOffset>) -> Result<()> {
        let p = self.transactional().await?;
        let mut list = Vec::with_capacity(offsets.len());
        for o in &offsets {
            list.push((
                TopicPartition::new(o.topic.clone(), o.partition),
                parse_offset(&o.offset)?,
            ));
        }
        p.send_offsets_to_transaction(&list, &ConsumerGroupMetadata::new(group_id))
            .await
            .js()
    }

    #[napi]
    pub async fn commit_transaction(&self) -> Result<()> {
        self.transactional().await?.commit_transaction().await.js()
    }

    #[napi]
    pub async fn abort_transaction(&self) -> Result<()> {
        self.transactional().await?.abort_transaction().await.js()
    }

    /// The topic's partitions in KafkaJS's `partitionMetadata` shape, for a custom
    /// partitioner.
    #[napi]
    pub async fn partition_metadata(&self, topic: String) -> Result<Vec<PartitionMetadataShape>> {
        let mut v = shapes::topic_metadata(&self.link.kafka, &[topic]).await?;
        Ok(v.topics.pop().map(|t| t.partitions).unwrap_or_default())
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

    /// Sends what is queued, then closes the connections.
    #[napi]
    pub async fn disconnect(&self) -> Result<()> {
        let producers: Vec<Producer> = self
            .producers
            .lock()
            .await
            .drain()
            .map(|(_, p)| p)
            .collect();
        let mut first_error = None;
        for p in producers {
            if let Err(e) = p.close().await {
                first_error.get_or_insert(e);
            }
        }
        self.link.close().await;
        match first_error {
            Some(e) => Err(crate::error::to_js(e)),
            None => Ok(()),
        }
    }
}
