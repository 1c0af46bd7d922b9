//! Share groups (KIP-932) against the real broker: more members than partitions all get work,
//! released records come back with a higher delivery count, rejected ones never do, a record
//! that keeps failing is archived at the delivery limit, a member that dies loses its records
//! to the others, every record is accepted once across members, and a Java
//! `KafkaShareConsumer` shares the work. The test broker (scripts/kafka) releases acquired
//! records 5 s after their member stops answering for them.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafkit::admin::GroupType;
use kafkit::share::{AcknowledgeType, ShareAcquireMode, ShareConsumer, ShareConsumerConfig};
use kafkit::{Error, ErrorKind, Kafka};

const WAIT: Duration = Duration::from_secs(40);

/// (member, partition, offset, delivery count) of every record handled.
type Seen = Arc<Mutex<Vec<(usize, i32, i64, i16)>>>;

/// Small fetches, so that several members share the records that are there at one time
/// (a fetch acquires up to `max_records` at once).
fn config(group: &str) -> ShareConsumerConfig {
    let mut c = ShareConsumerConfig::new(group).max_wait(Duration::from_millis(200));
    c.max_records = 10;
    c
}

/// A member that handles records with `decide` (per value: Ok accepts, Err releases).
async fn member<D>(
    kafka: &Kafka,
    group: &str,
    topic: &str,
    id: usize,
    seen: &Seen,
    decide: D,
) -> ShareConsumer
where
    D: Fn(&str, i16) -> kafkit::Result<()> + Send + Sync + 'static,
{
    let c = kafka.share_consumer(config(group)).unwrap();
    c.subscribe(&[topic]).await.unwrap();
    let (c2, seen) = (c.clone(), seen.clone());
    tokio::spawn(async move {
        c2.run_each_message(move |r| {
            let value =
                String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned();
            seen.lock()
                .unwrap()
                .push((id, r.partition, r.offset, r.delivery_count));
            let res = decide(&value, r.delivery_count);
            async move {
                // Some work per record: records that arrive meanwhile go to the members
                // waiting for them (a member holding records does not fetch).
                tokio::time::sleep(Duration::from_millis(30)).await;
                res
            }
        })
        .await
    });
    c
}

/// Records one by one, each its own batch (the broker acquires whole batches, so big batches
/// would go to whichever member fetches first), round-robin over `partitions` (keyless
/// records would all stick to one).
async fn produce_each(kafka: &Kafka, topic: &str, n: usize, partitions: i32) {
    let producer = kafka.producer(Default::default()).unwrap();
    for i in 0..n {
        let value = format!("v{i}");
        let record =
            kafkit::producer::Record::new(topic, value.as_bytes()).partition(i as i32 % partitions);
        producer.send(record).await.unwrap().await.unwrap();
    }
    producer.close().await.unwrap();
}

fn accept_all(_: &str, _: i16) -> kafkit::Result<()> {
    Ok(())
}

/// Waits until every member has an assignment (the share-partitions start at the latest
/// offset, so records must come after the members joined).
async fn joined(members: &[ShareConsumer]) {
    common::eventually(WAIT, "every member assigned", || {
        let members = members.to_vec();
        async move {
            for m in &members {
                if m.assignment().await.unwrap_or_default().is_empty() {
                    return false;
                }
            }
            true
        }
    })
    .await;
    // The share-partitions start when first fetched: give the fetches a moment.
    tokio::time::sleep(Duration::from_secs(1)).await;
}

async fn wait_seen(seen: &Seen, what: &str, f: impl Fn(&[(usize, i32, i64, i16)]) -> bool) {
    common::eventually(WAIT, what, || {
        let ok = f(&seen.lock().unwrap());
        async move { ok }
    })
    .await;
}

