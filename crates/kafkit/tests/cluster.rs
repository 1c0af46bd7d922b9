//! Failures on a three-node KRaft cluster (scripts/cluster; replication factor 3, min ISR 2):
//! the producer across a killed leader and a hung (SIGSTOPped) one. Every record is read back
//! by the Java client: nothing lost, nothing twice, order kept per partition.
//!
//! Runs when KAFKIT_CLUSTER_BOOTSTRAP is set (scripts/test starts the cluster); each test
//! brings the nodes it stopped back before it ends, so the next one starts healthy.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use std::sync::{Arc, Mutex};

use kafkit::cluster::{find_coordinator, CoordinatorType};
use kafkit::consumer::{ConsumerConfig, GroupProtocol, RebalanceKind};
use kafkit::producer::{ProducerConfig, Record};
use kafkit::{Kafka, KafkaConfig, NewTopic};

/// One failure at a time: the tests stop and kill nodes of the same cluster. A lock in the
/// process (cargo test runs a file's tests on threads) and on a file (nextest runs each test in
/// a process of its own).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Exclusive {
    _file: std::fs::File,
    _guard: tokio::sync::MutexGuard<'static, ()>,
}

async fn exclusive() -> Exclusive {
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
    // Default timeouts (request 30 s, connect 10 s): the client must cope with them.
    let config = KafkaConfig::new(bootstrap.split(',')).client_id("kafkit-cluster-test");
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
    wait_in_sync(kafka, &name).await;
    name
}

