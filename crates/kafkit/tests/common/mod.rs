//! Shared helpers for the integration tests. They run against the real broker that
//! `scripts/test` starts (`KAFKIT_BOOTSTRAP`, default 127.0.0.1:9092); an unreachable broker
//! fails the tests with a message saying how to start it.
#![allow(dead_code)]

pub mod cluster;

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
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KAFKIT_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

/// Produces `n` keyed records (`key-i` → `value-i`) and waits for every acknowledgement.
pub async fn produce(kafka: &Kafka, topic: &str, n: usize) {
    use kafkit::producer::{ProducerConfig, Record};
    let producer = kafka.producer(ProducerConfig::default()).expect("producer");
    let mut acks = Vec::with_capacity(n);
    for i in 0..n {
        let (k, v) = (format!("key-{i}"), format!("value-{i}"));
        acks.push(
            producer
                .send(Record::new(topic, v.as_bytes()).key(k.as_bytes()))
                .await
                .expect("send"),
        );
    }
    for a in acks {
        a.await.expect("acknowledged");
    }
    producer.close().await.expect("close");
}

/// Creates a topic and returns its name.
pub async fn topic(kafka: &Kafka, prefix: &str, partitions: i32) -> String {
    let name = unique(prefix);
    kafka
        .admin()
        .create_topics(&[kafkit::NewTopic::new(&name, partitions)])
        .await
        .expect("create topic");
    name
}

/// The Java kafka-clients peer (`java/JavaPeer.java`) on the classpath `scripts/test` exports.
pub fn java_peer(args: &[&str]) -> std::process::Command {
    let cp = std::env::var("KAFKIT_JAVA_CP").unwrap_or_else(|_| {
        let out = std::process::Command::new(format!("{}/scripts/kafka", repo()))
            .arg("classpath")
            .output()
            .expect("scripts/kafka classpath");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    });
    let mut cmd = std::process::Command::new("java");
    cmd.arg("-cp")
        .arg(cp)
        .arg(format!("{}/java/JavaPeer.java", repo()))
        .args(args);
    cmd
}

pub fn repo() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../..").to_string()
}

/// Waits until `f` holds, polling every 100 ms; panics with `what` after `timeout`.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if f().await {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The transaction protocol the cluster calls for, from its finalized features: V2 when
/// `transaction.version` is finalized at 2 or above (Kafka 4.x's default), V1 otherwise
/// (`KAFKIT_TRANSACTION_VERSION=1` at `scripts/kafka up` / `scripts/cluster up`).
pub async fn cluster_transaction_version(kafka: &Kafka) -> kafkit::producer::TransactionVersion {
    let features = kafka
        .admin()
        .describe_features()
        .await
        .expect("describe features");
    let level = features
        .finalized
        .iter()
        .find(|f| f.name == "transaction.version")
        .map_or(0, |f| f.max);
    eprintln!("the cluster finalizes transaction.version {level}");
    if level >= 2 {
        kafkit::producer::TransactionVersion::V2
    } else {
        kafkit::producer::TransactionVersion::V1
    }
}

/// Whether the test broker runs Kafka 4.x: its `metadata.version` (from ApiVersions' features)
/// reaches Kafka 4.0's first level. The legacy profile's Kafka 3.9 does not.
pub async fn is_kafka4(kafka: &Kafka) -> bool {
    metadata_version(kafka).await >= KAFKA_4_0_METADATA_VERSION
}

async fn metadata_version(kafka: &Kafka) -> i16 {
    kafka
        .admin()
        .describe_features()
        .await
        .expect("describe features")
        .supported
        .iter()
        .find(|f| f.name == "metadata.version")
        .map_or(0, |f| f.max)
}

/// The protocol of a group that is not what a test is about (a reader, a group whose offsets
/// a test commits): KIP-848 on Kafka 4.x, classic on an older broker.
pub async fn group_protocol(kafka: &Kafka) -> kafkit::consumer::GroupProtocol {
    if is_kafka4(kafka).await {
        kafkit::consumer::GroupProtocol::Consumer
    } else {
        kafkit::consumer::GroupProtocol::Classic
    }
}

/// The one rule by which a test (or a part of one) that needs what Kafka 3.x lacks (KIP-848
/// consumer groups, share groups, group configs, transactions V2, KIP-1251, ...) is skipped on
/// an older broker (the legacy profile's Kafka 3.9, `scripts/test-legacy`): the test broker is
/// not Kafka 4.x ([`is_kafka4`]). Returns `true` when the test must skip `what`, after saying
/// so on stderr ("skipped: needs Kafka 4.x (what)") and, when `KAFKIT_SKIPPED_LOG` names a
/// file, adding a line to it (the suite, the test, what it needs), so the pass counts what it
/// skipped. A skipped test never passes silently.
pub async fn needs_kafka4(what: &str) -> bool {
    let kafka = connect().await;
    let level = metadata_version(&kafka).await;
    if level >= KAFKA_4_0_METADATA_VERSION {
        return false;
    }
    let test = std::thread::current().name().unwrap_or("?").to_string();
    eprintln!(
        "skipped: needs Kafka 4.x ({what}); the broker at {} runs an older Kafka (metadata.version up to {level})",
        bootstrap()
    );
    if let Ok(path) = std::env::var("KAFKIT_SKIPPED_LOG") {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("KAFKIT_SKIPPED_LOG");
        writeln!(f, "{}\t{test}\t{what}", env!("CARGO_CRATE_NAME")).expect("write skip log");
    }
    true
}

/// `metadata.version` 4.0-IV0, the first level of Kafka 4.0 (3.9-IV0 is 21).
const KAFKA_4_0_METADATA_VERSION: i16 = 22;
