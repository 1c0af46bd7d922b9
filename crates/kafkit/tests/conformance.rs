//! The reference document's promises about the consumer, proven against the real broker: the
//! events and their payloads, eachBatch's controls, offsets by hand and by auto-commit, the
//! options that must reach the broker, and subscriptions that add up. `docs/conformance.md`
//! maps each statement of the document to the test here (or in `examples.rs`, `consumer.rs`,
//! `classic.rs`) that proves it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use kafkit::consumer::{
    Consumer, ConsumerConfig, GroupProtocol, MemberStatus, RebalanceKind, RunOptions,
};
use kafkit::{Event, Kafka, TopicPartition};

const WAIT: Duration = Duration::from_secs(30);

fn config(group: &str) -> ConsumerConfig {
    ConsumerConfig::new(group)
        .group_protocol(GroupProtocol::Consumer)
        .max_wait(Duration::from_millis(200))
}

/// Every event the handle publishes from now on.
/// `config` with the broker's protocol, for what does not depend on it (commits, seeks,
/// subscriptions): KIP-848 on Kafka 4.x, a classic member on Kafka 3.x (scripts/test-legacy).
async fn any_config(kafka: &Kafka, group: &str) -> ConsumerConfig {
    config(group).group_protocol(common::group_protocol(kafka).await)
}

fn record_events(kafka: &Kafka) -> Arc<Mutex<Vec<Event>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut rx = kafka.events();
    let sink = seen.clone();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(e) => sink.lock().unwrap().push(e),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return,
            }
        }
    });
    seen
}

fn events(seen: &Arc<Mutex<Vec<Event>>>) -> Vec<Event> {
    seen.lock().unwrap().clone()
}

/// The group's committed offsets, by partition (partitions without one left out).
async fn committed(kafka: &Kafka, group: &str) -> BTreeMap<TopicPartition, i64> {
    kafka
        .admin()
        .group_offsets(group)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.committed >= 0)
        .map(|o| (o.partition, o.committed))
        .collect()
}

async fn wait_committed(kafka: &Kafka, group: &str, tp: &TopicPartition, offset: i64, what: &str) {
    common::eventually(WAIT, what, || {
        let (kafka, group, tp) = (kafka.clone(), group.to_string(), tp.clone());
        async move { committed(&kafka, &group).await.get(&tp) == Some(&offset) }
    })
    .await;
}

async fn assignment(c: &Consumer) -> BTreeSet<TopicPartition> {
    c.assignment()
        .await
        .unwrap_or_default()
        .into_iter()
        .collect()
}

async fn wait_assignment(c: &Consumer, want: &BTreeSet<TopicPartition>, what: &str) {
    common::eventually(WAIT, what, || {
        let c = c.clone();
        let want = want.clone();
        async move { assignment(&c).await == want }
    })
    .await;
}

/// Runs `run_each_message` in the background, counting records; returns the count.
fn count_records(c: &Consumer) -> Arc<AtomicUsize> {
    let n = Arc::new(AtomicUsize::new(0));
    let (c, n2) = (c.clone(), n.clone());
    tokio::spawn(async move {
        c.run_each_message(move |_| {
            n2.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        })
        .await
    });
    n
}

async fn wait_count(n: &Arc<AtomicUsize>, want: usize) {
    common::eventually(WAIT, &format!("{want} records handled"), || {
        let got = n.load(Ordering::SeqCst);
        async move { got >= want }
    })
    .await;
}

