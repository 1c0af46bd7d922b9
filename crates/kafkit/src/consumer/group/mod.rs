//! Group membership protocols. `consumer` is KIP-848 (ConsumerGroupHeartbeat).

pub mod consumer;
