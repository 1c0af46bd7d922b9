//! KIP-714 client telemetry against the real broker (its default profile has a telemetry
//! receiver, `java/TelemetrySink.java`, that writes every push to `telemetry.log`): the
//! standard producer and consumer metrics, compressed with the broker's first codec, and the
//! terminating push on close.

mod common;

use std::time::Duration;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use kafkit::admin::{AlterConfigOp, ConfigResource};
use kafkit::consumer::{ConsumerConfig, GroupProtocol};
use kafkit::producer::{Compression, ProducerConfig, Record};
use kafkit::{Event, Kafka};
use tokio::sync::broadcast;

/// The receiver's log of the broker the tests run against, when it is this machine's.
fn sink_log() -> std::path::PathBuf {
    let state = std::env::var("KAFKIT_STATE")
        .unwrap_or_else(|_| format!("{}/../../.kafka", env!("CARGO_MANIFEST_DIR")));
    std::path::Path::new(&state).join("default/telemetry.log")
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

async fn unsubscribe(admin_kafka: &Kafka, name: &str) {
    let _ = admin_kafka
        .admin()
        .incremental_alter_configs(
            &[(
                ConfigResource::client_metrics(name),
                vec![
                    AlterConfigOp::delete("metrics"),
                    AlterConfigOp::delete("interval.ms"),
                    AlterConfigOp::delete("match"),
                ],
            )],
            false,
        )
        .await;
}

async fn produce_some(kafka: &Kafka, topic: &str) {
    let producer = kafka.producer(ProducerConfig::default()).expect("producer");
    for i in 0..20 {
        let v = format!("v{i}");
        producer
            .send(Record::new(topic, v.as_bytes()))
            .await
            .expect("send");
    }
    producer.flush().await.expect("flush");
    producer.close().await.expect("close");
}

/// One push as the broker's receiver logged it.
struct SinkLine {
    terminating: bool,
    /// Payload bytes after the broker decompressed them.
    size: usize,
    hex: String,
}

/// The receiver's lines for `client_id` (`None`: the broker is not this machine's).
fn sink_lines(client_id: &str) -> Option<Vec<SinkLine>> {
    let log = sink_log();
    if !log.exists() {
        eprintln!(
            "{} not found: the broker is not local; checked the answers only",
            log.display()
        );
        return None;
    }
    let text = std::fs::read_to_string(&log).expect("telemetry log");
    let ours = text
        .lines()
        .filter(|l| l.contains(&hex(client_id)))
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            assert_eq!(f.len(), 5, "id terminating content-type size hex: {l}");
            SinkLine {
                terminating: f[1] == "true",
                size: f[3].parse().expect("size"),
                hex: f[4].to_string(),
            }
        })
        .collect();
    Some(ours)
}

/// Creates a client-metrics subscription for one client id and these metric prefixes.
async fn subscribe_to(admin_kafka: &Kafka, client_id: &str, metrics: &str) -> String {
    let name = common::unique("kafkit-sub");
    admin_kafka
        .admin()
        .incremental_alter_configs(
            &[(
                ConfigResource::client_metrics(&name),
                vec![
                    AlterConfigOp::set("metrics", metrics),
                    AlterConfigOp::set("interval.ms", "1000"),
                    AlterConfigOp::set("match", format!("client_id={client_id}")),
                ],
            )],
            false,
        )
        .await
        .expect("create the client-metrics subscription");
    // The subscription reaches the brokers through the metadata log.
    tokio::time::sleep(Duration::from_secs(2)).await;
    name
}

/// An accepted push, as the client reported it.
#[derive(Debug)]
struct Pushed {
    size: usize,
    compressed_size: usize,
    compression: Compression,
    terminating: bool,
}

/// Waits for `n` accepted pushes; fails on a refused one.
async fn accepted_pushes(events: &mut broadcast::Receiver<Event>, n: usize) -> Vec<Pushed> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while got.len() < n {
        let ev = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("{n} accepted telemetry pushes within 30 s: {got:?}"))
            .expect("events");
        if let Some(p) = pushed(ev) {
            got.push(p);
        }
    }
    got
}

