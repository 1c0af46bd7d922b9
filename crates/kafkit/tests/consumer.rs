//! The KIP-848 group consumer against the real broker: assignment, rebalances without stalls or
//! duplicates, session expiry, fencing, regex subscriptions, a Java member in the same group,
//! and a broker without the protocol. On Kafka 3.x (scripts/test-legacy) the fetch tests
//! (batch sizes, prefetch budget, fetch sessions, a deleted topic) run with a classic member
//! and the rest are skipped (`common::needs_kafka4`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kafkit::consumer::{Consumer, ConsumerConfig, GroupProtocol, RebalanceKind};
use kafkit::{ErrorKind, Kafka, TopicPartition};

type Seen = Arc<Mutex<Vec<(i32, i64, Instant)>>>;

fn config(group: &str) -> ConsumerConfig {
    ConsumerConfig::new(group)
        .group_protocol(GroupProtocol::Consumer)
        .max_wait(Duration::from_millis(200))
}

/// Starts `run_each_message` on a consumer, recording (partition, offset, when) of every record.
async fn member(kafka: &Kafka, group: &str, topic: &str) -> (Consumer, Seen) {
    member_of(kafka, group, &[topic]).await
}

/// `member`, subscribed to several topics.
async fn member_of(kafka: &Kafka, group: &str, topics: &[&str]) -> (Consumer, Seen) {
    member_with(kafka, config(group), topics).await
}

/// `member_of`, with a configuration of the test's own.
async fn member_with(kafka: &Kafka, cfg: ConsumerConfig, topics: &[&str]) -> (Consumer, Seen) {
    let c = kafka.consumer(cfg).expect("consumer");
    c.subscribe(topics, true).await.expect("subscribe");
    let seen: Seen = Arc::default();
    let (c2, s2) = (c.clone(), seen.clone());
    tokio::spawn(async move {
        c2.run_each_message(move |m| {
            let s = s2.clone();
            async move {
                s.lock()
                    .unwrap()
                    .push((m.partition, m.offset, Instant::now()));
                Ok(())
            }
        })
        .await
    });
    (c, seen)
}

async fn partitions(c: &Consumer) -> BTreeSet<i32> {
    c.assignment()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|tp| tp.partition)
        .collect()
}

/// Whether the members' assignments are disjoint, non-empty each, and cover `0..n`.
async fn split(members: Vec<Consumer>, n: i32) -> bool {
    let mut all = BTreeSet::new();
    for m in &members {
        let p = partitions(m).await;
        if p.is_empty() || !p.is_disjoint(&all) {
            return false;
        }
        all.extend(p);
    }
    all == (0..n).collect()
}

#[tokio::test]
async fn bad_group_protocol_string_gives_the_exact_message() {
    let e = ConsumerConfig::new("g")
        .group_protocol_str("eager")
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Config);
    assert!(
        e.to_string()
            .contains("Consumer groupProtocol must be either 'classic' or 'consumer'"),
        "{e}"
    );
    assert_eq!(
        "consumer".parse::<GroupProtocol>().unwrap(),
        GroupProtocol::Consumer
    );
    assert_eq!(
        "classic".parse::<GroupProtocol>().unwrap(),
        GroupProtocol::Classic
    );
}

#[tokio::test]
async fn one_member_gets_every_partition_and_reads_every_record() {
    if common::needs_kafka4("KIP-848 consumer groups").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "c-one", 6).await;
    common::produce(&kafka, &topic, 120).await;
    let c = kafka.consumer(config(&common::unique("g-one"))).unwrap();
    c.subscribe(&[&topic], true).await.unwrap();
    let mut stream = Box::pin(c.stream());
    let mut seen = BTreeSet::new();
    while seen.len() < 120 {
        let m = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("records within 30 s")
            .expect("stream open")
            .expect("record");
        assert!(
            seen.insert((m.partition, m.offset)),
            "duplicate {}@{}",
            m.partition,
            m.offset
        );
        let i: usize = std::str::from_utf8(&m.value.unwrap()).unwrap()["value-".len()..]
            .parse()
            .unwrap();
        assert_eq!(m.key.as_deref(), Some(format!("key-{i}").as_bytes()));
    }
    assert_eq!(partitions(&c).await, (0..6).collect());
    drop(stream);
    c.stop().await.unwrap();
}

