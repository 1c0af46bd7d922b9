//! A share consumer on the three-node cluster (scripts/cluster) through a failure of its
//! partition's leader. Runs when KAFKIT_CLUSTER_BOOTSTRAP is set (scripts/test starts the
//! cluster); the node it freezes is brought back before the test ends.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::cluster::*;
use kafkit::cluster::CoordinatorType;
use kafkit::share::ShareConsumerConfig;
use kafkit::{Kafka, KafkaConfig};

/// The leader of the partition a share consumer reads hangs (SIGSTOP: socket open, no
/// answers) for the rest of the reading. The ShareFetch held by the frozen broker is given up
/// once metadata names a new leader (the fetch core's rule, which the group consumer follows
/// too), and the records come from the new leader. The request timeout is 120 s, so waiting
/// the frozen broker out would hold the member's close for two minutes; it closes within the
/// test's minute, while the broker is still frozen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_consumer_across_a_hung_partition_leader() {
    let Some((bootstrap, _serial)) = begin().await else {
        return;
    };
    common::init_tracing();
    let kafka = Kafka::connect(
        KafkaConfig::new(bootstrap.split(','))
            .client_id("kafkit-cluster-share")
            .request_timeout(Duration::from_secs(120)),
    )
    .await
    .expect("connect to the cluster");
    let topic = replicated_topic(&kafka, "share-hung").await;
    let group = common::unique("sg-hung");
    // A partition led by another broker than the group's coordinator: this test is about the
    // fetch path (a hung coordinator is the group tests' subject).
    // (On a fresh cluster `__consumer_offsets` may still be being created.)
    let mut coordinator = None;
    for _ in 0..60 {
        match kafka.find_coordinator(CoordinatorType::Group, &group).await {
            Ok(id) => {
                coordinator = Some(id);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
    let coordinator = coordinator.expect("the group's coordinator");
    let mut partition = None;
    for p in 0..3 {
        let leader = leader_of(&kafka, &topic, p).await;
        if leader != coordinator {
            partition = Some((p, leader));
            break;
        }
    }
    let (partition, victim) = partition.expect("a partition led away from the coordinator");
    let n = 3_000;
    let producer = kafka.producer(Default::default()).unwrap();
    // Batches of 10 records: the broker acquires whole batches, and one big batch would be
    // in the member's hands before the freeze.
    for chunk in (0..n).collect::<Vec<_>>().chunks(10) {
        let mut acks = Vec::new();
        for i in chunk {
            let value = i.to_string();
            let record = kafkit::producer::Record::new(topic.as_str(), value.as_bytes())
                .partition(partition);
            acks.push(producer.send(record).await.unwrap());
        }
        for a in acks {
            a.await.expect("record written");
        }
    }
    producer.close().await.unwrap();
    kafka
        .admin()
        .reset_share_group_offsets(&group, &topic, true)
        .await
        .expect("the share group starts at the earliest offset");

    let seen: Arc<Mutex<BTreeSet<i64>>> = Arc::default();
    // A few batches per fetch, so most records are fetched after the freeze.
    let mut config = ShareConsumerConfig::new(&group).max_wait(Duration::from_millis(200));
    config.max_records = 50;
    let c = kafka.share_consumer(config).unwrap();
    c.subscribe(&[topic.as_str()]).await.unwrap();
    let (c2, s2) = (c.clone(), seen.clone());
    let run = tokio::spawn(async move {
        c2.run_each_message(move |r| {
            s2.lock().unwrap().insert(r.offset);
            // Slow enough that the freeze falls in the middle of the reading.
            async {
                tokio::time::sleep(Duration::from_millis(3)).await;
                Ok(())
            }
        })
        .await
    });
    common::eventually(Duration::from_secs(60), "reading started", || {
        let got = seen.lock().unwrap().len();
        async move { got > 300 }
    })
    .await;
    let revive = Revive("cont", victim.to_string());
    cluster(&["stop", &victim.to_string()]);
    common::eventually(
        Duration::from_secs(60),
        "every record read while the old leader stays frozen",
        || {
            let got = seen.lock().unwrap().len();
            async move { got == n }
        },
    )
    .await;
    let offsets = seen.lock().unwrap().clone();
    assert_eq!(offsets, (0..n as i64).collect::<BTreeSet<_>>());
    // Closing waits for the fetches out: the one the frozen broker holds must have been given
    // up, or the close would wait for the 120 s request timeout.
    let closed = tokio::time::timeout(Duration::from_secs(60), c.close()).await;
    cluster(&["cont", &victim.to_string()]);
    drop(revive);
    assert!(
        closed.is_ok(),
        "the close waited on the fetch held by the frozen broker"
    );
    run.abort();
}
