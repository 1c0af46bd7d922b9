//! Wire-level helpers that the `kafka-protocol` crate does not cover: record batches and compression.