#[tokio::test]
async fn three_members_split_disjointly_then_a_fourth_joins_without_stalling_the_others() {
    if common::needs_kafka4("KIP-848 consumer groups").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "c-split", 12).await;
    let group = common::unique("g-split");
    let (a, sa) = member(&kafka, &group, &topic).await;
    let (b, sb) = member(&kafka, &group, &topic).await;
    let (c, sc) = member(&kafka, &group, &topic).await;
    common::eventually(
        Duration::from_secs(30),
        "three members split 12 partitions",
        || split(vec![a.clone(), b.clone(), c.clone()], 12),
    )
    .await;

    // Records flow while a fourth member joins.
    let producing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (k2, t2, p2) = (kafka.clone(), topic.clone(), producing.clone());
    let producer = tokio::spawn(async move {
        while p2.load(std::sync::atomic::Ordering::Relaxed) {
            common::produce(&k2, &t2, 24).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before: Vec<BTreeSet<i32>> = vec![
        partitions(&a).await,
        partitions(&b).await,
        partitions(&c).await,
    ];
    let joined_at = Instant::now();
    let (d, sd) = member(&kafka, &group, &topic).await;
    common::eventually(
        Duration::from_secs(30),
        "four members split 12 partitions",
        || split(vec![a.clone(), b.clone(), c.clone(), d.clone()], 12),
    )
    .await;
    let settled_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    producing.store(false, std::sync::atomic::Ordering::Relaxed);
    producer.await.unwrap();

    // Partitions an old member kept went on being consumed between the join and the new split.
    let after: Vec<BTreeSet<i32>> = vec![
        partitions(&a).await,
        partitions(&b).await,
        partitions(&c).await,
    ];
    for (i, seen) in [&sa, &sb, &sc].iter().enumerate() {
        let kept: BTreeSet<i32> = before[i].intersection(&after[i]).copied().collect();
        assert!(
            !kept.is_empty(),
            "member {i} kept nothing: {:?} -> {:?}",
            before[i],
            after[i]
        );
        let during = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _, t)| {
                kept.contains(p) && *t >= joined_at && *t <= settled_at + Duration::from_millis(500)
            })
            .count();
        assert!(
            during > 0,
            "member {i} consumed nothing on its kept partitions {kept:?} during the rebalance"
        );
    }
    assert!(
        !sd.lock().unwrap().is_empty(),
        "the new member consumed nothing"
    );
    for m in [&a, &b, &c, &d] {
        m.stop().await.unwrap();
    }
}

/// A slow handler (5 ms a record) busy with one partition while another is revoked: the
/// revoked partition's batch, queued behind, is dropped at once and the new member gets the
/// partition while most records are still to be read. (The revocation used to wait until the
/// handler reached that batch, after the other partitions' batches: 4,000 of 6,000 records.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_does_not_wait_behind_a_slow_handlers_other_partitions() {
    if common::needs_kafka4("KIP-848 consumer groups").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "slow-revoke", 3).await;
    let n = 6_000;
    common::produce(&kafka, &topic, n).await;
    let group = common::unique("g-slow-revoke");
    let seen: Arc<Mutex<usize>> = Arc::default();
    let mut members = Vec::new();
    let mut runs = Vec::new();
    for _ in 0..2 {
        let c = kafka.consumer(config(&group)).unwrap();
        c.subscribe(&[topic.as_str()], true).await.unwrap();
        let (c2, s) = (c.clone(), seen.clone());
        runs.push(tokio::spawn(async move {
            c2.run_each_message(move |_| {
                let s = s.clone();
                async move {
                    *s.lock().unwrap() += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    Ok(())
                }
            })
            .await
        }));
        members.push(c);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let read_by_then = loop {
        let mut both = true;
        for m in &members {
            both &= !m.assignment().await.unwrap().is_empty();
        }
        if both {
            break *seen.lock().unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "the second member never got a partition"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        read_by_then < n / 2,
        "the second member got a partition only after {read_by_then} of {n} records were read"
    );
    for m in &members {
        m.disconnect().await.ok();
    }
    for r in runs {
        r.abort();
    }
}

#[tokio::test]
async fn a_member_that_leaves_hands_over_with_nothing_processed_twice() {
    if common::needs_kafka4("KIP-848 consumer groups").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "c-handover", 6).await;
    let group = common::unique("g-handover");
    let (a, sa) = member(&kafka, &group, &topic).await;
    let (b, sb) = member(&kafka, &group, &topic).await;
    common::eventually(Duration::from_secs(30), "two members split", || {
        split(vec![a.clone(), b.clone()], 6)
    })
    .await;
    common::produce(&kafka, &topic, 300).await;
    common::eventually(
        Duration::from_secs(30),
        "some records consumed by a",
        || {
            let n = sa.lock().unwrap().len();
            async move { n > 0 }
        },
    )
    .await;
    a.stop().await.unwrap();
    common::produce(&kafka, &topic, 300).await;
    common::eventually(Duration::from_secs(30), "600 records consumed", || {
        let n = sa.lock().unwrap().len() + sb.lock().unwrap().len();
        async move { n >= 600 }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut count: BTreeMap<(i32, i64), usize> = BTreeMap::new();
    for (p, o, _) in sa.lock().unwrap().iter().chain(sb.lock().unwrap().iter()) {
        *count.entry((*p, *o)).or_default() += 1;
    }
    let twice: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "processed twice: {twice:?}");
    assert_eq!(count.len(), 600);
    assert_eq!(partitions(&b).await, (0..6).collect());
    b.stop().await.unwrap();
}

#[tokio::test]
async fn a_member_that_dies_loses_its_partitions_after_the_session_timeout() {
    if common::needs_kafka4("KIP-848 consumer groups").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "c-crash", 4).await;
    let group = common::unique("g-crash");
    let (a, _) = member(&kafka, &group, &topic).await;
    let (b, _) = member(&kafka, &group, &topic).await;
    common::eventually(Duration::from_secs(30), "two members split", || {
        split(vec![a.clone(), b.clone()], 4)
    })
    .await;
    a.abort(); // no leave heartbeat
    let crashed = Instant::now();
    common::eventually(
        Duration::from_secs(40),
        "survivor owns everything",
        || async { partitions(&b).await == (0..4).collect::<BTreeSet<_>>() },
    )
    .await;
    // The test broker's group.consumer.session.timeout.ms is 10 s: not before that.
    assert!(
        crashed.elapsed() > Duration::from_secs(5),
        "moved after {:?}",
        crashed.elapsed()
    );
    b.stop().await.unwrap();
}