#[tokio::test]
async fn more_members_than_partitions_all_get_records_and_each_is_accepted_once() {
    if common::needs_kafka4("share groups, KIP-932").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "sh-spread", 2).await;
    let group = common::unique("sg-spread");
    let seen: Seen = Arc::default();
    let mut members = Vec::new();
    for id in 0..4 {
        members.push(member(&kafka, &group, &topic, id, &seen, accept_all).await);
    }
    joined(&members).await;
    produce_each(&kafka, &topic, 400, 2).await;
    wait_seen(&seen, "400 distinct records", |s| {
        s.iter()
            .map(|(_, p, o, _)| (*p, *o))
            .collect::<BTreeSet<_>>()
            .len()
            >= 400
    })
    .await;
    // Acknowledged work is not handed out again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = seen.lock().unwrap().clone();
    let mut per_record: BTreeMap<(i32, i64), usize> = BTreeMap::new();
    for (_, p, o, _) in &seen {
        *per_record.entry((*p, *o)).or_default() += 1;
    }
    assert!(
        per_record.values().all(|n| *n == 1),
        "a record was delivered twice"
    );
    let workers: BTreeSet<usize> = seen.iter().map(|(m, ..)| *m).collect();
    assert_eq!(
        workers.len(),
        4,
        "all four members got work on two partitions"
    );
    for m in &members {
        m.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_released_record_comes_back_with_a_higher_delivery_count_and_a_rejected_one_never() {
    if common::needs_kafka4("share groups, KIP-932").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "sh-release", 1).await;
    let group = common::unique("sg-release");
    let seen: Seen = Arc::default();
    let c = kafka
        .share_consumer(
            config(&group).acknowledgement_mode(kafkit::share::AcknowledgementMode::Explicit),
        )
        .unwrap();
    c.subscribe(&[&topic]).await.unwrap();
    let (c2, s2) = (c.clone(), seen.clone());
    tokio::spawn(async move {
        let acker = c2.clone();
        c2.run_each_message(move |r| {
            let (acker, s2) = (acker.clone(), s2.clone());
            async move {
                s2.lock()
                    .unwrap()
                    .push((0, r.partition, r.offset, r.delivery_count));
                let kind = match (r.value.as_deref(), r.delivery_count) {
                    (Some(b"release-once"), 1) => AcknowledgeType::Release,
                    (Some(b"reject"), _) => AcknowledgeType::Reject,
                    _ => AcknowledgeType::Accept,
                };
                acker.acknowledge(&r, kind).await
            }
        })
        .await
    });
    joined(std::slice::from_ref(&c)).await;
    let producer = kafka.producer(Default::default()).unwrap();
    for v in ["release-once", "reject", "plain"] {
        producer
            .send(kafkit::producer::Record::new(&topic, v.as_bytes()))
            .await
            .unwrap()
            .await
            .unwrap();
    }
    producer.close().await.unwrap();
    wait_seen(&seen, "the released record again, delivery 2", |s| {
        s.iter().any(|(_, _, o, d)| *o == 0 && *d == 2)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.iter().filter(|(_, _, o, _)| *o == 1).count(),
        1,
        "the rejected record never came back: {seen:?}"
    );
    assert_eq!(
        seen.iter().filter(|(_, _, o, _)| *o == 2).count(),
        1,
        "{seen:?}"
    );
    c.close().await.unwrap();
}

#[tokio::test]
async fn a_record_that_keeps_failing_is_archived_at_the_delivery_limit() {
    if common::needs_kafka4("share groups, KIP-932").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "sh-poison", 1).await;
    let group = common::unique("sg-poison");
    let seen: Seen = Arc::default();
    let c = member(&kafka, &group, &topic, 0, &seen, |v, _| {
        if v == "poison" {
            Err(Error::new(ErrorKind::Handler, "handler", "cannot process"))
        } else {
            Ok(())
        }
    })
    .await;
    joined(std::slice::from_ref(&c)).await;
    let producer = kafka.producer(Default::default()).unwrap();
    for v in ["poison", "fine"] {
        producer
            .send(kafkit::producer::Record::new(&topic, v.as_bytes()))
            .await
            .unwrap()
            .await
            .unwrap();
    }
    producer.close().await.unwrap();
    // The broker's group.share.delivery.count.limit is 5 by default.
    wait_seen(&seen, "the poison record five times", |s| {
        s.iter().filter(|(_, _, o, _)| *o == 0).count() >= 5
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let seen = seen.lock().unwrap().clone();
    let counts: Vec<i16> = seen
        .iter()
        .filter(|(_, _, o, _)| *o == 0)
        .map(|r| r.3)
        .collect();
    assert_eq!(
        counts,
        vec![1, 2, 3, 4, 5],
        "delivered until the limit, then archived"
    );
    c.close().await.unwrap();
}

#[tokio::test]
async fn records_a_dead_member_held_go_to_the_others_after_the_lock_timeout() {
    if common::needs_kafka4("share groups, KIP-932").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "sh-dead", 1).await;
    let group = common::unique("sg-dead");
    let seen: Seen = Arc::default();
    // The first member takes records and never finishes them (as a hung process would).
    let stuck = kafka.share_consumer(config(&group)).unwrap();
    stuck.subscribe(&[&topic]).await.unwrap();
    let s2 = seen.clone();
    let st = stuck.clone();
    let hung = tokio::spawn(async move {
        st.run_each_message(move |r| {
            s2.lock()
                .unwrap()
                .push((0, r.partition, r.offset, r.delivery_count));
            async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(())
            }
        })
        .await
    });
    joined(std::slice::from_ref(&stuck)).await;
    common::produce(&kafka, &topic, 20).await;
    wait_seen(&seen, "the stuck member took a record", |s| !s.is_empty()).await;
    let other = member(&kafka, &group, &topic, 1, &seen, accept_all).await;
    wait_seen(&seen, "all 20 handled by the other member", |s| {
        s.iter()
            .filter(|(m, ..)| *m == 1)
            .map(|(_, _, o, _)| *o)
            .collect::<BTreeSet<_>>()
            .len()
            == 20
    })
    .await;
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter().any(|(m, _, _, d)| *m == 1 && *d >= 2),
        "what the stuck member held came again, with a higher delivery count: {seen:?}"
    );
    hung.abort();
    other.close().await.unwrap();
}

