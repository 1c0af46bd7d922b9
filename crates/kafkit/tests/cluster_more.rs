//! More failures on the three-node KRaft cluster (scripts/cluster; replication factor 3, min
//! ISR 2), each with `kill -9`: two partition leaders killed one after the other under a
//! producer, the group coordinator killed under members of both protocols, the transaction
//! coordinator killed under a consume-transform-produce loop, and a partition leader killed
//! under a reading member. Every count is checked: nothing lost, nothing twice.
//!
//! Runs when KAFKIT_CLUSTER_BOOTSTRAP is set (scripts/test starts the cluster); each test
//! brings the nodes it killed back before it ends, so the next one starts healthy. Node control
//! runs on a blocking thread (starting a node takes seconds; the client's tasks, heartbeats
//! included, keep running meanwhile).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::cluster::*;
use futures::StreamExt;
use kafkit::cluster::CoordinatorType;
use kafkit::consumer::{Consumer, ConsumerConfig, GroupProtocol, RebalanceKind};
use kafkit::producer::{ProducerConfig, Record, TransactionVersion};
use kafkit::{Kafka, TopicPartition};

/// `scripts/cluster <args>` without blocking the runtime.
async fn node(args: &[&str]) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(|a| a.as_str()).collect();
        cluster(&args)
    })
    .await
    .unwrap();
}

macro_rules! cluster_or_skip {
    () => {
        match bootstrap() {
            Some(b) => b,
            None => {
                eprintln!("KAFKIT_CLUSTER_BOOTSTRAP not set: skipped (scripts/test sets it)");
                return;
            }
        }
    };
}

/// Counts the member's lost assignments (fenced, or session expired).
fn count_lost(c: &Consumer) -> Arc<AtomicUsize> {
    let lost: Arc<AtomicUsize> = Arc::default();
    let l = lost.clone();
    c.on_partitions_lost(Arc::new(move |k, _| {
        if k == RebalanceKind::Lost {
            l.fetch_add(1, Ordering::SeqCst);
        }
        Box::pin(async { Ok(()) })
    }));
    lost
}

fn value_of(m: &kafkit::consumer::Message) -> usize {
    std::str::from_utf8(m.value.as_deref().unwrap_or_default())
        .unwrap()
        .parse()
        .unwrap()
}

/// Runs `run_each_message` on `c`, recording (partition, value) of each record.
fn read_partition_values(
    c: &Consumer,
    seen: &Arc<Mutex<Vec<(i32, usize)>>>,
    delay: Duration,
) -> tokio::task::JoinHandle<kafkit::Result<()>> {
    let (c, seen) = (c.clone(), seen.clone());
    tokio::spawn(async move {
        c.run_each_message(move |m| {
            let s = seen.clone();
            async move {
                s.lock().unwrap().push((m.partition, value_of(&m)));
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                Ok(())
            }
        })
        .await
    })
}

fn distinct(seen: &Mutex<Vec<(i32, usize)>>) -> usize {
    seen.lock()
        .unwrap()
        .iter()
        .map(|&(_, v)| v)
        .collect::<BTreeSet<_>>()
        .len()
}

/// Each of `0..n` once, and each partition's values rising (the order they were sent in).
fn assert_each_once_in_order(what: &str, records: &[(i32, usize)], n: usize) {
    let mut seen = vec![0u32; n];
    let mut last: BTreeMap<i32, usize> = BTreeMap::new();
    let mut out_of_order = Vec::new();
    for &(p, v) in records {
        assert!(v < n, "{what}: value {v} was never sent");
        seen[v] += 1;
        if let Some(prev) = last.insert(p, v) {
            if prev >= v {
                out_of_order.push((p, prev, v));
            }
        }
    }
    let lost: Vec<usize> = (0..n).filter(|&i| seen[i] == 0).collect();
    let twice: Vec<usize> = (0..n).filter(|&i| seen[i] > 1).collect();
    assert!(
        lost.is_empty() && twice.is_empty() && out_of_order.is_empty(),
        "{what}: {} lost (first {:?}), {} twice (first {:?}), {} out of order (first (partition, before, after) {:?})",
        lost.len(),
        lost.first(),
        twice.len(),
        twice.first(),
        out_of_order.len(),
        out_of_order.first()
    );
}

