//! Networking: framing, connections with pipelining, version negotiation, the broker pool.

pub mod connection;
pub mod frame;
pub mod pool;
pub mod sasl;
pub mod security;
pub mod tls;
pub mod versions;

pub use connection::{Connection, ConnectionConfig};
pub use pool::{BrokerPool, Lane};