#[tokio::test]
async fn a_java_share_consumer_shares_the_work_with_kafkit_members() {
    if common::needs_kafka4("share groups, KIP-932").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "sh-java", 2).await;
    let group = common::unique("sg-java");
    let seen: Seen = Arc::default();
    let k = member(&kafka, &group, &topic, 0, &seen, accept_all).await;
    let java = common::java_peer(&["share", &common::bootstrap(), &topic, &group, "40"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("java");
    // The Java member joins once its JVM is up: wait for two members in the group.
    common::eventually(
        Duration::from_secs(60),
        "the Java member in the group",
        || {
            let (kafka, group) = (kafka.clone(), group.clone());
            async move {
                kafka
                    .admin()
                    .describe_share_groups(&[&group])
                    .await
                    .ok()
                    .and_then(|d| d.into_iter().next())
                    .is_some_and(|g| g.members.len() == 2)
            }
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    produce_each(&kafka, &topic, 300, 2).await;
    let java_out = tokio::task::spawn_blocking(move || {
        let out = java.wait_with_output().expect("java output");
        String::from_utf8_lossy(&out.stdout).into_owned()
    });
    let java_out = tokio::time::timeout(Duration::from_secs(90), java_out)
        .await
        .expect("the Java member ends")
        .unwrap();
    let java_records: BTreeSet<(i32, i64)> = java_out
        .lines()
        .filter_map(|l| {
            let mut f = l.strip_prefix("REC ")?.split(' ');
            Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
        })
        .collect();
    let ours: BTreeSet<(i32, i64)> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, p, o, _)| (*p, *o))
        .collect();
    assert!(
        !java_records.is_empty() && !ours.is_empty(),
        "both did work: java {}, kafkit {} ({} handled)",
        java_records.len(),
        ours.len(),
        seen.lock().unwrap().len()
    );
    let all: BTreeSet<(i32, i64)> = java_records.union(&ours).copied().collect();
    assert_eq!(all.len(), 300, "every record handled by one of them");
    k.close().await.unwrap();
}

#[tokio::test]
async fn a_broker_without_share_groups_gives_an_error_naming_the_feature() {
    common::init_tracing();
    let bootstrap =
        std::env::var("KAFKIT_CLASSIC_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:19092".into());
    let kafka = Kafka::connect(kafkit::KafkaConfig::new([bootstrap]))
        .await
        .expect("the classic-only test broker (scripts/kafka up --profile classic)");
    let topic = common::topic(&kafka, "sh-off", 1).await;
    let c = kafka
        .share_consumer(config(&common::unique("sg-off")))
        .unwrap();
    let e = c.subscribe(&[&topic]).await.unwrap_err();
    assert!(e.to_string().contains("share.version"), "{e}");
}

#[tokio::test]
async fn explicit_acknowledgements_from_a_stream_are_committed_with_a_result_per_partition() {
    if common::needs_kafka4("share groups, KIP-932").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "sh-stream", 1).await;
    let group = common::unique("sg-stream");
    // The group starts at the beginning: records produced before anyone joined are read.
    common::produce(&kafka, &topic, 10).await;
    kafka
        .admin()
        .reset_share_group_offsets(&group, &topic, true)
        .await
        .unwrap();
    let c = kafka
        .share_consumer(
            config(&group).acknowledgement_mode(kafkit::share::AcknowledgementMode::Explicit),
        )
        .unwrap();
    c.subscribe(&[&topic]).await.unwrap();
    let mut stream = Box::pin(c.stream());
    let mut offsets = Vec::new();
    while offsets.len() < 10 {
        let r = tokio::time::timeout(WAIT, futures::StreamExt::next(&mut stream))
            .await
            .expect("a record")
            .unwrap()
            .unwrap();
        assert_eq!(r.delivery_count, 1);
        offsets.push(r.offset);
        c.acknowledge(&r, AcknowledgeType::Accept).await.unwrap();
        assert!(
            c.acknowledge(&r, AcknowledgeType::Reject).await.is_err(),
            "once per record"
        );
    }
    // Sent now, each partition's outcome reported.
    let results = c.commit().await.unwrap();
    assert_eq!(results.len(), 1, "{results:?}");
    assert!(results.iter().all(|(_, r)| r.is_ok()), "{results:?}");
    drop(stream);
    c.close().await.unwrap();
    assert_eq!(offsets, (0..10).collect::<Vec<_>>());
    // Accepted: a new member of the group gets none of them again.
    let seen: Seen = Arc::default();
    let again = member(&kafka, &group, &topic, 1, &seen, accept_all).await;
    joined(std::slice::from_ref(&again)).await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
    again.close().await.unwrap();
}

