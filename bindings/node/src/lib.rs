//! The native core of the `kafkit` npm package: kafkit's clients exposed to JavaScript through
//! N-API (napi-rs). The KafkaJS-compatible API lives in JavaScript (`lib/`); this crate gives
//! it connections, producers, consumers and admin calls, and moves records across the boundary
//! a batch at a time (one buffer plus a layout array), never one call per record.

mod admin;
mod assigners;
mod batch;
mod client;
mod consumer;
mod error;
mod events;
mod producer;
