//! The cluster's transaction protocol changing under a transactional id: a broker formatted
//! with `transaction.version` 1 (KAFKIT_TRANSACTION_VERSION=1), upgraded to 2 (the Java Admin's
//! updateFeatures) while a producer runs. A producer on connections made after the upgrade (a
//! new `Kafka` handle) speaks V2 at once; the running one keeps V1 until it reconnects to its
//! coordinator (here: a broker restart), then bumps its epoch and moves to V2 at the end of the
//! transaction, as the Java client does. Every committed record is read once. This test runs its own broker
//! (`scripts/kafka --profile upgrade`, 127.0.0.1:29192 plus KAFKIT_PORT_OFFSET) and stops it at
//! the end.

mod common;

use std::process::Command;
use std::time::Duration;

use futures::StreamExt;
use kafkit::consumer::{ConsumerConfig, GroupProtocol, IsolationLevel};
use kafkit::producer::{Producer, ProducerConfig, Record, TransactionVersion};
use kafkit::{Kafka, KafkaConfig, NewTopic};

fn bootstrap() -> String {
    let offset: u16 = std::env::var("KAFKIT_PORT_OFFSET")
        .ok()
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    format!("127.0.0.1:{}", 29192 + offset)
}

fn kafka_script(args: &[&str]) {
    let status = Command::new(format!("{}/scripts/kafka", common::repo()))
        .args(args)
        .args(["--profile", "upgrade"])
        .env("KAFKIT_TRANSACTION_VERSION", "1")
        .status()
        .expect("scripts/kafka");
    assert!(status.success(), "scripts/kafka {args:?} failed");
}

/// Stops (and deletes) the test's broker however the test ends.
struct Broker;
impl Drop for Broker {
    fn drop(&mut self) {
        let _ = Command::new(format!("{}/scripts/kafka", common::repo()))
            .args(["down", "--purge", "--profile", "upgrade"])
            .status();
    }
}

async fn commit_values(p: &Producer, topic: &str, prefix: &str) {
    p.begin_transaction().unwrap();
    for i in 0..3 {
        p.send(Record::new(topic, format!("{prefix}-{i}").as_bytes()))
            .await
            .expect("send");
    }
    p.commit_transaction().await.expect("commit");
}

async fn epoch(kafka: &Kafka, id: &str) -> i16 {
    kafka.admin().describe_transactions(&[id]).await.unwrap()[0].producer_epoch
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_version_upgrade_is_followed_by_running_and_new_producers() {
    common::init_tracing();
    tokio::task::spawn_blocking(|| kafka_script(&["up"]))
        .await
        .unwrap();
    let _broker = Broker;
    let bootstrap = bootstrap();
    let kafka = Kafka::connect(KafkaConfig::new([bootstrap.as_str()]))
        .await
        .unwrap();
    assert_eq!(
        common::cluster_transaction_version(&kafka).await,
        TransactionVersion::V1
    );
    let topic = common::unique("txn-upgrade");
    kafka
        .admin()
        .create_topics(&[NewTopic::new(&topic, 2)])
        .await
        .unwrap();
    let id = common::unique("txn-upgrade");
    let old = kafka
        .producer(ProducerConfig::default().transactional_id(&id))
        .unwrap();
    old.init_transactions().await.unwrap();
    assert_eq!(old.transaction_version(), Some(TransactionVersion::V1));
    commit_values(&old, &topic, "v1").await;

    // The upgrade, by the Java Admin client.
    let b = bootstrap.clone();
    let out = tokio::task::spawn_blocking(move || {
        common::java_peer(&["feature", &b, "transaction.version", "2"])
            .output()
            .expect("java")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    common::eventually(Duration::from_secs(30), "transaction.version 2", || {
        let kafka = kafka.clone();
        async move { common::cluster_transaction_version(&kafka).await == TransactionVersion::V2 }
    })
    .await;

    // A producer on connections made now speaks V2. (Producers share their handle's
    // connections, and a connection keeps the features the broker announced when it was made:
    // hence a new handle.)
    let kafka2 = Kafka::connect(KafkaConfig::new([bootstrap.as_str()]))
        .await
        .unwrap();
    let fresh = kafka2
        .producer(ProducerConfig::default().transactional_id(common::unique("txn-fresh")))
        .unwrap();
    fresh.init_transactions().await.unwrap();
    assert_eq!(fresh.transaction_version(), Some(TransactionVersion::V2));
    commit_values(&fresh, &topic, "fresh").await;

    // The running producer still speaks V1 on its old connection, and that still works.
    commit_values(&old, &topic, "v1-after-upgrade").await;
    assert_eq!(old.transaction_version(), Some(TransactionVersion::V1));

    // A restart drops its connections: its next transaction (begun under V1) commits, then it
    // sees the new level on its new coordinator connection, bumps its epoch and moves to V2.
    tokio::task::spawn_blocking(|| {
        kafka_script(&["down"]);
        kafka_script(&["up", "--keep"]);
    })
    .await
    .unwrap();
    commit_values(&old, &topic, "across-restart").await;
    assert_eq!(old.transaction_version(), Some(TransactionVersion::V2));
    let before = epoch(&kafka, &id).await;
    commit_values(&old, &topic, "v2").await;
    assert_eq!(
        epoch(&kafka, &id).await,
        before + 1,
        "a V2 transaction end bumps the epoch"
    );

    // Everything committed, once.
    let c = kafka
        .consumer(
            ConsumerConfig::new(common::unique("g-upgrade"))
                .group_protocol(GroupProtocol::Consumer)
                .isolation_level(IsolationLevel::ReadCommitted),
        )
        .unwrap();
    c.subscribe(&[&topic], true).await.unwrap();
    let mut stream = Box::pin(c.stream());
    let mut got = Vec::new();
    while got.len() < 15 {
        let m = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of 15 records arrived: {got:?}", got.len()))
            .unwrap()
            .unwrap();
        got.push(String::from_utf8_lossy(m.value.as_deref().unwrap_or_default()).into_owned());
    }
    got.sort();
    let mut want: Vec<String> = ["across-restart", "fresh", "v1", "v1-after-upgrade", "v2"]
        .iter()
        .flat_map(|p| (0..3).map(move |i| format!("{p}-{i}")))
        .collect();
    want.sort();
    assert_eq!(got, want);
    drop(stream);
    c.stop().await.unwrap();
    old.close().await.unwrap();
    fresh.close().await.unwrap();
}