#[tokio::test]
async fn share_groups_are_listed_described_moved_and_deleted() {
    if common::needs_kafka4("share groups, KIP-932").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let admin = kafka.admin();
    let topic = common::topic(&kafka, "sh-admin", 2).await;
    let group = common::unique("sg-admin");
    common::produce(&kafka, &topic, 4).await;
    // A group nobody has joined yet can be started at the beginning.
    let set = admin
        .reset_share_group_offsets(&group, &topic, true)
        .await
        .unwrap();
    assert_eq!(
        set,
        vec![
            (kafkit::TopicPartition::new(&topic, 0), 0),
            (kafkit::TopicPartition::new(&topic, 1), 0)
        ]
    );
    let seen: Seen = Arc::default();
    let c = member(&kafka, &group, &topic, 0, &seen, accept_all).await;
    wait_seen(&seen, "the four records from the start", |s| s.len() >= 4).await;
    let d = &admin.describe_share_groups(&[&group]).await.unwrap()[0];
    assert_eq!(d.members.len(), 1, "{d:?}");
    assert_eq!(d.members[0].member_id, c.member_id());
    assert_eq!(d.members[0].subscribed_topics, vec![topic.clone()]);
    assert_eq!(d.members[0].assignment.len(), 2, "{d:?}");
    let listed = admin.list_groups(&[GroupType::Share], &[]).await.unwrap();
    assert!(listed.iter().any(|g| g.group_id == group), "{listed:?}");
    // Moving the start offsets needs the group without members.
    assert!(admin
        .alter_share_group_offsets(&group, &[(kafkit::TopicPartition::new(&topic, 0), 0)])
        .await
        .is_err());
    c.close().await.unwrap();
    admin.delete_groups(&[&group]).await.unwrap();
    assert!(!admin
        .list_groups(&[GroupType::Share], &[])
        .await
        .unwrap()
        .iter()
        .any(|g| g.group_id == group));
}

#[tokio::test]
async fn a_renewed_record_stays_with_its_member_past_the_lock_timeout() {
    if common::needs_kafka4("share groups, KIP-932").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "sh-renew", 1).await;
    let group = common::unique("sg-renew");
    common::produce(&kafka, &topic, 1).await;
    kafka
        .admin()
        .reset_share_group_offsets(&group, &topic, true)
        .await
        .unwrap();
    // A slow member: it takes the record, renews its lock every 2 s for 9 s (the test
    // broker's lock is 5 s), then accepts it.
    let slow = kafka.share_consumer(config(&group)).unwrap();
    slow.subscribe(&[&topic]).await.unwrap();
    let renewed = Arc::new(Mutex::new(Vec::new()));
    let (s2, r2) = (slow.clone(), renewed.clone());
    tokio::spawn(async move {
        let renewer = s2.clone();
        s2.run_each_message(move |r| {
            let (renewer, r2) = (renewer.clone(), r2.clone());
            async move {
                for _ in 0..4 {
                    tokio::time::sleep(Duration::from_millis(2250)).await;
                    let res = renewer.renew(&r).await;
                    r2.lock().unwrap().push(res.is_ok());
                }
                Ok(())
            }
        })
        .await
    });
    common::eventually(WAIT, "the slow member holds the record", || {
        let n = renewed.lock().unwrap().len();
        async move { n >= 1 }
    })
    .await;
    let seen: Seen = Arc::default();
    let other = member(&kafka, &group, &topic, 1, &seen, accept_all).await;
    common::eventually(WAIT, "four renewals", || {
        let n = renewed.lock().unwrap().len();
        async move { n >= 4 }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        *renewed.lock().unwrap(),
        vec![true; 4],
        "every renewal accepted"
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "the record never went to the other member: {:?}",
        seen.lock().unwrap()
    );
    let results = slow.commit().await.unwrap();
    assert!(results.iter().all(|(_, r)| r.is_ok()), "{results:?}");
    other.close().await.unwrap();
    slow.close().await.unwrap();
}

