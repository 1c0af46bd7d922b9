//! A broker stopped mid-session and started again: the client reconnects, the idempotent
//! producer writes every record exactly once across the outage, and group consumers of both
//! protocols (their coordinator gone and back) go on reading. This test runs its own broker
//! (`scripts/kafka --profile restart`, 127.0.0.1:29092) and stops it at the end.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use kafkit::consumer::{ConsumerConfig, GroupProtocol};
use kafkit::producer::{ProducerConfig, Record};
use kafkit::{Kafka, KafkaConfig, NewTopic};

const BOOTSTRAP: &str = "127.0.0.1:29092";

fn kafka_script(args: &[&str]) {
    let status = Command::new(format!("{}/scripts/kafka", common::repo()))
        .args(args)
        .args(["--profile", "restart"])
        .status()
        .expect("scripts/kafka");
    assert!(status.success(), "scripts/kafka {args:?} failed");
}

/// Stops (and deletes) the test's broker however the test ends.
struct Broker;
impl Drop for Broker {
    fn drop(&mut self) {
        let _ = Command::new(format!("{}/scripts/kafka", common::repo()))
            .args(["down", "--purge", "--profile", "restart"])
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_records_survive_a_broker_restart_exactly_once() {
    common::init_tracing();
    kafka_script(&["up"]);
    let _broker = Broker;
    let kafka = Kafka::connect(KafkaConfig::new([BOOTSTRAP]).client_id("kafkit-restart-test"))
        .await
        .unwrap();
    let topic = common::unique("r-restart");
    kafka
        .admin()
        .create_topics(&[NewTopic::new(&topic, 3)])
        .await
        .unwrap();

    const N: u32 = 6000;
    // Group members of both protocols, reading while the broker goes away and comes back.
    let mut members = Vec::new();
    for protocol in [GroupProtocol::Consumer, GroupProtocol::Classic] {
        let c = kafka
            .consumer(
                ConsumerConfig::new(common::unique("g-live"))
                    .group_protocol(protocol)
                    .heartbeat_interval(Duration::from_millis(500))
                    .session_timeout(Duration::from_secs(10)),
            )
            .unwrap();
        c.subscribe(&[&topic], true).await.unwrap();
        let seen: Arc<Mutex<BTreeSet<u32>>> = Arc::default();
        let (c2, s2) = (c.clone(), seen.clone());
        tokio::spawn(async move {
            c2.run_each_message(move |m| {
                let s = s2.clone();
                async move {
                    if let Some(v) = m.value.as_deref().and_then(|v| v.try_into().ok()) {
                        s.lock().unwrap().insert(u32::from_be_bytes(v));
                    }
                    Ok(())
                }
            })
            .await
        });
        members.push((protocol, c, seen));
    }
    let producer = kafka.producer(ProducerConfig::default()).unwrap();
    let (p2, t2) = (producer.clone(), topic.clone());
    let sending = tokio::spawn(async move {
        let mut acks = Vec::new();
        for i in 0..N {
            let v = i.to_be_bytes();
            acks.push(p2.send(Record::new(&t2, &v)).await.expect("send"));
            if i % 100 == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let mut failed = Vec::new();
        for a in acks {
            if let Err(e) = a.await {
                failed.push(e.to_string());
            }
        }
        failed
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Stop the broker mid-stream, and start it again on the same storage.
    tokio::task::spawn_blocking(|| {
        kafka_script(&["down"]);
        std::thread::sleep(Duration::from_secs(1));
        kafka_script(&["up", "--keep"]);
    })
    .await
    .unwrap();
    let failed = sending.await.unwrap();
    assert!(
        failed.is_empty(),
        "{} records failed, first: {:?}",
        failed.len(),
        failed.first()
    );
    producer.close().await.unwrap();

    for (protocol, c, seen) in &members {
        common::eventually(
            Duration::from_secs(60),
            &format!("the {protocol:?} member read all {N} records across the restart"),
            || {
                let n = seen.lock().unwrap().len();
                async move { n == N as usize }
            },
        )
        .await;
        c.stop().await.unwrap();
    }

    // The same handle reconnected: admin calls work again.
    assert!(kafka.admin().list_topics().await.unwrap().contains(&topic));

    let c = kafka
        .consumer(
            ConsumerConfig::new(common::unique("g-restart"))
                .group_protocol(GroupProtocol::Consumer),
        )
        .unwrap();
    c.subscribe(&[&topic], true).await.unwrap();
    let mut stream = Box::pin(c.stream());
    let mut count: BTreeMap<u32, usize> = BTreeMap::new();
    let mut total = 0;
    while total < N as usize {
        let m = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("records")
            .unwrap()
            .unwrap();
        *count
            .entry(u32::from_be_bytes(
                m.value.as_deref().unwrap().try_into().unwrap(),
            ))
            .or_default() += 1;
        total += 1;
    }
    // Nothing more behind them (a duplicate would show up here).
    let extra = tokio::time::timeout(Duration::from_secs(2), stream.next()).await;
    assert!(
        extra.is_err(),
        "more records than were sent: {:?}",
        extra.map(|m| m.map(|m| m.map(|m| m.offset)))
    );
    let twice: Vec<_> = count.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "written more than once: {twice:?}");
    assert_eq!(count.len(), N as usize);
    drop(stream);
    c.stop().await.unwrap();
}