#[tokio::test]
async fn a_fenced_member_loses_its_partitions_and_rejoins() {
    if common::needs_kafka4("KIP-848 consumer groups").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "c-fenced", 3).await;
    let c = kafka.consumer(config(&common::unique("g-fenced"))).unwrap();
    let events: Arc<Mutex<Vec<RebalanceKind>>> = Arc::default();
    let e2 = events.clone();
    c.on_partitions_lost(Arc::new(move |k, _| {
        e2.lock().unwrap().push(k);
        Box::pin(async { Ok(()) })
    }));
    let e3 = events.clone();
    c.on_partitions_assigned(Arc::new(move |k, _| {
        e3.lock().unwrap().push(k);
        Box::pin(async { Ok(()) })
    }));
    c.subscribe(&[&topic], true).await.unwrap();
    common::eventually(Duration::from_secs(30), "assigned", || async {
        partitions(&c).await.len() == 3
    })
    .await;
    // Silent past the session timeout: the broker removes the member, the next heartbeat is fenced.
    c.suspend_heartbeats(Duration::from_secs(13));
    common::eventually(Duration::from_secs(40), "lost, then assigned again", || {
        let ev = events.lock().unwrap().clone();
        async move {
            let lost = ev.iter().position(|k| *k == RebalanceKind::Lost);
            lost.is_some_and(|i| ev[i..].contains(&RebalanceKind::Assigned))
        }
    })
    .await;
    common::eventually(Duration::from_secs(10), "all partitions back", || async {
        partitions(&c).await.len() == 3
    })
    .await;
    c.stop().await.unwrap();
}

#[tokio::test]
async fn a_regex_subscription_picks_up_a_topic_created_later() {
    if common::needs_kafka4("KIP-848 consumer groups").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let prefix = common::unique("c-regex");
    let first = format!("{prefix}-a");
    kafka
        .admin()
        .create_topics(&[kafkit::NewTopic::new(&first, 2)])
        .await
        .unwrap();
    let c = kafka.consumer(config(&common::unique("g-regex"))).unwrap();
    c.subscribe_pattern(&format!("{}-.*", regex_escape(&prefix)), true)
        .await
        .unwrap();
    common::eventually(Duration::from_secs(30), "first topic assigned", || async {
        c.assignment()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|tp| tp.topic == first)
            .count()
            == 2
    })
    .await;
    let second = format!("{prefix}-b");
    kafka
        .admin()
        .create_topics(&[kafkit::NewTopic::new(&second, 2)])
        .await
        .unwrap();
    common::produce(&kafka, &second, 10).await;
    let mut stream = Box::pin(c.stream());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut got = 0;
    while got < 10 {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = tokio::time::timeout(left, stream.next())
            .await
            .expect("records of the later topic")
            .unwrap()
            .unwrap();
        assert_eq!(&*m.topic, second.as_str());
        got += 1;
    }
    let assigned: BTreeSet<TopicPartition> = c.assignment().await.unwrap().into_iter().collect();
    assert_eq!(assigned.len(), 4, "{assigned:?}");
    drop(stream);
    c.stop().await.unwrap();
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