fn is_id(topic: &str) -> bool {
    uuid_like(topic)
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

// ---- Events ---------------------------------------------------------------------------

#[tokio::test]
async fn group_join_names_its_topics_and_heartbeat_fires_for_every_answer() {
    if common::needs_kafka4("KIP-848 consumer groups").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cf-events", 3).await;
    let group = common::unique("g-cf-events");
    let seen = record_events(&kafka);
    let c = kafka.consumer(config(&group)).unwrap();
    c.subscribe(&[&topic], true).await.unwrap();
    let _n = count_records(&c);
    common::eventually(WAIT, "three heartbeats after the join", || {
        let n = events(&seen)
            .iter()
            .filter(|e| matches!(e, Event::Heartbeat { group_id, .. } if *group_id == group))
            .count();
        async move { n >= 3 }
    })
    .await;
    let all = events(&seen);
    let join = all
        .iter()
        .find_map(|e| match e {
            Event::GroupJoin {
                group_id,
                member_id,
                member_epoch,
                group_protocol,
                assignment,
                duration,
                leader_id,
                is_leader,
            } if *group_id == group => Some((
                member_id.clone(),
                *member_epoch,
                *group_protocol,
                assignment.clone(),
                *duration,
                leader_id.clone(),
                *is_leader,
            )),
            _ => None,
        })
        .expect("a GROUP_JOIN");
    assert_eq!(join.0, c.member_id());
    assert!(join.1 >= 1, "member epoch {}", join.1);
    assert_eq!(join.2, GroupProtocol::Consumer);
    assert!(join.4 < WAIT, "join took {:?}", join.4);
    assert_eq!(
        (join.5, join.6),
        (None, false),
        "KIP-848 groups have no leader"
    );
    // The join's assignment and what later heartbeats added, all by name.
    let mut owned: BTreeSet<TopicPartition> = join.3.into_iter().collect();
    for e in &all {
        if let Event::Heartbeat {
            group_id,
            member_id,
            member_epoch,
            group_protocol,
            added,
            removed,
        } = e
        {
            if *group_id != group {
                continue;
            }
            assert_eq!(*member_id, c.member_id());
            assert!(*member_epoch >= 1);
            assert_eq!(*group_protocol, GroupProtocol::Consumer);
            assert!(
                removed.is_empty(),
                "a lone member loses nothing: {removed:?}"
            );
            owned.extend(added.iter().cloned());
        }
    }
    assert!(owned.iter().all(|tp| !is_id(&tp.topic)), "{owned:?}");
    assert_eq!(
        owned,
        (0..3).map(|p| TopicPartition::new(&topic, p)).collect(),
        "the events tell the whole assignment"
    );
    c.stop().await.unwrap();
}

#[tokio::test]
async fn classic_events_carry_the_generation_and_the_leader() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cf-classic-ev", 2).await;
    let group = common::unique("g-cf-classic-ev");
    let seen = record_events(&kafka);
    let c = kafka
        .consumer(
            ConsumerConfig::new(&group)
                .group_protocol(GroupProtocol::Classic)
                .heartbeat_interval(Duration::from_millis(300)),
        )
        .unwrap();
    c.subscribe(&[&topic], true).await.unwrap();
    let _n = count_records(&c);
    common::eventually(WAIT, "two classic heartbeats", || {
        let n = events(&seen)
            .iter()
            .filter(|e| matches!(e, Event::Heartbeat { group_id, .. } if *group_id == group))
            .count();
        async move { n >= 2 }
    })
    .await;
    let all = events(&seen);
    let Some(Event::GroupJoin {
        member_id,
        member_epoch,
        group_protocol,
        assignment,
        leader_id,
        is_leader,
        ..
    }) = all
        .iter()
        .find(|e| matches!(e, Event::GroupJoin { group_id, .. } if *group_id == group))
    else {
        panic!("no GROUP_JOIN: {all:?}")
    };
    assert_eq!(*group_protocol, GroupProtocol::Classic);
    assert_eq!(member_id, &c.member_id());
    assert!(*member_epoch >= 1, "generation {member_epoch}");
    assert_eq!(
        leader_id.as_deref(),
        Some(member_id.as_str()),
        "a lone member leads"
    );
    assert!(*is_leader);
    assert_eq!(
        assignment.iter().cloned().collect::<BTreeSet<_>>(),
        (0..2).map(|p| TopicPartition::new(&topic, p)).collect()
    );
    for e in &all {
        if let Event::Heartbeat {
            group_id,
            member_epoch: generation,
            group_protocol,
            added,
            removed,
            ..
        } = e
        {
            if *group_id == group {
                assert_eq!(generation, member_epoch);
                assert_eq!(*group_protocol, GroupProtocol::Classic);
                assert!(added.is_empty() && removed.is_empty());
            }
        }
    }
    c.stop().await.unwrap();
}

// ---- eachBatch ------------------------------------------------------------------------