async fn wait_in_sync(kafka: &Kafka, name: &str) {
    let cluster = kafka.cluster().clone();
    let topic = name.to_string();
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

/// Runs `run_each_message` on `c`, recording each record's value (its index); `delay` per
/// record makes the reading last.
fn read_values(
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

#[tokio::test]
async fn producer_across_a_leader_killed_with_sigkill() {
    let Some(bootstrap) = bootstrap() else {
        eprintln!("KAFKIT_CLUSTER_BOOTSTRAP not set: skipped (scripts/test sets it)");
        return;
    };
    let _serial = exclusive().await;
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
    let _serial = exclusive().await;
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

/// Two group members read while the group coordinator's broker is frozen (SIGSTOP) for longer
/// than the broker's own failure detection: heartbeats to it time out well inside the session,
/// the members find the new coordinator, and none is fenced: no partition is lost, no record
/// processed twice.
async fn group_across_a_hung_coordinator(protocol: GroupProtocol) {
    let Some(bootstrap) = bootstrap() else {
        eprintln!("KAFKIT_CLUSTER_BOOTSTRAP not set: skipped (scripts/test sets it)");
        return;
    };
    let _serial = exclusive().await;
    common::init_tracing();
    let kafka = connect(&bootstrap).await;
    let topic = replicated_topic(&kafka, "coord").await;
    let n = 6_000;
    let (failed, first) =
        send_through(&kafka, &topic, n, 1, Duration::from_secs(60), |_| async {}).await;
    assert_eq!(failed, 0, "{first:?}");

    let group = common::unique("g-coord");
    let seen: Arc<Mutex<Vec<usize>>> = Arc::default();
    let lost: Arc<Mutex<usize>> = Arc::default();
    let mut members = Vec::new();
    let mut runs = Vec::new();
    for _ in 0..2 {
        let c = kafka
            .consumer(
                ConsumerConfig::new(&group)
                    .group_protocol(protocol)
                    .max_wait(Duration::from_millis(200))
                    .session_timeout(Duration::from_secs(10))
                    .heartbeat_interval(Duration::from_secs(1)),
            )
            .unwrap();
        let l = lost.clone();
        c.on_partitions_lost(Arc::new(move |k, _| {
            if k == RebalanceKind::Lost {
                *l.lock().unwrap() += 1;
            }
            Box::pin(async { Ok(()) })
        }));
        c.subscribe(&[topic.as_str()], true).await.unwrap();
        // Slow enough that the freeze falls in the middle of the reading.
        runs.push(read_values(&c, &seen, Duration::from_millis(4)));
        members.push(c);
    }
    common::eventually(Duration::from_secs(30), "reading started", || {
        let n = seen.lock().unwrap().len();
        async move { n > 200 }
    })
    .await;
    let coordinator = find_coordinator(&kafka, CoordinatorType::Group, &group)
        .await
        .unwrap();
    let revive = Revive("cont", coordinator.to_string());
    cluster(&["stop", &coordinator.to_string()]);
    tokio::time::sleep(Duration::from_secs(20)).await;
    cluster(&["cont", &coordinator.to_string()]);
    drop(revive);
    common::eventually(Duration::from_secs(90), "every record processed", || {
        let got: std::collections::BTreeSet<usize> = seen.lock().unwrap().iter().copied().collect();
        async move { got.len() == n }
    })
    .await;
    let all = seen.lock().unwrap().clone();
    let twice = all.len() - n;
    assert_eq!(
        *lost.lock().unwrap(),
        0,
        "a member was fenced (partitions lost)"
    );
    assert_eq!(twice, 0, "{twice} records processed twice");
    for m in &members {
        m.disconnect().await.ok();
    }
    for r in runs {
        r.abort();
    }
}

#[tokio::test]
async fn kip848_group_across_a_hung_coordinator() {
    group_across_a_hung_coordinator(GroupProtocol::Consumer).await;
}

#[tokio::test]
async fn classic_group_across_a_hung_coordinator() {
    group_across_a_hung_coordinator(GroupProtocol::Classic).await;
}

/// Every node restarted in turn (stopped gracefully, started, back in sync) while a producer
/// sends and a KIP-848 member reads: nothing lost or duplicated in the log, nothing lost by the
/// member, and nothing read twice unless it was fenced.
#[tokio::test]
async fn producer_and_group_across_a_rolling_restart() {
    let Some(bootstrap) = bootstrap() else {
        eprintln!("KAFKIT_CLUSTER_BOOTSTRAP not set: skipped (scripts/test sets it)");
        return;
    };
    let _serial = exclusive().await;
    let kafka = connect(&bootstrap).await;
    let topic = replicated_topic(&kafka, "roll").await;
    let seen: Arc<Mutex<Vec<usize>>> = Arc::default();
    let c = kafka
        .consumer(
            ConsumerConfig::new(common::unique("g-roll"))
                .group_protocol(GroupProtocol::Consumer)
                .max_wait(Duration::from_millis(200)),
        )
        .unwrap();
    let lost: Arc<Mutex<usize>> = Arc::default();
    let l = lost.clone();
    c.on_partitions_lost(Arc::new(move |k, _| {
        if k == RebalanceKind::Lost {
            *l.lock().unwrap() += 1;
        }
        Box::pin(async { Ok(()) })
    }));
    c.subscribe(&[topic.as_str()], true).await.unwrap();
    let run = read_values(&c, &seen, Duration::ZERO);
    let n = 20_000;
    let k = kafka.clone();
    let t = topic.clone();
    let (failed, first) = send_through(&kafka, &topic, n, 4, Duration::from_secs(120), |step| {
        let (k, t) = (k.clone(), t.clone());
        async move {
            if step < 3 {
                cluster(&["restart", &(step + 1).to_string()]);
                wait_in_sync(&k, &t).await;
            }
        }
    })
    .await;
    assert_eq!(failed, 0, "records failed: {first:?}");
    assert_exactly_once_in_order(&bootstrap, &topic, n);
    common::eventually(
        Duration::from_secs(60),
        "the member read every record",
        || {
            let got: std::collections::BTreeSet<usize> =
                seen.lock().unwrap().iter().copied().collect();
            async move { got.len() == n }
        },
    )
    .await;
    // Records are read twice only after the member lost its partitions (fenced: it rereads
    // from its last commit). Under load that has happened once in a rolling restart (issue 13
    // tracks it); without a loss, nothing is read twice.
    let twice = seen.lock().unwrap().len() - n;
    let lost = *lost.lock().unwrap();
    assert!(
        twice == 0 || lost > 0,
        "{twice} records processed twice without a lost assignment"
    );
    if twice > 0 {
        eprintln!("rolling restart: member fenced {lost} time(s), {twice} records reread");
    }
    c.disconnect().await.ok();
    run.abort();
}