#[tokio::test]
async fn a_java_consumer_in_the_same_group_gets_a_disjoint_share() {
    if common::needs_kafka4("KIP-848 consumer groups").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "c-java", 6).await;
    let group = common::unique("g-java");
    let (k, _) = member(&kafka, &group, &topic).await;
    common::eventually(Duration::from_secs(30), "kafkit owns all", || async {
        partitions(&k).await.len() == 6
    })
    .await;
    let mut java = common::java_peer(&["group", &common::bootstrap(), &topic, &group, "25"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("java (install a JDK 17+)");
    let stdout = java.stdout.take().unwrap();
    let java_assigned: Arc<Mutex<BTreeSet<i32>>> = Arc::default();
    let ja = java_assigned.clone();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(|l| l.ok())
        {
            if let Some(list) = line.strip_prefix("ASSIGNED") {
                let set = list
                    .split(',')
                    .filter_map(|tp| tp.trim().rsplit_once('-').and_then(|(_, p)| p.parse().ok()))
                    .collect();
                *ja.lock().unwrap() = set;
            }
        }
    });
    common::eventually(
        Duration::from_secs(40),
        "kafkit and Java split the partitions",
        || {
            let j = java_assigned.lock().unwrap().clone();
            let k = k.clone();
            async move {
                let mine = partitions(&k).await;
                !j.is_empty()
                    && !mine.is_empty()
                    && j.is_disjoint(&mine)
                    && j.union(&mine).count() == 6
            }
        },
    )
    .await;
    let _ = java.kill();
    let _ = java.wait();
    k.stop().await.unwrap();
}

#[tokio::test]
async fn a_broker_without_the_consumer_protocol_gives_an_error_naming_both_fixes() {
    common::init_tracing();
    let bootstrap =
        std::env::var("KAFKIT_CLASSIC_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:19092".into());
    let kafka = match Kafka::connect(kafkit::KafkaConfig::new([bootstrap.clone()])).await {
        Ok(k) => k,
        Err(e) => {
            panic!("start the classic-only broker with `scripts/kafka up --profile classic`: {e}")
        }
    };
    let c = kafka.consumer(config("g-classic-only")).unwrap();
    let e = c
        .subscribe(&["anything"], true)
        .await
        .expect_err("the broker has no KIP-848");
    let text = e.to_string();
    assert!(text.contains("classic"), "{text}");
    assert!(text.contains("4.0"), "{text}");
    assert!(
        matches!(e.kind(), ErrorKind::Unsupported | ErrorKind::Kafka(_)),
        "{e:?}"
    );
}

#[tokio::test]
async fn added_partitions_are_assigned_without_revoking_the_others() {
    if common::needs_kafka4("KIP-848 consumer groups").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "c-grow", 2).await;
    let group = common::unique("g-grow");
    let c = kafka.consumer(config(&group)).unwrap();
    let revoked: Arc<Mutex<Vec<TopicPartition>>> = Arc::default();
    let r = revoked.clone();
    c.on_partitions_revoked(Arc::new(move |_, tps| {
        let r = r.clone();
        Box::pin(async move {
            r.lock().unwrap().extend(tps);
            Ok(())
        })
    }));
    c.subscribe(&[&topic], true).await.unwrap();
    let c2 = c.clone();
    tokio::spawn(async move { c2.run_each_message(|_| async { Ok(()) }).await });
    common::eventually(Duration::from_secs(30), "two partitions", || async {
        partitions(&c).await.len() == 2
    })
    .await;
    kafka.admin().create_partitions(&topic, 5).await.unwrap();
    common::eventually(Duration::from_secs(30), "five partitions", || async {
        partitions(&c).await == (0..5).collect()
    })
    .await;
    assert!(
        revoked.lock().unwrap().is_empty(),
        "nothing revoked: {revoked:?}"
    );
    c.stop().await.unwrap();
}