#[tokio::test]
async fn each_batch_heartbeat_reports_the_member_and_resolved_offsets_are_committed() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cf-batch", 1).await;
    common::produce(&kafka, &topic, 10).await;
    let group = common::unique("g-cf-batch");
    let c = kafka.consumer(any_config(&kafka, &group).await).unwrap();
    c.subscribe(&[&topic], true).await.unwrap();
    let statuses: Arc<Mutex<Vec<MemberStatus>>> = Arc::default();
    type Uncommitted = Option<(TopicPartition, i64)>;
    let uncommitted: Arc<Mutex<Vec<Uncommitted>>> = Arc::default();
    let last = Arc::new(AtomicUsize::new(0));
    let (c2, st, un, l) = (
        c.clone(),
        statuses.clone(),
        uncommitted.clone(),
        last.clone(),
    );
    tokio::spawn(async move {
        let options = RunOptions {
            each_batch_auto_resolve: false,
            ..RunOptions::default()
        };
        c2.run_each_batch_with(options, move |ctx| {
            let (st, un, l) = (st.clone(), un.clone(), l.clone());
            async move {
                for m in &ctx.batch.messages {
                    // Only the first five count as processed.
                    if m.offset <= 4 {
                        ctx.resolve_offset(m.offset);
                    }
                    let status = ctx.heartbeat().await?;
                    st.lock().unwrap().push(status);
                    un.lock().unwrap().push(ctx.uncommitted_offsets());
                    l.fetch_max(m.offset as usize + 1, Ordering::SeqCst);
                }
                Ok(())
            }
        })
        .await
    });
    wait_count(&last, 10).await;
    let tp = TopicPartition::new(&topic, 0);
    let statuses = statuses.lock().unwrap().clone();
    assert_eq!(statuses.len(), 10);
    assert!(
        statuses.iter().all(|s| s.assigned && s.member_epoch >= 1),
        "{statuses:?}"
    );
    assert_eq!(
        uncommitted.lock().unwrap().last().cloned().flatten(),
        Some((tp.clone(), 5))
    );
    c.stop().await.unwrap();
    assert_eq!(
        committed(&kafka, &group).await.get(&tp),
        Some(&5),
        "what was resolved, not what was delivered"
    );
}

