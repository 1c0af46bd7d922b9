//! Shared helpers for the integration tests. They run against the real broker that
//! `scripts/test` starts (`KAFKIT_BOOTSTRAP`, default 127.0.0.1:9092); an unreachable broker
//! fails the tests with a message saying how to start it.
#![allow(dead_code)]

use std::time::Duration;

use kafkit::{Kafka, KafkaConfig};

pub fn bootstrap() -> String {
    std::env::var("KAFKIT_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".to_string())
}

pub fn config() -> KafkaConfig {
    KafkaConfig::new([bootstrap()])
        .client_id("kafkit-tests")
        .connect_timeout(Duration::from_secs(10))
}

pub async fn connect() -> Kafka {
    match Kafka::connect(config()).await {
        Ok(k) => k,
        Err(e) => panic!(
            "cannot reach the test broker at {}: {e}\nstart it with `scripts/kafka up` (or run the whole suite with `scripts/test`)",
            bootstrap()
        ),
    }
}

/// A topic name no other test uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:016x}", rand_u64())
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
    h.finish()
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("KAFKIT_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
}