#[tokio::test]
async fn a_topic_deleted_while_assigned_is_dropped_without_a_crash() {
    common::init_tracing();
    let kafka = common::connect().await;
    let keep = common::topic(&kafka, "c-keep", 2).await;
    let doomed = common::topic(&kafka, "c-doomed", 2).await;
    let group = common::unique("g-doomed");
    let cfg = config(&group).group_protocol(common::group_protocol(&kafka).await);
    let (c, seen) = member_with(&kafka, cfg, &[&keep, &doomed]).await;
    common::eventually(Duration::from_secs(30), "four partitions", || async {
        c.assignment().await.unwrap_or_default().len() == 4
    })
    .await;
    kafka.admin().delete_topics(&[&doomed]).await.unwrap();
    common::eventually(
        Duration::from_secs(30),
        "only the kept topic assigned",
        || async {
            let a = c.assignment().await.unwrap_or_default();
            a.len() == 2 && a.iter().all(|tp| tp.topic == keep)
        },
    )
    .await;
    common::produce(&kafka, &keep, 20).await;
    common::eventually(
        Duration::from_secs(30),
        "the kept topic is still consumed",
        || {
            let n = seen.lock().unwrap().len();
            async move { n >= 20 }
        },
    )
    .await;
    c.stop().await.unwrap();
}

#[tokio::test]
async fn batches_larger_than_max_bytes_per_partition_are_still_read() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "c-bigbatch", 2).await;
    common::produce(&kafka, &topic, 3000).await;
    let mut cfg =
        config(&common::unique("g-bigbatch")).group_protocol(common::group_protocol(&kafka).await);
    cfg.max_bytes_per_partition = 1024;
    let c = kafka.consumer(cfg).unwrap();
    c.subscribe(&[&topic], true).await.unwrap();
    let mut stream = Box::pin(c.stream());
    let mut n = 0;
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        while n < 3000 {
            match stream.next().await {
                Some(Ok(_)) => n += 1,
                other => panic!("{:?}", other.map(|r| r.map(|m| m.offset))),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "read {n} of 3000 with 1 KiB per partition per fetch"
    );
    drop(stream);
    c.stop().await.unwrap();
}

/// Highly compressible batches inflate far past the compressed bytes a fetch returns: each
/// response is cut at the free prefetch space and the rest fetched again, every record once.
#[tokio::test]
async fn a_fetch_that_inflates_past_the_prefetch_budget_is_cut_and_refetched() {
    use kafkit::producer::Compression;
    use kafkit::producer::{ProducerConfig, Record};
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "inflate", 1).await;
    let producer = kafka
        .producer(ProducerConfig::default().compression(Compression::Lz4))
        .unwrap();
    let value = vec![0u8; 10_000];
    let mut acks = Vec::new();
    for _ in 0..2_000 {
        acks.push(
            producer
                .send(Record::new(&topic, &value[..]))
                .await
                .unwrap(),
        );
    }
    for a in acks {
        a.await.unwrap();
    }
    // 20 MB of records in well under 1 MB on the wire; 2 MB of prefetch space.
    let mut cfg =
        config(&common::unique("inflate")).group_protocol(common::group_protocol(&kafka).await);
    cfg.max_prefetch_bytes = 2 * 1024 * 1024;
    cfg.max_bytes_per_partition = 1024 * 1024;
    let mut events = kafka.events();
    let (c, seen) = member_with(&kafka, cfg, &[topic.as_str()]).await;
    common::eventually(Duration::from_secs(60), "all 2,000 records", || {
        let n = seen.lock().unwrap().len();
        async move { n >= 2_000 }
    })
    .await;
    let offsets: Vec<i64> = seen.lock().unwrap().iter().map(|s| s.1).collect();
    assert_eq!(
        offsets,
        (0..2_000).collect::<Vec<_>>(),
        "every record once, in order"
    );
    let mut largest = 0;
    loop {
        match events.try_recv() {
            Ok(kafkit::Event::Fetch { records, .. }) => largest = largest.max(records),
            Ok(_) | Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => {}
            Err(_) => break,
        }
    }
    // 2 MB of space holds ~200 records of 10 KB, plus the batch that crosses it.
    assert!(
        largest > 0 && largest <= 600,
        "largest fetch brought {largest} records"
    );
    c.disconnect().await.ok();
}