#[tokio::test]
async fn is_stale_turns_true_after_a_seek_and_reading_resumes_there() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cf-stale-seek", 1).await;
    common::produce(&kafka, &topic, 10).await;
    let group = common::unique("g-cf-stale-seek");
    let c = kafka.consumer(any_config(&kafka, &group).await).unwrap();
    c.subscribe(&[&topic], true).await.unwrap();
    let firsts: Arc<Mutex<Vec<i64>>> = Arc::default();
    let stale_seen = Arc::new(AtomicBool::new(false));
    let (c2, f, s) = (c.clone(), firsts.clone(), stale_seen.clone());
    tokio::spawn(async move {
        let seeker = c2.clone();
        c2.run_each_batch(move |ctx| {
            let (f, s, seeker) = (f.clone(), s.clone(), seeker.clone());
            async move {
                let first = ctx.batch.first_offset();
                let again = {
                    let mut f = f.lock().unwrap();
                    f.push(first);
                    f.len() > 1
                };
                if again {
                    return Ok(());
                }
                assert!(!ctx.is_stale());
                seeker.seek(ctx.partition(), 0)?;
                for _ in 0..100 {
                    if ctx.is_stale() {
                        s.store(true, Ordering::SeqCst);
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Ok(())
            }
        })
        .await
    });
    common::eventually(WAIT, "a second batch after the seek", || {
        let n = firsts.lock().unwrap().len();
        async move { n >= 2 }
    })
    .await;
    assert!(stale_seen.load(Ordering::SeqCst), "is_stale after seek");
    assert_eq!(
        firsts.lock().unwrap()[1],
        0,
        "reading resumed at the offset sought"
    );
    c.stop().await.unwrap();
}

#[tokio::test]
async fn is_stale_turns_true_when_a_rebalance_takes_the_partition() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cf-stale-rebalance", 2).await;
    common::produce(&kafka, &topic, 20).await;
    let group = common::unique("g-cf-stale-rebalance");
    let a = kafka.consumer(any_config(&kafka, &group).await).unwrap();
    a.subscribe(&[&topic], true).await.unwrap();
    let stale = Arc::new(AtomicUsize::new(0));
    let held = Arc::new(AtomicUsize::new(0));
    let (a2, s, h) = (a.clone(), stale.clone(), held.clone());
    tokio::spawn(async move {
        let options = RunOptions {
            partitions_consumed_concurrently: 2,
            ..RunOptions::default()
        };
        // Holds each batch until it is obsolete (or 60 s).
        a2.run_each_batch_with(options, move |ctx| {
            let (s, h) = (s.clone(), h.clone());
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                for _ in 0..600 {
                    if ctx.is_stale() {
                        s.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Ok(())
            }
        })
        .await
    });
    wait_count(&held, 2).await;
    let b = kafka.consumer(any_config(&kafka, &group).await).unwrap();
    b.subscribe(&[&topic], true).await.unwrap();
    let _n = count_records(&b);
    common::eventually(WAIT, "the joiner gets a partition", || {
        let b = b.clone();
        async move { assignment(&b).await.len() == 1 }
    })
    .await;
    assert!(
        stale.load(Ordering::SeqCst) >= 1,
        "the batch of the partition taken away was stale"
    );
    b.stop().await.unwrap();
    a.stop().await.unwrap();
}

#[tokio::test]
async fn a_backward_seek_is_what_gets_committed_next() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cf-seek-back", 1).await;
    common::produce(&kafka, &topic, 10).await;
    let group = common::unique("g-cf-seek-back");
    let c = kafka.consumer(any_config(&kafka, &group).await).unwrap();
    c.subscribe(&[&topic], true).await.unwrap();
    let n = count_records(&c);
    wait_count(&n, 10).await;
    let tp = TopicPartition::new(&topic, 0);
    c.commit().await.unwrap();
    wait_committed(&kafka, &group, &tp, 10, "all ten committed").await;
    c.pause(std::slice::from_ref(&tp)).unwrap();
    c.seek(tp.clone(), 3).unwrap();
    c.commit().await.unwrap();
    wait_committed(
        &kafka,
        &group,
        &tp,
        3,
        "the offset sought, below the one committed",
    )
    .await;
    c.stop().await.unwrap();
    assert_eq!(committed(&kafka, &group).await.get(&tp), Some(&3));
}

#[tokio::test]
async fn commit_offsets_if_necessary_commits_with_auto_commit_off() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cf-if-necessary", 1).await;
    common::produce(&kafka, &topic, 10).await;
    let group = common::unique("g-cf-if-necessary");
    let c = kafka
        .consumer(any_config(&kafka, &group).await.auto_commit(false))
        .unwrap();
    c.subscribe(&[&topic], true).await.unwrap();
    let c2 = c.clone();
    tokio::spawn(async move {
        c2.run_each_batch(|ctx| async move {
            if let Some(m) = ctx.batch.messages.last() {
                ctx.resolve_offset(m.offset);
            }
            ctx.commit_offsets_if_necessary().await
        })
        .await
    });
    let tp = TopicPartition::new(&topic, 0);
    wait_committed(
        &kafka,
        &group,
        &tp,
        10,
        "committed by the handler, while running",
    )
    .await;
    c.stop().await.unwrap();
}

// ---- Offsets by hand and by auto-commit -------------------------------------------------

#[tokio::test]
async fn auto_commit_off_commits_nothing_unless_asked() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cf-no-auto", 1).await;
    common::produce(&kafka, &topic, 10).await;
    let group = common::unique("g-cf-no-auto");
    let a = kafka
        .consumer(any_config(&kafka, &group).await.auto_commit(false))
        .unwrap();
    a.subscribe(&[&topic], true).await.unwrap();
    wait_count(&count_records(&a), 10).await;
    a.stop().await.unwrap();
    assert_eq!(
        committed(&kafka, &group).await,
        BTreeMap::new(),
        "nothing committed"
    );

    // Asked: `commit` stores everything processed.
    let b = kafka
        .consumer(any_config(&kafka, &group).await.auto_commit(false))
        .unwrap();
    b.subscribe(&[&topic], true).await.unwrap();
    wait_count(&count_records(&b), 10).await;
    b.commit().await.unwrap();
    let tp = TopicPartition::new(&topic, 0);
    assert_eq!(committed(&kafka, &group).await.get(&tp), Some(&10));
    b.stop().await.unwrap();
}

