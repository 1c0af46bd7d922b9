//! The wire layer: the messages generated from Kafka's JSON schemas (`messages`, over the
//! bounded primitives of `wire`), Kafka's error codes (`error_codes`), and the record batch
//! format (the hot path of both producer and consumer) with its compression codecs.

pub mod compression;
#[rustfmt::skip]
pub(crate) mod error_codes;
pub(crate) mod messages;
pub mod record_batch;
pub(crate) mod wire;

#[cfg(test)]
mod sample;

#[cfg(test)]
mod codec_tests;
