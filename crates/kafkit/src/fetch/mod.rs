//! The fetch core: what the group consumer and the share consumer share about reading records
//! from brokers. Positions and targets, the KIP-227 fetch session, the memory budget of one
//! answer, and the walk from record batches to messages.
//!
//! Fetch requests and answers are built and read by `consumer::fetcher`; ShareFetch ones by
//! `share::fetch`. Both decode through [`decode`].

pub(crate) mod budget;
pub(crate) mod decode;
pub mod message;
pub(crate) mod pace;
pub(crate) mod position;
pub(crate) mod session;

pub(crate) use budget::Budget;
pub(crate) use decode::{decode_all, FetchedPartition};
pub(crate) use position::{FetchPosition, FetchTarget};