/// Reads the whole topic with the Java client (read_committed), asking for one record more than
/// `n` so that it reads until its deadline: a record written twice anywhere, the end of a
/// partition included, is seen. Returns (partition, value) in the order read.
fn java_read_everything(bootstrap: &str, topic: &str, n: usize) -> Vec<(i32, usize)> {
    let out = common::java_peer(&["read", bootstrap, topic, &(n + 1).to_string(), "20000"])
        .output()
        .expect("java peer");
    // Exit 2 with "only N of N+1" is the expected end; exit 0 means more than n records.
    assert!(
        out.status.success() || out.status.code() == Some(2),
        "Java read failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let cols: Vec<&str> = line.split(' ').collect();
            let hex = cols[3];
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (
                cols[0].parse().unwrap(),
                String::from_utf8(bytes).unwrap().parse().unwrap(),
            )
        })
        .collect()
}

/// The leader of `partition` once the cluster names one other than `old`.
async fn new_leader(kafka: &Kafka, topic: &str, partition: i32, old: i32) -> i32 {
    let cluster = kafka.cluster().clone();
    let found = Arc::new(Mutex::new(-1));
    let f = found.clone();
    common::eventually(Duration::from_secs(90), "a new leader elected", move || {
        let (cluster, topic, f) = (cluster.clone(), topic.to_string(), f.clone());
        async move {
            cluster.invalidate();
            let Ok(t) = cluster.wait_for_topic(&topic, Duration::from_secs(5)).await else {
                return false;
            };
            match t.partition(partition).map(|p| p.leader) {
                Some(l) if l >= 0 && l != old => {
                    *f.lock().unwrap() = l;
                    true
                }
                _ => false,
            }
        }
    })
    .await;
    let l = *found.lock().unwrap();
    l
}

/// The coordinator of `key` once it is a node other than `old`.
async fn new_coordinator(kafka: &Kafka, kind: CoordinatorType, key: &str, old: i32) -> i32 {
    let found = Arc::new(Mutex::new(-1));
    let f = found.clone();
    common::eventually(
        Duration::from_secs(90),
        "the coordinator moved to another node",
        move || {
            let (kafka, key, f) = (kafka.clone(), key.to_string(), f.clone());
            async move {
                match kafka.find_coordinator(kind, &key).await {
                    Ok(c) if c != old => {
                        *f.lock().unwrap() = c;
                        true
                    }
                    _ => false,
                }
            }
        },
    )
    .await;
    let c = *found.lock().unwrap();
    c
}

/// Partition 0's leader killed, brought back and in sync, then the new leader killed too (min
/// ISR 2 forbids two nodes down at once), all while the producer sends: every record
/// acknowledged and in the log once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_across_two_leader_kills_in_a_row() {
    let bootstrap = cluster_or_skip!();
    let _serial = exclusive().await;
    common::init_tracing();
    let kafka = connect(&bootstrap).await;
    let topic = replicated_topic(&kafka, "kill2").await;
    let first = leader_of(&kafka, &topic, 0).await;
    let _revive_first = Revive("start", first.to_string());
    let second: Arc<Mutex<Option<(i32, Revive)>>> = Arc::default();
    let n = 40_000;
    let (k, t, s) = (kafka.clone(), topic.clone(), second.clone());
    let (failed, first_error) =
        send_through(&kafka, &topic, n, 4, Duration::from_secs(120), |step| {
            let (k, t, s) = (k.clone(), t.clone(), s.clone());
            async move {
                match step {
                    0 => node(&["kill", &first.to_string()]).await,
                    1 => {
                        let moved = new_leader(&k, &t, 0, first).await;
                        node(&["start", &first.to_string()]).await;
                        wait_in_sync(&k, &t).await;
                        // Usually the leader elected when the first died; whichever node leads
                        // now is killed.
                        let victim = leader_of(&k, &t, 0).await;
                        eprintln!("killed {first}, {moved} took over; now killing {victim}");
                        *s.lock().unwrap() = Some((victim, Revive("start", victim.to_string())));
                        node(&["kill", &victim.to_string()]).await;
                    }
                    2 => {
                        let victim = s.lock().unwrap().as_ref().unwrap().0;
                        new_leader(&k, &t, 0, victim).await;
                    }
                    _ => {}
                }
            }
        })
        .await;
    assert_eq!(failed, 0, "records failed: {first_error:?}");
    assert_exactly_once_in_order(&bootstrap, &topic, n);
    let victim = second.lock().unwrap().as_ref().unwrap().0;
    node(&["start", &victim.to_string()]).await;
}