fn pushed(ev: Event) -> Option<Pushed> {
    match ev {
        Event::TelemetryPush {
            error_code,
            size,
            compression,
            compressed_size,
            terminating,
            ..
        } => {
            assert_eq!(error_code, 0, "the broker refused a push");
            assert!(size > 0);
            Some(Pushed {
                size,
                compressed_size,
                compression,
                terminating,
            })
        }
        _ => None,
    }
}

/// Closes `kafka` and returns the pushes since, the terminating one last.
async fn close_and_collect(kafka: &Kafka, events: &mut broadcast::Receiver<Event>) -> Vec<Pushed> {
    let started = std::time::Instant::now();
    kafka.close(Duration::from_secs(10)).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "close waited its whole timeout"
    );
    let mut got = Vec::new();
    while let Ok(ev) = events.try_recv() {
        if let Some(p) = pushed(ev) {
            got.push(p);
        }
    }
    assert!(
        got.last().is_some_and(|p| p.terminating),
        "the last push on close is terminating: {got:?}"
    );
    assert_eq!(got.iter().filter(|p| p.terminating).count(), 1, "{got:?}");
    got
}

#[tokio::test]
async fn a_subscribed_producer_pushes_compressed_otlp_and_a_terminating_push_on_close() {
    common::init_tracing();
    let admin_kafka = common::connect().await;
    let topic = common::topic(&admin_kafka, "telemetry", 1).await;
    let client_id = common::unique("kafkit-telemetry");
    let sub = subscribe_to(&admin_kafka, &client_id, "org.apache.kafka.producer.").await;

    let kafka = Kafka::connect(common::config().client_id(&client_id))
        .await
        .expect("connect");
    let mut events = kafka.events();
    produce_some(&kafka, &topic).await;
    let mut pushes = accepted_pushes(&mut events, 2).await;
    pushes.extend(close_and_collect(&kafka, &mut events).await);
    unsubscribe(&admin_kafka, &sub).await;
    for p in &pushes {
        // Kafka 4.x accepts zstd, lz4, gzip and snappy, in that order: the first one it is.
        assert_eq!(p.compression, Compression::Zstd, "{p:?}");
        assert!(
            p.compressed_size < p.size,
            "compression shrank nothing: {p:?}"
        );
    }

    // What the broker's receiver got: the decompressed OTLP, byte for byte the size the client
    // encoded, with our client id and the subscribed names only; the close's push last.
    let Some(lines) = sink_lines(&client_id) else {
        return;
    };
    assert_eq!(
        lines.iter().map(|l| l.size).collect::<Vec<_>>(),
        pushes.iter().map(|p| p.size).collect::<Vec<_>>(),
        "the receiver's payload sizes are the client's, uncompressed"
    );
    assert_eq!(
        lines.iter().map(|l| l.terminating).collect::<Vec<_>>(),
        pushes.iter().map(|p| p.terminating).collect::<Vec<_>>(),
    );
    let last = &lines[lines.len() - 1].hex;
    for name in [
        "org.apache.kafka.producer.node.request.latency.avg",
        "org.apache.kafka.producer.node.request.latency.max",
        "org.apache.kafka.producer.connection.creation.rate",
        "org.apache.kafka.producer.connection.creation.total",
        "org.apache.kafka.producer.record.queue.time.avg",
        "org.apache.kafka.producer.record.queue.time.max",
        "org.apache.kafka.producer.produce.throttle.time.avg",
        "org.apache.kafka.producer.produce.throttle.time.max",
        "org.apache.kafka.producer.outgoing.byte.total",
    ] {
        assert!(
            last.contains(&hex(name)),
            "{name} missing from the last push"
        );
    }
    assert!(!last.contains(&hex("org.apache.kafka.consumer.")));
}

