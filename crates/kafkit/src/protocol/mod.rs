//! Wire-level pieces the `kafka-protocol` crate does not cover: the record batch format (the
//! hot path of both producer and consumer) and its compression codecs.

pub mod compression;
pub mod record_batch;
pub(crate) mod schema;

/// The generated request and response types of every Kafka API (the `kafka-protocol` crate),
/// for callers that talk to brokers through [`crate::net::Connection`] directly.
pub use kafka_protocol::messages;
