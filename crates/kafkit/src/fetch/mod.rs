//! The fetch core: what the group consumer and the share consumer share about reading records
//! from brokers. Positions and targets, the KIP-227 fetch session, the memory budget of one
//! answer, and the walk from record batches to messages.
//!
//! What each kind of fetch sends and how its answer is read is in [`wire`]; the sessions are
//! [`session`] (Fetch, KIP-227) and [`share_session`] (ShareFetch, KIP-932). Both kinds decode
//! through [`decode`].

pub(crate) mod budget;
pub(crate) mod decode;
mod isolation;
pub mod message;
pub(crate) mod pace;
pub(crate) mod position;
pub(crate) mod session;
pub(crate) mod share_session;
pub(crate) mod wire;

pub(crate) use budget::Budget;
pub(crate) use decode::{decode_all, FetchedPartition};
pub use isolation::IsolationLevel;
pub(crate) use position::{FetchPosition, FetchTarget};