#[tokio::test]
async fn a_failed_batch_is_released_and_comes_back_once() {
    if common::needs_kafka4("share groups, KIP-932").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "sh-batch", 1).await;
    let group = common::unique("sg-batch");
    common::produce(&kafka, &topic, 5).await;
    kafka
        .admin()
        .reset_share_group_offsets(&group, &topic, true)
        .await
        .unwrap();
    let c = kafka.share_consumer(config(&group)).unwrap();
    c.subscribe(&[&topic]).await.unwrap();
    let seen: Arc<Mutex<Vec<(i64, i16)>>> = Arc::default();
    let (c2, s2) = (c.clone(), seen.clone());
    tokio::spawn(async move {
        c2.run_each_batch(move |batch| {
            let s2 = s2.clone();
            async move {
                let first = batch.records.iter().any(|r| r.delivery_count == 1);
                s2.lock()
                    .unwrap()
                    .extend(batch.records.iter().map(|r| (r.offset, r.delivery_count)));
                if first {
                    Err(Error::new(ErrorKind::Handler, "handler", "not yet"))
                } else {
                    Ok(())
                }
            }
        })
        .await
    });
    common::eventually(WAIT, "each record twice", || {
        let n = seen.lock().unwrap().len();
        async move { n >= 10 }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    let want: Vec<(i64, i16)> = (0..5).flat_map(|o| [(o, 1), (o, 2)]).collect();
    assert_eq!(
        seen, want,
        "released once, then accepted: never a third time"
    );
    c.close().await.unwrap();
}

/// ShareFetch v2's strict record limit (KIP-1206): one batch of 12 records is handed out at
/// most 3 at a time, where batch-optimized fetching would acquire it whole.
#[tokio::test]
async fn a_strict_record_limit_splits_a_batch() {
    if common::needs_kafka4("share groups, KIP-932").await {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "sh-limit", 1).await;
    // One batch: the producer lingers long enough to take all twelve.
    let producer = kafka
        .producer(kafkit::producer::ProducerConfig {
            linger: Duration::from_millis(500),
            ..Default::default()
        })
        .unwrap();
    let mut acks = Vec::new();
    for i in 0..12 {
        let v = format!("v{i}");
        acks.push(
            producer
                .send(kafkit::producer::Record::new(&topic, v.as_bytes()).partition(0))
                .await
                .unwrap(),
        );
    }
    for a in acks {
        a.await.unwrap();
    }
    producer.close().await.unwrap();
    let mut sizes = BTreeMap::new();
    for mode in [
        ShareAcquireMode::RecordLimit,
        ShareAcquireMode::BatchOptimized,
    ] {
        let group = common::unique("sg-limit");
        kafka
            .admin()
            .reset_share_group_offsets(&group, &topic, true)
            .await
            .unwrap();
        let mut c = config(&group).acquire_mode(mode);
        c.max_records = 3;
        let c = kafka.share_consumer(c).unwrap();
        c.subscribe(&[&topic]).await.unwrap();
        let batches: Arc<Mutex<Vec<Vec<i64>>>> = Arc::default();
        let (c2, b2) = (c.clone(), batches.clone());
        tokio::spawn(async move {
            c2.run_each_batch(move |batch| {
                b2.lock()
                    .unwrap()
                    .push(batch.records.iter().map(|r| r.offset).collect());
                async { Ok(()) }
            })
            .await
        });
        common::eventually(WAIT, "all twelve records", || {
            let n: usize = batches.lock().unwrap().iter().map(Vec::len).sum();
            async move { n >= 12 }
        })
        .await;
        c.close().await.unwrap();
        let batches = batches.lock().unwrap().clone();
        let mut offsets: Vec<i64> = batches.iter().flatten().copied().collect();
        offsets.sort();
        assert_eq!(
            offsets,
            (0..12).collect::<Vec<i64>>(),
            "{mode:?}: each record once"
        );
        sizes.insert(
            format!("{mode:?}"),
            batches.iter().map(Vec::len).max().unwrap_or(0),
        );
    }
    assert!(sizes["RecordLimit"] <= 3, "{sizes:?}");
    assert_eq!(
        sizes["BatchOptimized"], 12,
        "the batch is acquired whole: {sizes:?}"
    );
}
