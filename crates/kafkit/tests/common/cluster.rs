//! Helpers for the tests on the three-node cluster (scripts/cluster): the lock that lets one
//! failure happen at a time, node control, replicated topics, a producer driven through a
//! failure, and the Java read-back that checks every record arrived once and in order.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafkit::producer::{ProducerConfig, Record};
use kafkit::{Kafka, KafkaConfig, NewTopic};

/// One failure at a time: the tests stop and kill nodes of the same cluster. A lock in the
/// process (cargo test runs a file's tests on threads) and on a file (nextest runs each test in
/// a process of its own).
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub struct Exclusive {
    _file: std::fs::File,
    _guard: tokio::sync::MutexGuard<'static, ()>,
}

pub async fn exclusive() -> Exclusive {
    let guard = SERIAL.lock().await;
    let path = std::env::temp_dir().join("kafkit-cluster-tests.lock");
    let file = tokio::task::spawn_blocking(move || {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .expect("lock file");
        // File::lock is newer than the crate's MSRV; the tests run on the CI toolchain.
        #[allow(clippy::incompatible_msrv)]
        f.lock().expect("lock");
        f
    })
    .await
    .unwrap();
    Exclusive {
        _file: file,
        _guard: guard,
    }
}

pub fn bootstrap() -> Option<String> {
    std::env::var("KAFKIT_CLUSTER_BOOTSTRAP").ok()
}

/// The cluster's bootstrap list and the lock that makes this test the only one failing
/// nodes; `None` (the test is skipped, saying so) without a cluster.
pub async fn begin() -> Option<(String, Exclusive)> {
    let Some(bootstrap) = bootstrap() else {
        eprintln!("KAFKIT_CLUSTER_BOOTSTRAP not set: skipped (scripts/test sets it)");
        return None;
    };
    Some((bootstrap, exclusive().await))
}

/// `scripts/cluster <args>`; panics if it fails.
///
/// A node command takes seconds (a graceful restart waits for the node): it runs with the
/// worker given up to the runtime's other threads (the tests use the multi-thread runtime), so
/// the clients' heartbeats go on meanwhile. On a single-thread runtime they would stop, and
/// the broker would fence the members for it.
pub fn cluster(args: &[&str]) {
    let status = off_the_runtime(|| {
        std::process::Command::new(format!("{}/scripts/cluster", super::repo()))
            .args(args)
            .status()
            .expect("scripts/cluster")
    });
    assert!(status.success(), "scripts/cluster {args:?} failed");
}

/// Runs blocking `f` without holding up the runtime's other tasks.
fn off_the_runtime<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Brings a node back when the test ends, even if it panics.
pub struct Revive(pub &'static str, pub String);

impl Drop for Revive {
    fn drop(&mut self) {
        off_the_runtime(|| {
            let _ = std::process::Command::new(format!("{}/scripts/cluster", super::repo()))
                .args([self.0, &self.1])
                .status();
            if self.0 == "cont" {
                // A continued node may have been fenced; wait until it answers again.
                let _ = std::process::Command::new(format!("{}/scripts/cluster", super::repo()))
                    .args(["start", &self.1])
                    .status();
            }
        })
    }
}

pub async fn connect(bootstrap: &str) -> Kafka {
    // Default timeouts (request 30 s, connect 10 s): the client must cope with them.
    let config = KafkaConfig::new(bootstrap.split(',')).client_id("kafkit-cluster-test");
    Kafka::connect(config)
        .await
        .expect("connect to the cluster")
}

pub async fn replicated_topic(kafka: &Kafka, prefix: &str) -> String {
    let name = super::unique(prefix);
    kafka
        .admin()
        .create_topics(&[NewTopic::new(&name, 3).replication_factor(3)])
        .await
        .expect("create topic");
    kafka
        .cluster()
        .wait_for_topic(&name, Duration::from_secs(30))
        .await
        .expect("topic in metadata");
    // Start healthy: every replica in sync (a node brought back by the previous test may
    // still be catching up, and min ISR 2 would then refuse writes while another is down).
    wait_in_sync(kafka, &name).await;
    name
}

pub async fn wait_in_sync(kafka: &Kafka, name: &str) {
    wait_in_sync_partitions(kafka, name, 3).await
}

/// Waits until each of the first `partitions` partitions of `name` has a leader and all three
/// replicas in sync.
pub async fn wait_in_sync_partitions(kafka: &Kafka, name: &str, partitions: i32) {
    let cluster = kafka.cluster().clone();
    let topic = name.to_string();
    super::eventually(Duration::from_secs(60), "all replicas in sync", move || {
        let (cluster, topic) = (cluster.clone(), topic.clone());
        async move {
            cluster.invalidate();
            let Ok(t) = cluster.wait_for_topic(&topic, Duration::from_secs(5)).await else {
                return false;
            };
            (0..partitions).all(|p| {
                t.partition(p)
                    .is_some_and(|p| p.leader >= 0 && p.isr.len() == 3)
            })
        }
    })
    .await;
}

pub async fn leader_of(kafka: &Kafka, topic: &str, partition: i32) -> i32 {
    let t = kafka
        .cluster()
        .wait_for_topic(topic, Duration::from_secs(30))
        .await
        .expect("topic");
    t.partition(partition).expect("partition").leader
}

/// Sends `n` records (value = its index, as text) in `steps` chunks, calling `between(i)`
/// after each chunk; returns how many acknowledgements failed, with the first error.
pub async fn send_through<F, Fut>(
    kafka: &Kafka,
    topic: &str,
    n: usize,
    steps: usize,
    delivery_timeout: Duration,
    mut between: F,
) -> (usize, Option<String>)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let producer = kafka
        .producer({
            let mut c = ProducerConfig::default().delivery_timeout(delivery_timeout);
            c.request_timeout = Duration::from_secs(10);
            c
        })
        .expect("producer");
    let mut acks = Vec::with_capacity(n);
    for step in 0..steps {
        for i in step * n / steps..(step + 1) * n / steps {
            let v = i.to_string();
            let k = format!("k{}", i % 97);
            acks.push(
                producer
                    .send(Record::new(topic, v.as_bytes()).key(k.as_bytes()))
                    .await
                    .expect("send"),
            );
        }
        between(step).await;
    }
    settle(producer, acks).await
}