/// KIP-227: with fetch sessions, a member whose partitions are all caught up sends fetches
/// that list nothing (the broker already holds every position), where a sessionless member
/// lists every partition in each one. Both read every record.
#[tokio::test]
async fn fetch_sessions_send_only_what_changed() {
    let mut median = BTreeMap::new();
    let setup = common::connect().await;
    let topic = common::topic(&setup, "sessions", 64).await;
    common::produce(&setup, &topic, 640).await;
    for sessions in [true, false] {
        let kafka = common::connect().await;
        let sizes: Arc<Mutex<Vec<usize>>> = Arc::default();
        let caught_up = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let watch = {
            let (mut events, sizes, caught_up) = (kafka.events(), sizes.clone(), caught_up.clone());
            tokio::spawn(async move {
                while let Ok(e) = events.recv().await {
                    if let kafkit::Event::Request {
                        api: "Fetch", size, ..
                    } = e
                    {
                        if caught_up.load(std::sync::atomic::Ordering::SeqCst) {
                            sizes.lock().unwrap().push(size);
                        }
                    }
                }
            })
        };
        let group = common::unique("g-sessions");
        let (c, seen) = member_with(
            &kafka,
            config(&group)
                .fetch_sessions(sessions)
                .group_protocol(common::group_protocol(&kafka).await),
            &[&topic],
        )
        .await;
        common::eventually(Duration::from_secs(60), "every record read", || {
            let n = seen.lock().unwrap().len();
            async move { n >= 640 }
        })
        .await;
        assert_eq!(seen.lock().unwrap().len(), 640, "read once each");
        caught_up.store(true, std::sync::atomic::Ordering::SeqCst);
        common::eventually(Duration::from_secs(30), "fetches while caught up", || {
            let n = sizes.lock().unwrap().len();
            async move { n >= 5 }
        })
        .await;
        let mut s = sizes.lock().unwrap().clone();
        s.sort();
        median.insert(sessions, s[s.len() / 2]);
        c.disconnect().await.ok();
        watch.abort();
    }
    eprintln!(
        "caught-up fetch request bytes, median: sessions {} / none {}",
        median[&true], median[&false]
    );
    assert!(
        median[&true] * 4 < median[&false],
        "caught-up fetch request bytes, median: with sessions {} vs without {}",
        median[&true],
        median[&false]
    );
}

/// At a reassignment the member commits everything it has processed, in the partitions it
/// keeps too (not only the revoked ones), long before its auto-commit interval: a member that
/// dies after a rebalance repeats only what it processed since.
#[tokio::test]
async fn a_reassignment_commits_every_partition_processed_not_only_the_revoked_ones() {
    if common::needs_kafka4("KIP-848 consumer groups").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "c-reassign-commit", 4).await;
    let group = common::unique("g-reassign-commit");
    let mut cfg = config(&group);
    cfg.auto_commit_interval = Duration::from_secs(3600);
    let (a, sa) = member_with(&kafka, cfg.clone(), &[&topic]).await;
    common::eventually(Duration::from_secs(30), "a owns all four", || async {
        partitions(&a).await.len() == 4
    })
    .await;
    common::produce(&kafka, &topic, 200).await;
    common::eventually(Duration::from_secs(30), "a read all 200", || {
        let n = sa.lock().unwrap().len();
        async move { n >= 200 }
    })
    .await;
    let admin = kafka.admin();
    let committed = |admin: kafkit::admin::Admin| {
        let group = group.clone();
        async move {
            admin
                .group_offsets(&group)
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|o| (o.partition.partition, o.committed))
                .collect::<BTreeMap<i32, i64>>()
        }
    };
    assert!(
        committed(admin.clone()).await.is_empty(),
        "nothing committed yet (the interval is an hour)"
    );
    let (b, _sb) = member_with(&kafka, cfg, &[&topic]).await;
    common::eventually(Duration::from_secs(30), "two members split", || {
        split(vec![a.clone(), b.clone()], 4)
    })
    .await;
    let kept = partitions(&a).await;
    common::eventually(
        Duration::from_secs(10),
        "a's kept partitions committed at the reassignment",
        || {
            let (admin, kept) = (admin.clone(), kept.clone());
            let committed = committed(admin);
            async move {
                let c = committed.await;
                c.len() == 4 && kept.iter().all(|p| c.contains_key(p))
            }
        },
    )
    .await;
    let c = committed(admin.clone()).await;
    assert_eq!(c.values().sum::<i64>(), 200, "{c:?}");
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}