#[tokio::test]
async fn auto_commit_by_interval_commits_while_running() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cf-interval", 1).await;
    common::produce(&kafka, &topic, 10).await;
    let group = common::unique("g-cf-interval");
    let mut cfg = any_config(&kafka, &group).await;
    cfg.auto_commit_interval = Duration::from_millis(300);
    let c = kafka.consumer(cfg).unwrap();
    c.subscribe(&[&topic], true).await.unwrap();
    wait_count(&count_records(&c), 10).await;
    let tp = TopicPartition::new(&topic, 0);
    wait_committed(&kafka, &group, &tp, 10, "committed by the interval").await;
    c.stop().await.unwrap();
}

#[tokio::test]
async fn auto_commit_by_threshold_commits_before_the_interval() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cf-threshold", 1).await;
    common::produce(&kafka, &topic, 12).await;
    let group = common::unique("g-cf-threshold");
    let mut cfg = any_config(&kafka, &group).await;
    cfg.auto_commit_interval = Duration::from_secs(3600);
    cfg.auto_commit_threshold = Some(5);
    let c = kafka.consumer(cfg).unwrap();
    c.subscribe(&[&topic], true).await.unwrap();
    wait_count(&count_records(&c), 12).await;
    let tp = TopicPartition::new(&topic, 0);
    common::eventually(WAIT, "a commit of at least five records", || {
        let (kafka, group, tp) = (kafka.clone(), group.clone(), tp.clone());
        async move {
            committed(&kafka, &group)
                .await
                .get(&tp)
                .is_some_and(|o| *o >= 5)
        }
    })
    .await;
    c.stop().await.unwrap();
}

// ---- Options that reach the broker ------------------------------------------------------

#[tokio::test]
async fn remote_assignor_unset_means_uniform() {
    if common::needs_kafka4("KIP-848 consumer groups").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cf-uniform", 2).await;
    let group = common::unique("g-cf-uniform");
    let c = kafka.consumer(config(&group)).unwrap();
    assert_eq!(c.config().remote_assignor, None);
    c.subscribe(&[&topic], true).await.unwrap();
    let d = &kafka.admin().describe_groups(&[&group]).await.unwrap()[0];
    assert_eq!(d.assignor, "uniform", "{d:?}");
    c.stop().await.unwrap();
}

#[tokio::test]
async fn the_range_assignor_gives_co_partitioned_ranges() {
    if common::needs_kafka4("KIP-848 consumer groups").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let t1 = common::topic(&kafka, "cf-range-a", 4).await;
    let t2 = common::topic(&kafka, "cf-range-b", 4).await;
    let group = common::unique("g-cf-range");
    let members: Vec<Consumer> = (0..2)
        .map(|_| {
            kafka
                .consumer(config(&group).remote_assignor("range"))
                .unwrap()
        })
        .collect();
    for m in &members {
        m.subscribe(&[&t1, &t2], true).await.unwrap();
        let _ = count_records(m);
    }
    common::eventually(WAIT, "four partitions each", || {
        let members = members.clone();
        async move {
            let mut ok = true;
            for m in &members {
                ok &= assignment(m).await.len() == 4;
            }
            ok
        }
    })
    .await;
    for m in &members {
        let a = assignment(m).await;
        let of = |t: &str| -> Vec<i32> {
            a.iter()
                .filter(|tp| tp.topic == t)
                .map(|tp| tp.partition)
                .collect()
        };
        assert_eq!(of(&t1), of(&t2), "range co-partitions the topics: {a:?}");
        let p = of(&t1);
        assert!(p.windows(2).all(|w| w[1] == w[0] + 1), "a range: {p:?}");
    }
    let d = &kafka.admin().describe_groups(&[&group]).await.unwrap()[0];
    assert_eq!(d.assignor, "range");
    for m in &members {
        m.stop().await.unwrap();
    }
}

