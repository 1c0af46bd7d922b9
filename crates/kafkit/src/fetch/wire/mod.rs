//! What each kind of fetch puts on the wire and how its answer is read (sans-IO): Fetch for
//! the group consumer, ShareFetch for the share consumer. Both decode records through
//! [`super::decode`].

pub(crate) mod fetch;
pub(crate) mod share_fetch;