#[tokio::test]
async fn a_subscribed_consumer_pushes_the_consumer_metrics() {
    common::init_tracing();
    let admin_kafka = common::connect().await;
    let topic = common::topic(&admin_kafka, "telemetry-consumer", 2).await;
    common::produce(&admin_kafka, &topic, 10).await;
    let client_id = common::unique("kafkit-telemetry-c");
    let sub = subscribe_to(&admin_kafka, &client_id, "org.apache.kafka.consumer.").await;

    let kafka = Kafka::connect(common::config().client_id(&client_id))
        .await
        .expect("connect");
    let mut events = kafka.events();
    let consumer = kafka
        .consumer(
            ConsumerConfig::new(common::unique("g-telemetry"))
                .group_protocol(GroupProtocol::Consumer)
                .max_wait(Duration::from_millis(200)),
        )
        .expect("consumer");
    consumer
        .subscribe(&[&topic], true)
        .await
        .expect("subscribe");
    let read = Arc::new(AtomicUsize::new(0));
    let (c, r) = (consumer.clone(), read.clone());
    let running = tokio::spawn(async move {
        c.run_each_message(move |_| {
            let r = r.clone();
            async move {
                r.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .await
    });
    common::eventually(Duration::from_secs(30), "every record read", || {
        let r = read.clone();
        async move { r.load(Ordering::SeqCst) >= 10 }
    })
    .await;
    consumer.commit().await.expect("commit");
    // Pushes that saw the records, the join and the commit.
    let _ = accepted_pushes(&mut events, 2).await;
    consumer.stop().await.expect("stop");
    let _ = running.await;
    close_and_collect(&kafka, &mut events).await;
    unsubscribe(&admin_kafka, &sub).await;

    let Some(lines) = sink_lines(&client_id) else {
        return;
    };
    let all: String = lines.iter().map(|l| l.hex.as_str()).collect();
    for name in [
        "org.apache.kafka.consumer.connection.creation.rate",
        "org.apache.kafka.consumer.node.request.latency.avg",
        "org.apache.kafka.consumer.poll.idle.ratio.avg",
        "org.apache.kafka.consumer.coordinator.commit.latency.avg",
        "org.apache.kafka.consumer.coordinator.commit.latency.max",
        "org.apache.kafka.consumer.coordinator.assigned.partitions",
        "org.apache.kafka.consumer.coordinator.rebalance.latency.avg",
        "org.apache.kafka.consumer.coordinator.rebalance.latency.max",
        "org.apache.kafka.consumer.coordinator.rebalance.latency.total",
        "org.apache.kafka.consumer.fetch.manager.fetch.latency.avg",
        "org.apache.kafka.consumer.fetch.manager.records.consumed.total",
    ] {
        assert!(all.contains(&hex(name)), "{name} missing from every push");
    }
    assert!(!all.contains(&hex("org.apache.kafka.producer.")));
    assert!(lines.last().is_some_and(|l| l.terminating));
}

#[tokio::test]
async fn a_client_without_a_subscription_pushes_nothing() {
    common::init_tracing();
    let admin_kafka = common::connect().await;
    let topic = common::topic(&admin_kafka, "telemetry-none", 1).await;
    // No subscription matches this client id (the other test's matches only its own).
    let client_id = common::unique("kafkit-no-telemetry");
    let kafka = Kafka::connect(common::config().client_id(&client_id))
        .await
        .expect("connect");
    let mut events = kafka.events();
    produce_some(&kafka, &topic).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while let Ok(Ok(ev)) = tokio::time::timeout_at(deadline, events.recv()).await {
        match ev {
            Event::Request { api, .. } => assert_ne!(api, "PushTelemetry"),
            Event::TelemetryPush { .. } => panic!("pushed without a subscription"),
            _ => {}
        }
    }
    let log = sink_log();
    if log.exists() {
        let text = std::fs::read_to_string(&log).expect("telemetry log");
        assert!(!text.contains(&hex(&client_id)));
    }
    // Nothing subscribed, nothing to push on close: it does not wait.
    let started = std::time::Instant::now();
    kafka.close(Duration::from_secs(60)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    while let Ok(ev) = events.try_recv() {
        assert!(!matches!(ev, Event::TelemetryPush { .. }), "{ev:?}");
    }
}
