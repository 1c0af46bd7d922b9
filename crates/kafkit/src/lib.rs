//! # kafkit
//!
//! A pure-Rust, async (Tokio) Apache Kafka client whose headline is the next-generation consumer
//! group protocol (KIP-848, `group.protocol=consumer`, Kafka 4.0+), beside the classic protocol:
//! producer (idempotent, transactional), group and group-less consumers, share groups
//! (KIP-932), the admin client, TLS and SASL. No C library, no librdkafka.
//!
//! One [`Kafka`] handle owns the connections, the cluster metadata and the shared settings;
//! producers, consumers and the admin client are built from it and share it. Every example
//! below compiles (they are doc tests); they need a broker to run.
//!
//! - [Quick start](#quick-start)
//! - [Producer](#producer)
//! - [Group consumer](#group-consumer)
//! - [Reading partitions without a group](#reading-partitions-without-a-group)
//! - [Transactions](#transactions)
//! - [Admin](#admin)
//! - [Share groups](#share-groups)
//! - [Configuration from Java properties](#configuration-from-java-properties)
//! - [Warnings and logs](#warnings-and-logs)
//! - [Metrics](#metrics)
//! - [Errors](#errors)
//!
//! ## Quick start
//!
//! ```toml
//! [dependencies]
//! kafkit = "0.1"
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! ```no_run
//! use kafkit::consumer::ConsumerConfig;
//! use kafkit::producer::{ProducerConfig, Record};
//! use kafkit::{Kafka, KafkaConfig, NewTopic};
//!
//! #[tokio::main]
//! async fn main() -> kafkit::Result<()> {
//!     let kafka = Kafka::connect(KafkaConfig::new(["127.0.0.1:9092"]).client_id("quick-start")).await?;
//!     kafka.admin().create_topics(&[NewTopic::new("greetings", 3)]).await?;
//!
//!     let producer = kafka.producer(ProducerConfig::default())?;
//!     let delivered = producer.send(Record::new("greetings", "hello").key("user-1")).await?;
//!     println!("written at offset {}", delivered.await?.offset);
//!
//!     let consumer = kafka.consumer(ConsumerConfig::new("greeters"))?;
//!     consumer.subscribe(&["greetings"], true).await?; // true: from the beginning
//!     consumer
//!         .run_each_message(|m| async move {
//!             println!("{:?}", m.value);
//!             Ok(()) // processed: its offset is committed
//!         })
//!         .await
//! }
//! ```
//!
//! With no `tracing` subscriber and no [`Kafka::events`] listener, warnings the application
//! should see (here: a topic that does not exist) go to stderr; see
//! [Warnings and logs](#warnings-and-logs).
//!
//! ## Producer
//!
//! [`Producer::send`](producer::Producer::send) queues a record and returns a future of its
//! acknowledgement; records are batched per partition (`linger`, `batch_size`) and compressed
//! per batch. Idempotence is on by default (with `acks=all`), so retries never duplicate.
//! Keys, values and headers are anything bytes-like (`&str`, `String`, `Vec<u8>`, `Bytes`,
//! ...), borrowed until the record is encoded into its batch.
//!
//! ```no_run
//! # async fn demo(kafka: kafkit::Kafka) -> kafkit::Result<()> {
//! use std::time::Duration;
//! use kafkit::producer::{Compression, Header, ProducerConfig, Record};
//!
//! let producer = kafka.producer(
//!     ProducerConfig::default()
//!         .compression(Compression::Zstd)
//!         .linger(Duration::from_millis(10)),
//! )?;
//! let payload: Vec<u8> = br#"{"id": 42}"#.to_vec();
//! let headers = [Header::new("content-type", "application/json")];
//! let ack = producer
//!     .send(Record::new("orders", &payload).key("customer-7").headers(&headers))
//!     .await? // queued (waits only while the buffer is full or metadata unknown)
//!     .await?; // acknowledged by the broker
//! println!("{}-{}@{}", ack.topic, ack.partition, ack.offset);
//! producer.flush().await?; // everything queued so far is acknowledged
//! # Ok(()) }
//! ```
//!
//! ## Group consumer
//!
//! A [`Consumer`](consumer::Consumer) joins a group with KIP-848 by default
//! ([`GroupProtocol::Classic`](consumer::GroupProtocol::Classic) for older brokers), and
//! hands records to a handler or a `Stream`. Offsets of handled records are committed
//! automatically (every 5 s and at each reassignment) unless `auto_commit(false)`.
//!
//! ```no_run
//! # async fn demo(kafka: kafkit::Kafka) -> kafkit::Result<()> {
//! use futures::StreamExt;
//! use kafkit::consumer::{AutoOffsetReset, ConsumerConfig};
//!
//! let consumer = kafka.consumer(
//!     ConsumerConfig::new("order-processors")
//!         .auto_offset_reset(AutoOffsetReset::Earliest)
//!         .max_bytes(50 << 20),
//! )?;
//! consumer.subscribe(&["orders"], false).await?;
//! let mut records = std::pin::pin!(consumer.stream());
//! while let Some(record) = records.next().await {
//!     let m = record?;
//!     for h in &m.headers {
//!         println!("header {:?} = {:?}", h.key_str(), h.value);
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! ## Reading partitions without a group
//!
//! [`Kafka::assigned_consumer`] reads the partitions it is given, from where it is told: no
//! coordinator, no heartbeats, no commits.
//!
//! ```no_run
//! # async fn demo(kafka: kafkit::Kafka) -> kafkit::Result<()> {
//! use kafkit::consumer::ConsumerConfig;
//! use kafkit::TopicPartition;
//!
//! let reader = kafka.assigned_consumer(ConsumerConfig::without_group())?;
//! let tp = TopicPartition::new("orders", 0);
//! reader.assign(&[tp.clone()]).await?;
//! reader.seek(tp, 1_000)?;
//! reader
//!     .run_each_message(|m| async move {
//!         println!("{}@{}", m.partition, m.offset);
//!         Ok(())
//!     })
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! ## Transactions
//!
//! A producer with a transactional id writes atomically across partitions, consumed offsets
//! included (exactly-once consume-transform-produce); `read_committed` consumers (the
//! default) never see aborted records.
//!
//! ```no_run
//! # async fn demo(kafka: kafkit::Kafka, consumer: kafkit::consumer::Consumer) -> kafkit::Result<()> {
//! use kafkit::producer::{ProducerConfig, Record};
//! use kafkit::TopicPartition;
//!
//! let producer = kafka.producer(ProducerConfig::default().transactional_id("enricher-1"))?;
//! producer.init_transactions().await?; // fences an older instance with the same id
//! producer.begin_transaction()?;
//! producer.send(Record::new("enriched", "...")).await?;
//! producer
//!     .send_offsets_to_transaction(&[(TopicPartition::new("orders", 0), 42)], &consumer.group_metadata())
//!     .await?;
//! producer.commit_transaction().await?; // or abort_transaction()
//! # Ok(()) }
//! ```
//!
//! ## Admin
//!
//! [`Admin`] (from [`Kafka::admin`]) covers topics, groups and their offsets, configs, ACLs,
//! quotas, SCRAM users, the cluster, producers and transactions, with typed arguments.
//!
//! ```no_run
//! # async fn demo(kafka: kafkit::Kafka) -> kafkit::Result<()> {
//! use kafkit::admin::{GroupState, GroupType};
//! use kafkit::NewTopic;
//!
//! let admin = kafka.admin();
//! admin.create_topics(&[NewTopic::new("payments", 6).replication_factor(3)]).await?;
//! for topic in admin.describe_topics(&["payments"]).await? {
//!     println!("{}: {} partitions", topic.name, topic.partitions.len());
//! }
//! let idle = admin.list_groups(&[GroupType::Consumer], &[GroupState::Empty]).await?;
//! for g in &idle {
//!     println!("{} ({})", g.group_id, g.state);
//! }
//! # Ok(()) }
//! ```
//!
//! ## Share groups
//!
//! Members of a share group (KIP-932, Kafka 4.2+) read the same partitions cooperatively;
//! each record is acquired by one member at a time and accepted, released or rejected. See
//! [`share`].
//!
//! ```no_run
//! # async fn demo(kafka: kafkit::Kafka) -> kafkit::Result<()> {
//! use kafkit::share::ShareConsumerConfig;
//!
//! let workers = kafka.share_consumer(ShareConsumerConfig::new("jobs").max_records(50))?;
//! workers.subscribe(&["jobs"]).await?;
//! workers
//!     .run_each_message(|r| async move {
//!         println!("job at {} (delivery {})", r.offset, r.delivery_count);
//!         Ok(()) // accepted; an error releases the record for another try
//!     })
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! ## Configuration from Java properties
//!
//! Every option has a builder, and every option the Java client names can also be set by
//! that name, one at a time or from a `.properties` file (see [`properties`]). Unknown names,
//! bad values and Java properties kafkit does not implement are errors that say which.
//!
//! ```no_run
//! # async fn demo() -> kafkit::Result<()> {
//! use kafkit::consumer::ConsumerConfig;
//! use kafkit::properties::Properties;
//!
//! let (config, consumer) = Properties::load("consumer.properties")?.consumer()?;
//! let kafka = kafkit::Kafka::connect(config).await?;
//! let consumer = kafka.consumer(consumer)?;
//!
//! let tuned = ConsumerConfig::new("reports").set("fetch.max.bytes", "52428800")?;
//! # Ok(()) }
//! ```
//!
//! ## Warnings and logs
//!
//! kafkit logs through [`tracing`](https://docs.rs/tracing). Warnings meant for the
//! application (a topic that does not exist or is not authorized, a member left without
//! partitions, records that cannot be read, with how long the client waits) are also
//! [`Event::Warning`]s. So that they are never lost, when no `tracing` subscriber is installed
//! and nobody listens to [`Kafka::events`], they are written to stderr as
//! `kafkit warning: ...`: a send to a missing topic says so at once instead of waiting
//! `max_block` in silence. Installing a subscriber or listening to events takes over (and
//! [`KafkaConfig::stderr_warnings`]`(false)` silences the fallback). kafkit never installs a
//! subscriber itself: which one is the application's choice, and only one can be installed
//! per process. Listening to the events instead:
//!
//! ```no_run
//! # async fn demo(kafka: kafkit::Kafka) {
//! let mut events = kafka.events();
//! tokio::spawn(async move {
//!     while let Ok(event) = events.recv().await {
//!         if let kafkit::Event::Warning { message } = event {
//!             eprintln!("kafka: {message}");
//!         }
//!     }
//! });
//! # }
//! ```
//!
//! ## Metrics
//!
//! Metrics go through the [`metrics`](https://docs.rs/metrics) facade: install a recorder
//! before building clients. For Prometheus, add
//! `metrics-exporter-prometheus = { version = "0.18", default-features = false, features = ["http-listener"] }`
//! (its default features build a C library for a push gateway); names and labels are in
//! the [`metrics` module](crate::metrics).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! metrics_exporter_prometheus::PrometheusBuilder::new()
//!     .with_http_listener(([0, 0, 0, 0], 9000))
//!     .install()?;
//! kafkit::metrics::describe(); // help texts and units
//! let kafka = kafkit::Kafka::connect(kafkit::KafkaConfig::new(["127.0.0.1:9092"])).await?;
//! # Ok(()) }
//! ```
//!
//! ## Errors
//!
//! Every call fails with one type, [`Error`]: its text names the operation, the Kafka error
//! code when there is one, and the fix when there is one; [`Error::kind`] classifies it and
//! [`Error::is_retriable`] says whether trying again can help.
//!
//! ```no_run
//! # async fn demo(kafka: kafkit::Kafka) {
//! use kafkit::{ErrorKind, NewTopic};
//! use kafkit::error::ResponseError;
//!
//! match kafka.admin().create_topics(&[NewTopic::new("orders", 3)]).await {
//!     Ok(()) => {}
//!     Err(e) if e.kind() == &ErrorKind::Kafka(ResponseError::TopicAlreadyExists) => {}
//!     Err(e) if e.is_retriable() => eprintln!("try again later: {e}"),
//!     Err(e) => panic!("{e}"),
//! }
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Requests are built from `Default` (the schemas' defaults) one field at a time, in wire
// order, which reads better than struct literals with `..Default::default()`.
#![allow(clippy::field_reassign_with_default)]

pub(crate) mod delivery;
pub(crate) mod engine_loop;
pub mod error;
pub mod events;
pub(crate) mod fetch;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod metrics;
pub(crate) mod net;
pub(crate) mod protocol;
pub mod retry;
mod topic_partition;

/// For kafkit's own tests and benchmarks (feature `test-hooks`): a single broker connection,
/// below the client, and the batch codecs (`bench/compression`). Not part of the API.
#[cfg(feature = "test-hooks")]
#[doc(hidden)]
pub mod test_support {
    pub use crate::net::{Connection, ConnectionConfig};
    pub use crate::protocol::compression::{compress_at, decompress};
}

/// Connection security: TLS and SASL settings for [`KafkaConfig`], and how reconnects back off.
pub mod security {
    pub use crate::net::pool::ReconnectBackoff;
    pub use crate::net::sasl::{OAuthToken, SaslConfig, ScramHash, Secret, TokenProvider};
    pub use crate::net::security::Security;
    pub use crate::net::tls::TlsConfig;
}

pub use error::{Error, ErrorKind, Result};
pub mod admin;
pub mod cluster;
pub mod consumer;
pub(crate) mod groups;
mod kafka;
pub mod producer;
pub mod properties;
pub mod share;
pub(crate) mod telemetry;

pub use admin::{Admin, NewTopic};
pub use events::{Event, TopicPartition};
pub use kafka::{Kafka, KafkaConfig};
pub use retry::RetryPolicy;

/// The README's examples, compiled as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeExamples;