#[tokio::test]
async fn the_rebalance_timeout_reaches_the_broker() {
    if common::needs_kafka4("KIP-848 consumer groups").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cf-rebalance-timeout", 2).await;
    let group = common::unique("g-cf-rebalance-timeout");
    // A member that never finishes a revocation: the broker removes it once its rebalance
    // timeout (3 s here; 60 s by default) has passed, and the joiner gets its share (before,
    // it gets nothing: the partition it is due is still owned). The removed member rejoins.
    let stuck = kafka
        .consumer(config(&group).rebalance_timeout(Duration::from_secs(3)))
        .unwrap();
    let lost = Arc::new(AtomicBool::new(false));
    stuck.on_partitions_revoked(Arc::new(|_, _| {
        async {
            tokio::time::sleep(Duration::from_secs(120)).await;
            Ok(())
        }
        .boxed()
    }));
    let l = lost.clone();
    stuck.on_partitions_lost(Arc::new(move |_, _| {
        l.store(true, Ordering::SeqCst);
        async { Ok(()) }.boxed()
    }));
    stuck.subscribe(&[&topic], true).await.unwrap();
    let _n = count_records(&stuck);
    let want: BTreeSet<TopicPartition> = (0..2).map(|p| TopicPartition::new(&topic, p)).collect();
    wait_assignment(&stuck, &want, "the first member owns both").await;
    let joiner = kafka.consumer(config(&group)).unwrap();
    joiner.subscribe(&[&topic], true).await.unwrap();
    let _m = count_records(&joiner);
    common::eventually(
        WAIT,
        "the joiner gets its share once the stuck member's 3 s rebalance timeout passed",
        || {
            let joiner = joiner.clone();
            async move { !assignment(&joiner).await.is_empty() }
        },
    )
    .await;
    assert!(
        lost.load(Ordering::SeqCst),
        "the stuck member was fenced: its partitions were lost"
    );
    stuck.abort();
    joiner.stop().await.unwrap();
}

#[tokio::test]
async fn the_rack_id_is_sent_to_the_broker() {
    if common::needs_kafka4("KIP-848 consumer groups").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cf-rack", 1).await;
    let group = common::unique("g-cf-rack");
    let c = kafka.consumer(config(&group).rack_id("rack-7")).unwrap();
    c.subscribe(&[&topic], true).await.unwrap();
    let d = &kafka.admin().describe_groups(&[&group]).await.unwrap()[0];
    assert_eq!(d.members[0].rack_id.as_deref(), Some("rack-7"), "{d:?}");
    c.stop().await.unwrap();
}

#[tokio::test]
async fn deprecated_options_warn_once_each_even_for_a_listener_added_later() {
    if common::needs_kafka4("KIP-848 consumer groups").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cf-deprecated", 1).await;
    let group = common::unique("g-cf-deprecated");
    let c = kafka
        .consumer(
            config(&group)
                .session_timeout(Duration::from_secs(30))
                .heartbeat_interval(Duration::from_secs(3))
                .partition_assigners(["roundrobin"]),
        )
        .unwrap();
    assert_eq!(c.warnings().len(), 3, "{:?}", c.warnings());
    // Listening only now, after the consumer exists.
    let seen = record_events(&kafka);
    c.subscribe(&[&topic], true).await.unwrap();
    common::eventually(WAIT, "the join", || {
        let joined = events(&seen)
            .iter()
            .any(|e| matches!(e, Event::GroupJoin { group_id, .. } if *group_id == group));
        async move { joined }
    })
    .await;
    let warnings: Vec<String> = events(&seen)
        .into_iter()
        .filter_map(|e| match e {
            Event::Warning { message } => Some(message),
            _ => None,
        })
        .collect();
    for (option, replacement) in [
        ("session_timeout", "group.consumer.session.timeout.ms"),
        ("heartbeat_interval", "group.consumer.heartbeat.interval.ms"),
        ("partition_assigners", "remote_assignor"),
    ] {
        let n = warnings
            .iter()
            .filter(|w| w.starts_with(option) && w.contains(replacement))
            .count();
        assert_eq!(n, 1, "{option}: {warnings:?}");
    }
    c.subscribe(&[&topic], true).await.unwrap();
    let again = events(&seen)
        .iter()
        .filter(|e| matches!(e, Event::Warning { .. }))
        .count();
    assert_eq!(again, warnings.len(), "a second subscribe warns no more");
    c.stop().await.unwrap();
}