/// Two members read while the group coordinator is killed (-9) and later started again: they
/// find the new coordinator inside their session; none is fenced, every record is processed,
/// none twice.
async fn group_across_a_killed_coordinator(protocol: GroupProtocol) {
    let bootstrap = cluster_or_skip!();
    let _serial = exclusive().await;
    common::init_tracing();
    let kafka = connect(&bootstrap).await;
    let topic = replicated_topic(&kafka, "coordkill").await;
    let n = 8_000;
    let (failed, first) =
        send_through(&kafka, &topic, n, 1, Duration::from_secs(60), |_| async {}).await;
    assert_eq!(failed, 0, "{first:?}");

    let group = common::unique("g-coordkill");
    let seen: Arc<Mutex<Vec<(i32, usize)>>> = Arc::default();
    let mut members = Vec::new();
    let mut losts = Vec::new();
    let mut runs = Vec::new();
    for _ in 0..2 {
        let mut config = ConsumerConfig::new(&group)
            .group_protocol(protocol)
            .max_wait(Duration::from_millis(200));
        if protocol == GroupProtocol::Classic {
            // The consumer protocol takes both from the broker (10 s and 1 s on this cluster).
            config = config
                .session_timeout(Duration::from_secs(10))
                .heartbeat_interval(Duration::from_secs(1));
        }
        let c = kafka.consumer(config).unwrap();
        losts.push(count_lost(&c));
        c.subscribe(&[topic.as_str()], true).await.unwrap();
        // Slow enough that the kill falls in the middle of the reading.
        runs.push(read_partition_values(&c, &seen, Duration::from_millis(4)));
        members.push(c);
    }
    common::eventually(Duration::from_secs(60), "reading started", || {
        let got = distinct(&seen);
        async move { got > 200 }
    })
    .await;
    let coordinator = kafka
        .find_coordinator(CoordinatorType::Group, &group)
        .await
        .unwrap();
    let revive = Revive("start", coordinator.to_string());
    node(&["kill", &coordinator.to_string()]).await;
    let moved = new_coordinator(&kafka, CoordinatorType::Group, &group, coordinator).await;
    let at_move = distinct(&seen);
    eprintln!("coordinator {coordinator} killed; {moved} took over after {at_move} records");
    // The members go on reading under the new coordinator (or are done) before the old one
    // comes back.
    common::eventually(
        Duration::from_secs(90),
        "reading under the new coordinator",
        || {
            let got = distinct(&seen);
            async move { got >= (at_move + 300).min(n) }
        },
    )
    .await;
    node(&["start", &coordinator.to_string()]).await;
    drop(revive);
    common::eventually(Duration::from_secs(120), "every record processed", || {
        let got = distinct(&seen);
        async move { got == n }
    })
    .await;
    let lost: usize = losts.iter().map(|l| l.load(Ordering::SeqCst)).sum();
    let all = seen.lock().unwrap().clone();
    assert_eq!(lost, 0, "a member was fenced (partitions lost)");
    assert_each_once_in_order("processed", &all, n);
    for m in &members {
        m.disconnect().await.ok();
    }
    for r in runs {
        r.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kip848_group_across_a_killed_coordinator() {
    group_across_a_killed_coordinator(GroupProtocol::Consumer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_group_across_a_killed_coordinator() {
    group_across_a_killed_coordinator(GroupProtocol::Classic).await;
}

/// What the consume-transform-produce loop has done, for the test to watch.
#[derive(Default)]
struct Progress {
    committed: AtomicUsize,
    aborted: AtomicUsize,
}

/// Reads `input` in a group and writes each record to `output` in transactions of up to 100,
/// committing the consumed offsets in the same transaction, until all `n` records are
/// committed. A transaction that fails is aborted and its records read again from the last
/// committed position (what any such application does).
async fn consume_transform_produce(
    kafka: Kafka,
    consumer: Consumer,
    txn_id: String,
    input: String,
    output: String,
    n: usize,
    progress: Arc<Progress>,
) {
    let producer = kafka
        .producer(ProducerConfig::default().transactional_id(&txn_id))
        .expect("transactional producer");
    producer.init_transactions().await.expect("init");
    let want = common::cluster_transaction_version(&kafka).await;
    assert_eq!(producer.transaction_version(), Some(want));
    eprintln!("the producer speaks {want}");
    let epoch = || async {
        kafka
            .admin()
            .describe_transactions(&[txn_id.as_str()])
            .await
            .expect("describe transaction")[0]
            .producer_epoch
    };
    let first_epoch = epoch().await;
    let mut commits = 0i32;
    let mut stream = Box::pin(consumer.stream());
    // Next offset to process, and next offset committed, per input partition. The input was
    // written without transactions, so its offsets have no gaps.
    let mut next: HashMap<i32, i64> = HashMap::new();
    let mut committed: HashMap<i32, i64> = HashMap::new();
    while committed.values().sum::<i64>() < n as i64 {
        producer.begin_transaction().expect("begin");
        let result: kafkit::Result<()> = async {
            let mut taken = 0;
            while taken < 100 {
                let wait = if taken == 0 { 30 } else { 1 };
                let m = match tokio::time::timeout(Duration::from_secs(wait), stream.next()).await {
                    Ok(Some(m)) => m.expect("consumer"),
                    Ok(None) => panic!("the consumer stream ended"),
                    Err(_) if taken == 0 => continue,
                    Err(_) => break,
                };
                let at = next.entry(m.partition).or_insert(0);
                if m.offset != *at {
                    // Fetched before a rewind (or already processed): not the record due.
                    continue;
                }
                *at += 1;
                taken += 1;
                let mut r = Record::new(&output, m.value.as_deref().unwrap_or_default());
                if let Some(k) = m.key.as_deref() {
                    r = r.key(k);
                }
                producer.send(r).await?;
            }
            let offsets: Vec<(TopicPartition, i64)> = next
                .iter()
                .filter(|(p, o)| committed.get(p) != Some(o))
                .map(|(p, o)| (TopicPartition::new(&input, *p), *o))
                .collect();
            producer
                .send_offsets_to_transaction(&offsets, &consumer.group_metadata())
                .await?;
            producer.commit_transaction().await
        }
        .await;
        match result {
            Ok(()) => {
                commits += 1;
                committed = next.clone();
                let done = committed.values().sum::<i64>() as usize;
                progress.committed.store(done, Ordering::SeqCst);
            }
            Err(e) => {
                eprintln!("transaction failed, aborting: {e}");
                producer
                    .abort_transaction()
                    .await
                    .expect("abort after a failed transaction");
                progress.aborted.fetch_add(1, Ordering::SeqCst);
                next = committed.clone();
                for p in 0..3 {
                    let at = committed.get(&p).copied().unwrap_or(0);
                    consumer
                        .seek(TopicPartition::new(&input, p), at)
                        .expect("seek");
                }
            }
        }
    }
    drop(stream);
    // The protocol held across the coordinator's death (the new one has the same features).
    assert_eq!(producer.transaction_version(), Some(want));
    // V2: every commit bumped the epoch once (a retried EndTxn is not bumped again), and so
    // did each abort; the producer adopted each (it was never fenced). V1: the epoch moves only
    // after a failed record (KIP-360), at most once per abort.
    let bumps = i32::from(epoch().await) - i32::from(first_epoch);
    let aborts = progress.aborted.load(Ordering::SeqCst) as i32;
    eprintln!("{commits} commit(s), {aborts} abort(s), the epoch moved by {bumps}");
    match want {
        TransactionVersion::V2 => assert!(
            (commits..=commits + aborts).contains(&bumps),
            "{bumps} bumps for {commits} commits and {aborts} aborts"
        ),
        _ => assert!(bumps <= aborts, "{bumps} bumps for {aborts} aborts"),
    }
    producer.close().await.expect("close");
}

/// A consume-transform-produce loop (read_committed input, transactional output, offsets sent
/// to the transaction) while the transaction coordinator is killed (-9), then started again:
/// the output, read with read_committed, holds every input record exactly once, in order.
/// The producer speaks the cluster's transaction protocol: V2 on a cluster formatted with Kafka
/// 4.x's defaults, V1 on one from `KAFKIT_TRANSACTION_VERSION=1 scripts/cluster up`; the test
/// passes on both (run it once on each to prove both).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_loop_across_a_killed_transaction_coordinator() {
    let bootstrap = cluster_or_skip!();
    let _serial = exclusive().await;
    common::init_tracing();
    let kafka = connect(&bootstrap).await;
    let input = replicated_topic(&kafka, "ctp-in").await;
    let output = replicated_topic(&kafka, "ctp-out").await;
    let n = 3_000;
    let (failed, first) =
        send_through(&kafka, &input, n, 1, Duration::from_secs(60), |_| async {}).await;
    assert_eq!(failed, 0, "{first:?}");

    let group = common::unique("g-ctp");
    let txn_id = common::unique("ctp");
    let consumer = kafka
        .consumer(
            ConsumerConfig::new(&group)
                .group_protocol(GroupProtocol::Consumer)
                .auto_commit(false)
                .max_wait(Duration::from_millis(200)),
        )
        .unwrap();
    let lost = count_lost(&consumer);
    consumer.subscribe(&[input.as_str()], true).await.unwrap();
    let progress: Arc<Progress> = Arc::default();
    let run = tokio::spawn(consume_transform_produce(
        kafka.clone(),
        consumer.clone(),
        txn_id.clone(),
        input.clone(),
        output.clone(),
        n,
        progress.clone(),
    ));
    common::eventually(Duration::from_secs(90), "transactions committed", || {
        let done = progress.committed.load(Ordering::SeqCst);
        async move { done >= n / 5 }
    })
    .await;
    let coordinator = kafka
        .find_coordinator(CoordinatorType::Transaction, &txn_id)
        .await
        .unwrap();
    let revive = Revive("start", coordinator.to_string());
    node(&["kill", &coordinator.to_string()]).await;
    let killed = std::time::Instant::now();
    let at_kill = progress.committed.load(Ordering::SeqCst);
    let moved = new_coordinator(&kafka, CoordinatorType::Transaction, &txn_id, coordinator).await;
    let named = killed.elapsed();
    common::eventually(
        Duration::from_secs(120),
        "a transaction committed after the kill",
        || {
            let done = progress.committed.load(Ordering::SeqCst);
            async move { done > at_kill || done == n }
        },
    )
    .await;
    // For the log only: no timing is asserted.
    eprintln!(
        "transaction coordinator {coordinator} killed after {at_kill} records; {moved} named after {named:?}, next commit after {:?}",
        killed.elapsed()
    );
    common::eventually(
        Duration::from_secs(120),
        "transactions committed under the new coordinator",
        || {
            let done = progress.committed.load(Ordering::SeqCst);
            async move { done >= (at_kill + 300).min(n) }
        },
    )
    .await;
    node(&["start", &coordinator.to_string()]).await;
    drop(revive);
    common::eventually(Duration::from_secs(180), "every record committed", || {
        let done = progress.committed.load(Ordering::SeqCst) == n || run.is_finished();
        async move { done }
    })
    .await;
    run.await.expect("the loop");
    eprintln!(
        "{} transaction(s) aborted and redone, {} lost assignment(s)",
        progress.aborted.load(Ordering::SeqCst),
        lost.load(Ordering::SeqCst)
    );

    let out = java_read_everything(&bootstrap, &output, n);
    assert_each_once_in_order("output (read_committed)", &out, n);
    // The group's offsets are the transactions' (no other commit): all of the input.
    let admin = kafka.admin();
    common::eventually(
        Duration::from_secs(30),
        "the group's committed offsets cover the input",
        || async {
            let offsets = admin.group_offsets(&group).await.unwrap_or_default();
            offsets.iter().map(|o| o.committed.max(0)).sum::<i64>() == n as i64
        },
    )
    .await;
    consumer.disconnect().await.ok();
}

/// A member reads while the leader of a partition it reads (not the group coordinator) is
/// killed (-9) and later started again: the member follows the new leader and reads every
/// record once, in order; it is not fenced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_across_a_killed_partition_leader() {
    let bootstrap = cluster_or_skip!();
    let _serial = exclusive().await;
    common::init_tracing();
    let kafka = connect(&bootstrap).await;
    let topic = replicated_topic(&kafka, "readkill").await;
    let n = 6_000;
    let (failed, first) =
        send_through(&kafka, &topic, n, 1, Duration::from_secs(60), |_| async {}).await;
    assert_eq!(failed, 0, "{first:?}");

    let group = common::unique("g-readkill");
    let coordinator = kafka
        .find_coordinator(CoordinatorType::Group, &group)
        .await
        .unwrap();
    // The leader of a partition, on another node than the group coordinator (killing that is
    // the coordinator test above).
    let mut victim = None;
    for p in 0..3 {
        let l = leader_of(&kafka, &topic, p).await;
        if l != coordinator {
            victim = Some((p, l));
            break;
        }
    }
    let (partition, victim) = victim.unwrap_or((0, leader_of(&kafka, &topic, 0).await));
    let c = kafka
        .consumer(
            ConsumerConfig::new(&group)
                .group_protocol(GroupProtocol::Consumer)
                .max_wait(Duration::from_millis(200)),
        )
        .unwrap();
    let lost = count_lost(&c);
    c.subscribe(&[topic.as_str()], true).await.unwrap();
    let seen: Arc<Mutex<Vec<(i32, usize)>>> = Arc::default();
    let run = read_partition_values(&c, &seen, Duration::from_millis(3));
    common::eventually(Duration::from_secs(60), "reading started", || {
        let got = distinct(&seen);
        async move { got > 300 }
    })
    .await;
    let revive = Revive("start", victim.to_string());
    node(&["kill", &victim.to_string()]).await;
    let moved = new_leader(&kafka, &topic, partition, victim).await;
    let at_move = distinct(&seen);
    eprintln!("leader {victim} of partition {partition} killed; {moved} took over after {at_move} records");
    common::eventually(
        Duration::from_secs(90),
        "reading from the new leader",
        || {
            let got = distinct(&seen);
            async move { got >= (at_move + 300).min(n) }
        },
    )
    .await;
    node(&["start", &victim.to_string()]).await;
    drop(revive);
    common::eventually(Duration::from_secs(120), "every record read", || {
        let got = distinct(&seen);
        async move { got == n }
    })
    .await;
    let all = seen.lock().unwrap().clone();
    assert_eq!(lost.load(Ordering::SeqCst), 0, "the member was fenced");
    assert_each_once_in_order("read", &all, n);
    c.disconnect().await.ok();
    run.abort();
}
