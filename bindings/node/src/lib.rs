//! The native core of the `kafkit` npm package: kafkit's clients exposed to JavaScript through
//! N-API (napi-rs). The KafkaJS-compatible API lives in JavaScript (`lib/`); this crate gives
//! it connections, producers, consumers and admin calls, and moves records across the boundary
//! a batch at a time (one buffer plus a layout array), never one call per record.

// napi-rs registers free `#[napi]` functions with Node only outside `cfg(test)`, so a test
// build (clippy --all-targets) would see them as unused.
#![cfg_attr(test, allow(dead_code))]

mod acls;
mod admin;
mod assigners;
mod batch;
mod client;
mod consumer;
mod error;
mod events;
mod oauth;
mod producer;
mod retry;
mod shapes;
mod share;
