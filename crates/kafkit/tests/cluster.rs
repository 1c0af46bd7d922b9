//! Failures on a three-node KRaft cluster (scripts/cluster; replication factor 3, min ISR 2):
//! the producer across a killed leader and a hung (SIGSTOPped) one. Every record is read back
//! by the Java client: nothing lost, nothing twice, order kept per partition.
//!
//! Runs when KAFKIT_CLUSTER_BOOTSTRAP is set (scripts/test starts the cluster); each test
//! brings the nodes it stopped back before it ends, so the next one starts healthy.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::cluster::*;
use kafkit::cluster::CoordinatorType;
use kafkit::consumer::{ConsumerConfig, GroupProtocol, RebalanceKind};
use kafkit::NewTopic;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_across_a_leader_killed_with_sigkill() {
    let Some((bootstrap, _serial)) = begin().await else {
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
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_across_a_hung_leader() {
    let Some((bootstrap, _serial)) = begin().await else {
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

/// Two group members read while the group coordinator's broker is frozen (SIGSTOP) for longer
/// than the broker's own failure detection: heartbeats to it time out well inside the session,
/// the members find the new coordinator, and none is fenced: no partition is lost, no record
/// processed twice.
async fn group_across_a_hung_coordinator(protocol: GroupProtocol) {
    let Some((bootstrap, _serial)) = begin().await else {
        return;
    };
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
    // The freeze is meant for a stable group: both members own partitions, all 3 are owned.
    common::eventually(Duration::from_secs(30), "both members assigned", || {
        let members = &members;
        async move {
            let mut owned = 0;
            for m in members {
                match m.assignment().await {
                    Ok(a) if !a.is_empty() => owned += a.len(),
                    _ => return false,
                }
            }
            owned == 3
        }
    })
    .await;
    let ids: std::collections::BTreeSet<String> = members.iter().map(|m| m.member_id()).collect();
    let coordinator = kafka
        .find_coordinator(CoordinatorType::Group, &group)
        .await
        .unwrap();
    let revive = Revive("cont", coordinator.to_string());
    cluster(&["stop", &coordinator.to_string()]);
    tokio::time::sleep(Duration::from_secs(20)).await;
    cluster(&["cont", &coordinator.to_string()]);
    drop(revive);
    // The same two members are in the group the new coordinator holds: none was dropped and
    // rejoined under a new id.
    let admin = kafka.admin();
    common::eventually(Duration::from_secs(60), "the same members, stable", || {
        let (admin, group, ids) = (&admin, &group, &ids);
        async move {
            let Ok(d) = admin.describe_groups(&[group.as_str()]).await else {
                return false;
            };
            let now: std::collections::BTreeSet<String> =
                d[0].members.iter().map(|m| m.member_id.clone()).collect();
            d[0].state.eq_ignore_ascii_case("stable") && &now == ids
        }
    })
    .await;
    let ids_now: std::collections::BTreeSet<String> =
        members.iter().map(|m| m.member_id()).collect();
    assert_eq!(ids_now, ids, "a member rejoined under a new id");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kip848_group_across_a_hung_coordinator() {
    group_across_a_hung_coordinator(GroupProtocol::Consumer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_group_across_a_hung_coordinator() {
    group_across_a_hung_coordinator(GroupProtocol::Classic).await;
}

/// Every node restarted in turn (stopped gracefully, started, back in sync) while a producer
/// sends and a KIP-848 member reads: nothing lost or duplicated in the log, nothing lost by the
/// member, and nothing read twice unless it was fenced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_and_group_across_a_rolling_restart() {
    let Some((bootstrap, _serial)) = begin().await else {
        return;
    };
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

/// KIP-320: an unclean leader election truncates the log under a consumer. The consumer has
/// read (and committed) records that only the old leader had; the new leader's log ends before
/// them and new records land at those offsets. The consumer reports the truncation and reads
/// the new records from where the logs agree: none skipped, none read twice (without the check
/// it would fetch past the new log's end and reset to the earliest offset, rereading all).
///
/// Two replicas, so that one node stays up throughout: the controller quorum (every node is a
/// controller) never loses two voters for long.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_detects_log_truncation_after_an_unclean_election() {
    let Some((bootstrap, _serial)) = begin().await else {
        return;
    };
    common::init_tracing();
    let kafka = connect(&bootstrap).await;
    let topic = common::unique("trunc");
    kafka
        .admin()
        .create_topics(&[NewTopic::new(&topic, 1)
            .replication_factor(2)
            .config("min.insync.replicas", "1")
            .config("unclean.leader.election.enable", "true")])
        .await
        .expect("create topic");
    let partition = {
        let (cluster_view, topic) = (kafka.cluster().clone(), topic.clone());
        move || {
            let (cluster_view, topic) = (cluster_view.clone(), topic.clone());
            async move {
                cluster_view.invalidate();
                cluster_view
                    .wait_for_topic(&topic, Duration::from_secs(5))
                    .await
                    .ok()
                    .and_then(|t| t.partition(0).cloned())
            }
        }
    };
    let p = {
        let mut found = None;
        for _ in 0..60 {
            if let Some(p) = partition()
                .await
                .filter(|p| p.leader >= 0 && p.isr.len() == 2)
            {
                found = Some(p);
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        found.expect("both replicas in sync")
    };
    let old_leader = p.leader;
    let follower = *p.replicas.iter().find(|r| **r != old_leader).unwrap();
    let _revive = [
        Revive("start", old_leader.to_string()),
        Revive("start", follower.to_string()),
    ];
    let produce = |range: std::ops::Range<usize>| {
        let (kafka, topic) = (kafka.clone(), topic.clone());
        async move {
            let (failed, first) = send_range(&kafka, &topic, range).await;
            assert_eq!(failed, 0, "{first:?}");
        }
    };
    produce(0..100).await;

    let seen: Arc<Mutex<Vec<usize>>> = Arc::default();
    let c = kafka
        .consumer(
            ConsumerConfig::new(common::unique("g-trunc"))
                .group_protocol(GroupProtocol::Consumer)
                .max_wait(Duration::from_millis(200)),
        )
        .unwrap();
    let warned = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watch = {
        let (mut events, warned) = (kafka.events(), warned.clone());
        tokio::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                match events.recv().await {
                    Ok(kafkit::Event::Warning { message })
                        if message.contains("log truncation") =>
                    {
                        warned.store(true, std::sync::atomic::Ordering::SeqCst)
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                }
            }
        })
    };
    c.subscribe(&[topic.as_str()], true).await.unwrap();
    let run = read_values(&c, &seen, Duration::ZERO);
    let count = |n: usize| {
        let seen = seen.clone();
        move || {
            let got = seen.lock().unwrap().len();
            async move { got >= n }
        }
    };
    common::eventually(Duration::from_secs(60), "the first 100 read", count(100)).await;

    // Only the leader gets the next records: the follower is down, and once the controller
    // fences it the ISR is the leader alone.
    cluster(&["kill", &follower.to_string()]);
    common::eventually(
        Duration::from_secs(60),
        "the ISR is the leader alone",
        || {
            let p = partition();
            async move {
                p.await
                    .is_some_and(|p| p.leader == old_leader && p.isr == vec![old_leader])
            }
        },
    )
    .await;
    produce(100..150).await;
    common::eventually(Duration::from_secs(60), "150 read", count(150)).await;
    // Committed, so that a member fenced while the cluster is short of nodes resumes here too.
    c.commit().await.expect("commit");

    // The leader dies with records 100..150; the follower, without them, comes back and is
    // elected uncleanly.
    cluster(&["kill", &old_leader.to_string()]);
    cluster(&["start", &follower.to_string()]);
    common::eventually(Duration::from_secs(120), "the follower leads", || {
        let p = partition();
        async move { p.await.is_some_and(|p| p.leader == follower) }
    })
    .await;
    // New records at offsets 100..120 of the new leader's log.
    produce(1000..1020).await;
    common::eventually(Duration::from_secs(120), "the new records read", || {
        let got: Vec<usize> = seen.lock().unwrap().clone();
        async move { got.iter().filter(|v| **v >= 1000).count() >= 20 }
    })
    .await;
    let all = seen.lock().unwrap().clone();
    let mut expected: Vec<usize> = (0..150).collect();
    expected.extend(1000..1020);
    assert_eq!(
        all, expected,
        "every record once, in order, the new ones after the cut"
    );
    assert!(
        warned.load(std::sync::atomic::Ordering::SeqCst),
        "the truncation is reported"
    );
    c.disconnect().await.ok();
    run.abort();
    watch.abort();
}

/// KIP-392: a consumer with a rack id reads from the replica in its rack (each node is a rack
/// of its own, scripts/cluster), not from the leaders; when that replica dies it falls back
/// to the leaders and reads on: every record once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_reads_from_the_replica_in_its_rack_and_falls_back_to_the_leader() {
    let Some((bootstrap, _serial)) = begin().await else {
        return;
    };
    common::init_tracing();
    let kafka = connect(&bootstrap).await;
    let topic = replicated_topic(&kafka, "rack").await;
    // A rack that leads some partitions but not all: the others must be read from it as a
    // follower.
    let leaders: Vec<i32> = {
        let mut v = Vec::new();
        for p in 0..3 {
            v.push(leader_of(&kafka, &topic, p).await);
        }
        v
    };
    let local = (1..=3).find(|n| leaders.iter().any(|l| l != n)).unwrap();
    // scripts/cluster lists node N N-th.
    let local_addr = bootstrap
        .split(',')
        .nth(local as usize - 1)
        .unwrap()
        .to_string();
    let (failed, first) = send_range(&kafka, &topic, 0..3000).await;
    assert_eq!(failed, 0, "{first:?}");

    let fetched_from: Arc<Mutex<Vec<String>>> = Arc::default();
    let watch = {
        let (mut events, fetched_from) = (kafka.events(), fetched_from.clone());
        tokio::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                match events.recv().await {
                    Ok(kafkit::Event::Request {
                        api: "Fetch",
                        broker,
                        ..
                    }) => fetched_from.lock().unwrap().push(broker),
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                }
            }
        })
    };
    let seen: Arc<Mutex<Vec<usize>>> = Arc::default();
    let c = kafka
        .consumer(
            ConsumerConfig::new(common::unique("g-rack"))
                .group_protocol(GroupProtocol::Consumer)
                .rack_id(format!("rack-{local}"))
                .max_wait(Duration::from_millis(200)),
        )
        .unwrap();
    c.subscribe(&[topic.as_str()], true).await.unwrap();
    let run = read_values(&c, &seen, Duration::ZERO);
    let count = |n: usize| {
        let seen = seen.clone();
        move || {
            let got = seen.lock().unwrap().len();
            async move { got >= n }
        }
    };
    common::eventually(Duration::from_secs(60), "3,000 read", count(3000)).await;
    // Caught up: the fetches go to the local replica. One may go back to a leader now and
    // then (the leader redirects a fetch only once the replica has caught up, and a fetch the
    // replica failed under load is retried there), so the check is on the latest 20 fetches,
    // until they settle; without follower fetching, half or fewer would ever be local (one
    // fetch loop per leader).
    fetched_from.lock().unwrap().clear();
    let local_share = || {
        let fetches = fetched_from.lock().unwrap();
        let tail = &fetches[fetches.len().saturating_sub(20)..];
        let share = if tail.len() < 20 {
            0
        } else {
            tail.iter().filter(|b| **b == local_addr).count() * 100 / tail.len()
        };
        (share, tail.to_vec())
    };
    let settled = tokio::time::timeout(Duration::from_secs(60), async {
        while local_share().0 < 80 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    let (share, tail) = local_share();
    assert!(
        settled.is_ok(),
        "{share}% of the latest fetches went to the rack's replica {local_addr}: {tail:?}"
    );

    // The local replica dies: the leaders (new ones for what it led) serve the rest.
    let _revive = Revive("start", local.to_string());
    cluster(&["kill", &local.to_string()]);
    let (failed, first) = send_range(&kafka, &topic, 3000..4000).await;
    assert_eq!(failed, 0, "{first:?}");
    common::eventually(Duration::from_secs(90), "4,000 read", count(4000)).await;
    let mut all = seen.lock().unwrap().clone();
    all.sort();
    assert_eq!(all, (0..4000).collect::<Vec<_>>(), "every record once");
    c.disconnect().await.ok();
    run.abort();
    watch.abort();
}
