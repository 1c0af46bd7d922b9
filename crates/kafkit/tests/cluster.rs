//! Failures on a three-node KRaft cluster (scripts/cluster; replication factor 3, min ISR 2):
//! the producer across a killed leader and a hung (SIGSTOPped) one. Every record is read back
//! by the Java client: nothing lost, nothing twice, order kept per partition.
//!
//! Runs when KAFKIT_CLUSTER_BOOTSTRAP is set (scripts/test starts the cluster); each test
//! brings the nodes it stopped back before it ends, so the next one starts healthy.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use kafkit::producer::{ProducerConfig, Record};
use kafkit::{Kafka, KafkaConfig, NewTopic};

fn bootstrap() -> Option<String> {
    std::env::var("KAFKIT_CLUSTER_BOOTSTRAP").ok()
}

/// `scripts/cluster <args>`; panics if it fails.
fn cluster(args: &[&str]) {
    let status = std::process::Command::new(format!("{}/scripts/cluster", common::repo()))
        .args(args)
        .status()
        .expect("scripts/cluster");
    assert!(status.success(), "scripts/cluster {args:?} failed");
}

/// Brings a node back when the test ends, even if it panics.
struct Revive(&'static str, String);

impl Drop for Revive {
    fn drop(&mut self) {
        let _ = std::process::Command::new(format!("{}/scripts/cluster", common::repo()))
            .args([self.0, &self.1])
            .status();
        if self.0 == "cont" {
            // A continued node may have been fenced; wait until it answers again.
            let _ = std::process::Command::new(format!("{}/scripts/cluster", common::repo()))
                .args(["start", &self.1])
                .status();
        }
    }
}

async fn connect(bootstrap: &str) -> Kafka {
    let config = KafkaConfig::new(bootstrap.split(','))
        .client_id("kafkit-cluster-test")
        .request_timeout(Duration::from_secs(5));
    Kafka::connect(config)
        .await
        .expect("connect to the cluster")
}

async fn replicated_topic(kafka: &Kafka, prefix: &str) -> String {
    let name = common::unique(prefix);
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
    let cluster = kafka.cluster().clone();
    let topic = name.clone();
    common::eventually(Duration::from_secs(60), "all replicas in sync", move || {
        let (cluster, topic) = (cluster.clone(), topic.clone());
        async move {
            cluster.invalidate();
            let Ok(t) = cluster.wait_for_topic(&topic, Duration::from_secs(5)).await else {
                return false;
            };
            (0..3).all(|p| {
                t.partition(p)
                    .is_some_and(|p| p.leader >= 0 && p.isr.len() == 3)
            })
        }
    })
    .await;
    name
}

async fn leader_of(kafka: &Kafka, topic: &str, partition: i32) -> i32 {
    let t = kafka
        .cluster()
        .wait_for_topic(topic, Duration::from_secs(30))
        .await
        .expect("topic");
    t.partition(partition).expect("partition").leader
}

/// Sends `n` records (value = its index, as text) in `steps` chunks, calling `between(i)`
/// after each chunk; returns how many acknowledgements failed, with the first error.
async fn send_through<F, Fut>(
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

/// Reads the topic back with the Java client; asserts each of `0..n` is there exactly once
/// and that each partition holds its records in the order they were sent.
fn assert_exactly_once_in_order(bootstrap: &str, topic: &str, n: usize) {
    let out = common::java_peer(&["read", bootstrap, topic, &n.to_string(), "60000"])
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

#[tokio::test]
async fn producer_across_a_leader_killed_with_sigkill() {
    let Some(bootstrap) = bootstrap() else {
        eprintln!("KAFKIT_CLUSTER_BOOTSTRAP not set: skipped (scripts/test sets it)");
        return;
    };
    let kafka = connect(&bootstrap).await;
    let topic = replicated_topic(&kafka, "kill").await;
    let victim = leader_of(&kafka, &topic, 0).await;
    let _revive = Revive("start", victim.to_string());
    let n = 30_000;
    let (failed, first) = send_through(
        &kafka,
        &topic,
        n,
        3,
        Duration::from_secs(60),
        |step| async move {
            if step == 0 {
                cluster(&["kill", &victim.to_string()]);
            }
        },
    )
    .await;
    assert_eq!(failed, 0, "records failed: {first:?}");
    assert_exactly_once_in_order(&bootstrap, &topic, n);
}

/// A grey failure: the leader's process is frozen (socket open, no answers) for longer than
/// the request timeout; the controller moves leadership and the producer must follow it.
#[tokio::test]
async fn producer_across_a_hung_leader() {
    let Some(bootstrap) = bootstrap() else {
        eprintln!("KAFKIT_CLUSTER_BOOTSTRAP not set: skipped (scripts/test sets it)");
        return;
    };
    let kafka = connect(&bootstrap).await;
    let topic = replicated_topic(&kafka, "hung").await;
    let victim = leader_of(&kafka, &topic, 0).await;
    let _revive = Revive("cont", victim.to_string());
    let n = 30_000;
    // Frozen for longer than the delivery timeout: only following the new leader (elected
    // ~6 s in, when the controller fences the silent broker) delivers every record.
    let (failed, first) = send_through(
        &kafka,
        &topic,
        n,
        3,
        Duration::from_secs(30),
        |step| async move {
            match step {
                0 => cluster(&["stop", &victim.to_string()]),
                1 => tokio::time::sleep(Duration::from_secs(45)).await,
                _ => {}
            }
        },
    )
    .await;
    cluster(&["cont", &victim.to_string()]);
    assert_eq!(failed, 0, "records failed: {first:?}");
    assert_exactly_once_in_order(&bootstrap, &topic, n);
}