/// Waits for every acknowledgement, then closes the producer; returns how many failed, with
/// the first error.
async fn settle(
    producer: kafkit::producer::Producer,
    acks: Vec<kafkit::producer::DeliveryFuture>,
) -> (usize, Option<String>) {
    let mut failed = 0;
    let mut first = None;
    for a in acks {
        if let Err(e) = a.await {
            failed += 1;
            first.get_or_insert_with(|| e.to_string());
        }
    }
    producer.close().await.expect("close");
    (failed, first)
}

/// Sends one record per value of `values` (the value as text, acks=all) and waits for each
/// acknowledgement; returns how many failed, with the first error.
pub async fn send_range(
    kafka: &Kafka,
    topic: &str,
    values: std::ops::Range<usize>,
) -> (usize, Option<String>) {
    let producer = kafka.producer(ProducerConfig::default()).expect("producer");
    let mut acks = Vec::new();
    for i in values {
        let v = i.to_string();
        acks.push(
            producer
                .send(Record::new(topic, v.as_bytes()))
                .await
                .expect("send"),
        );
    }
    settle(producer, acks).await
}

/// Reads the topic back with the Java client; asserts each of `0..n` is there exactly once
/// and that each partition holds its records in the order they were sent.
pub fn assert_exactly_once_in_order(bootstrap: &str, topic: &str, n: usize) {
    let out = super::java_peer(&["read", bootstrap, topic, &n.to_string(), "60000"])
        .output()
        .expect("java peer");
    assert!(
        out.status.success(),
        "Java read failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut seen = vec![0u32; n];
    let mut last: BTreeMap<i32, usize> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let cols: Vec<&str> = line.split(' ').collect();
        let partition: i32 = cols[0].parse().unwrap();
        let hex = cols[3];
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let v: usize = String::from_utf8(bytes).unwrap().parse().unwrap();
        seen[v] += 1;
        if let Some(prev) = last.insert(partition, v) {
            assert!(prev < v, "partition {partition}: {v} after {prev}");
        }
    }
    let lost: Vec<usize> = (0..n).filter(|&i| seen[i] == 0).collect();
    let twice: Vec<usize> = (0..n).filter(|&i| seen[i] > 1).collect();
    assert!(
        lost.is_empty() && twice.is_empty(),
        "{} lost (first {:?}), {} duplicated (first {:?})",
        lost.len(),
        lost.first(),
        twice.len(),
        twice.first()
    );
}

/// Runs `run_each_message` on `c`, recording each record's value (its index); `delay` per
/// record makes the reading last.
pub fn read_values(
    c: &kafkit::consumer::Consumer,
    seen: &Arc<Mutex<Vec<usize>>>,
    delay: Duration,
) -> tokio::task::JoinHandle<kafkit::Result<()>> {
    let (c, seen) = (c.clone(), seen.clone());
    tokio::spawn(async move {
        c.run_each_message(move |m| {
            let s = seen.clone();
            async move {
                let v = std::str::from_utf8(m.value.as_deref().unwrap_or_default())
                    .unwrap()
                    .parse::<usize>()
                    .unwrap();
                s.lock().unwrap().push(v);
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                Ok(())
            }
        })
        .await
    })
}