// ---- Subscriptions ----------------------------------------------------------------------

#[tokio::test]
async fn a_later_subscribe_adds_and_replace_subscription_replaces() {
    common::init_tracing();
    let kafka = common::connect().await;
    let a = common::topic(&kafka, "cf-sub-a", 1).await;
    let b = common::topic(&kafka, "cf-sub-b", 1).await;
    let group = common::unique("g-cf-sub");
    let c = kafka.consumer(any_config(&kafka, &group).await).unwrap();
    c.subscribe(&[&a], true).await.unwrap();
    let _n = count_records(&c);
    let (ta, tb) = (TopicPartition::new(&a, 0), TopicPartition::new(&b, 0));
    wait_assignment(&c, &[ta.clone()].into(), "topic a").await;
    c.subscribe(&[&b], true).await.unwrap();
    wait_assignment(&c, &[ta.clone(), tb.clone()].into(), "a and b").await;
    c.replace_subscription(&[&b], true).await.unwrap();
    wait_assignment(&c, &[tb].into(), "only b").await;
    c.stop().await.unwrap();
}

#[tokio::test]
async fn a_pattern_added_to_topics_reads_both() {
    common::init_tracing();
    let kafka = common::connect().await;
    let a = common::topic(&kafka, "cf-mix-a", 1).await;
    let prefix = common::unique("cf-mix-p");
    let matched = format!("{prefix}.one");
    kafka.admin().create_topic(&matched, 1).await.unwrap();
    common::produce(&kafka, &a, 3).await;
    common::produce(&kafka, &matched, 3).await;
    let group = common::unique("g-cf-mix");
    let c = kafka.consumer(any_config(&kafka, &group).await).unwrap();
    c.subscribe(&[&a], true).await.unwrap();
    c.subscribe_pattern(&format!("{prefix}\\..*"), true)
        .await
        .unwrap();
    let n = count_records(&c);
    wait_assignment(
        &c,
        &[TopicPartition::new(&a, 0), TopicPartition::new(&matched, 0)].into(),
        "the topic and the pattern's topic",
    )
    .await;
    wait_count(&n, 6).await;
    c.stop().await.unwrap();
}

#[tokio::test]
async fn hooks_set_after_subscribe_take_effect() {
    if common::needs_kafka4("KIP-848 consumer groups").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let a = common::topic(&kafka, "cf-hook-a", 1).await;
    let b = common::topic(&kafka, "cf-hook-b", 1).await;
    let group = common::unique("g-cf-hook");
    let c = kafka.consumer(config(&group)).unwrap();
    c.subscribe(&[&a], true).await.unwrap();
    let _n = count_records(&c);
    let (ta, tb) = (TopicPartition::new(&a, 0), TopicPartition::new(&b, 0));
    wait_assignment(&c, &[ta.clone()].into(), "topic a").await;
    type Call = (RebalanceKind, Vec<TopicPartition>);
    let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
    for set in [
        Consumer::on_partitions_assigned as fn(&Consumer, kafkit::consumer::RebalanceHook),
        Consumer::on_partitions_revoked,
    ] {
        let calls = calls.clone();
        set(
            &c,
            Arc::new(move |kind, tps| {
                calls.lock().unwrap().push((kind, tps));
                async { Ok(()) }.boxed()
            }),
        );
    }
    c.subscribe(&[&b], true).await.unwrap();
    wait_assignment(&c, &[ta.clone(), tb.clone()].into(), "a and b").await;
    c.stop().await.unwrap();
    let calls = calls.lock().unwrap().clone();
    assert_eq!(
        calls.first(),
        Some(&(RebalanceKind::Assigned, vec![tb])),
        "{calls:?}"
    );
    let revoked: BTreeSet<TopicPartition> = calls
        .iter()
        .filter(|(k, _)| *k == RebalanceKind::Revoked)
        .flat_map(|(_, t)| t.clone())
        .collect();
    assert!(
        revoked.contains(&ta),
        "the stop revoked what the hook saw: {calls:?}"
    );
}

// ---- Requirements, migration, troubleshooting -------------------------------------------

