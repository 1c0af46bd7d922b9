//! The fetch core: what the group consumer and the share consumer share about reading records
//! from brokers.
//!
//! - [`source`]: each broker's source, one fetch in flight, its memory reserved, its pace
//!   ([`pace`]) and its session: [`session`] (Fetch, KIP-227) or [`share_session`] (ShareFetch,
//!   KIP-932); metadata asked again, paced, for partitions without a leader.
//! - [`send`]: one fetch of either kind on the wire and back, observed the same way;
//!   [`leader`]: leaders followed from answers' hints, and hung brokers given up.
//! - [`wire`]: what each kind puts on the wire and how its answer is read; [`decode`]: the walk
//!   from record batches to messages, both kinds, within an answer's memory [`budget`].
//! - Positions and targets ([`position`]), [`message`]s and batches handed to the user.
//!
//! Which partitions to ask each broker for is the front's: `consumer/engine/fetching.rs`
//! (positions, read replicas, pauses) and `share/engine/records.rs` (acquired records and their
//! acknowledgements).

pub(crate) mod budget;
pub(crate) mod decode;
mod isolation;
pub(crate) mod leader;
pub mod message;
pub(crate) mod pace;
pub(crate) mod position;
pub(crate) mod send;
pub(crate) mod session;
pub(crate) mod share_session;
pub(crate) mod source;
pub(crate) mod wire;

pub(crate) use budget::Budget;
pub(crate) use decode::{decode_all, FetchedPartition};
pub use isolation::IsolationLevel;
pub(crate) use position::{FetchPosition, FetchTarget};
