//! # kafkit
//!
//! A pure-Rust, async (Tokio) Apache Kafka client whose headline is the next-generation consumer
//! group protocol (KIP-848, `group.protocol=consumer`, Kafka 4.0+), beside the classic protocol.
//!
//! One [`Kafka`] handle owns the connections, the cluster metadata and the shared settings;
//! producers, consumers and the admin client are built from it and share it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Requests are built from `Default` (the schemas' defaults) one field at a time, in wire
// order, which reads better than struct literals with `..Default::default()`.
#![allow(clippy::field_reassign_with_default)]

pub mod error;
pub mod events;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod metrics;
pub(crate) mod net;
pub(crate) mod protocol;
pub mod retry;

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