#[tokio::test]
async fn an_unknown_remote_assignor_fails_naming_the_broker_setting() {
    if common::needs_kafka4("KIP-848 consumer groups").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cf-bad-assignor", 1).await;
    let group = common::unique("g-cf-bad-assignor");
    let c = kafka
        .consumer(config(&group).remote_assignor("sticky-custom"))
        .unwrap();
    let e = c.subscribe(&[&topic], true).await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("sticky-custom") && text.contains("group.consumer.assignors"),
        "{text}"
    );
}

#[tokio::test]
async fn offline_migration_keeps_the_committed_offsets() {
    if common::needs_kafka4("KIP-848 consumer groups").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cf-offline", 1).await;
    common::produce(&kafka, &topic, 10).await;
    let group = common::unique("g-cf-offline");
    // 1. The classic consumers read and stop.
    let old = kafka
        .consumer(ConsumerConfig::new(&group).group_protocol(GroupProtocol::Classic))
        .unwrap();
    old.subscribe(&[&topic], true).await.unwrap();
    wait_count(&count_records(&old), 10).await;
    old.stop().await.unwrap();
    common::produce(&kafka, &topic, 5).await;
    // 2-3. Started again with the consumer protocol: they go on where the group stopped.
    let new = kafka.consumer(config(&group)).unwrap();
    new.subscribe(&[&topic], true).await.unwrap();
    let offsets: Arc<Mutex<Vec<i64>>> = Arc::default();
    let (n2, o2) = (new.clone(), offsets.clone());
    tokio::spawn(async move {
        n2.run_each_message(move |m| {
            o2.lock().unwrap().push(m.offset);
            async { Ok(()) }
        })
        .await
    });
    common::eventually(WAIT, "the five new records", || {
        let n = offsets.lock().unwrap().len();
        async move { n >= 5 }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(*offsets.lock().unwrap(), (10..15).collect::<Vec<_>>());
    let d = &kafka.admin().describe_groups(&[&group]).await.unwrap()[0];
    assert_eq!(d.kind, kafkit::admin::GroupKind::Consumer);
    new.stop().await.unwrap();
}

// ---- Scalability ------------------------------------------------------------------------

#[tokio::test]
async fn a_thousand_partitions_split_across_twenty_members() {
    if common::needs_kafka4("KIP-848 consumer groups").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "cf-scale", 1000).await;
    let group = common::unique("g-cf-scale");
    let members: Vec<Consumer> = (0..20)
        .map(|_| kafka.consumer(config(&group)).unwrap())
        .collect();
    for m in &members {
        m.subscribe(&[&topic], true).await.unwrap();
        let _ = count_records(m);
    }
    common::eventually(
        Duration::from_secs(60),
        "a complete, disjoint, even split",
        || {
            let members = members.clone();
            async move {
                let mut all = BTreeSet::new();
                for m in &members {
                    let a = assignment(m).await;
                    // The uniform assignor balances to within one partition: 50 each here.
                    if a.len() != 50 || !a.is_disjoint(&all) {
                        return false;
                    }
                    all.extend(a);
                }
                all.len() == 1000
            }
        },
    )
    .await;
    for m in &members {
        m.stop().await.unwrap();
    }
    kafka.admin().delete_topics(&[&topic]).await.unwrap();
}

// ---- The table itself -------------------------------------------------------------------

/// Every test docs/conformance.md names exists, so the table cannot point at nothing.
#[test]
fn every_test_the_conformance_table_names_exists() {
    fn sources(dir: &std::path::Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                if !path.ends_with("target") {
                    sources(&path, out);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }
    let repo = std::path::PathBuf::from(common::repo());
    let table = std::fs::read_to_string(repo.join("docs/conformance.md")).unwrap();
    let mut code = String::new();
    sources(&repo.join("crates"), &mut code);
    let mut named = 0;
    for token in table.split('`').skip(1).step_by(2) {
        let parts: Vec<&str> = token.split("::").collect();
        let is_test = parts.len() >= 2
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            });
        if !is_test {
            continue;
        }
        named += 1;
        let name = parts[parts.len() - 1];
        assert!(
            code.contains(&format!("fn {name}(")),
            "docs/conformance.md names `{token}`, which no test defines"
        );
    }
    assert!(named >= 40, "only {named} tests named");
}
