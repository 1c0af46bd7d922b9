//! KIP-714 client telemetry against the real broker (its default profile has a telemetry
//! receiver, `java/TelemetrySink.java`, that writes every push to `telemetry.log`).

mod common;

use std::time::Duration;

use kafkit::admin::{AlterConfigOp, ConfigResource};
use kafkit::producer::{ProducerConfig, Record};
use kafkit::{Event, Kafka};

/// The receiver's log of the broker the tests run against, when it is this machine's.
fn sink_log() -> std::path::PathBuf {
    let state = std::env::var("KAFKIT_STATE")
        .unwrap_or_else(|_| format!("{}/../../.kafka", env!("CARGO_MANIFEST_DIR")));
    std::path::Path::new(&state).join("default/telemetry.log")
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Creates a client-metrics subscription for one client id; returns its resource name.
async fn subscribe(admin_kafka: &Kafka, client_id: &str) -> String {
    let name = common::unique("kafkit-sub");
    admin_kafka
        .admin()
        .incremental_alter_configs(
            &[(
                ConfigResource::client_metrics(&name),
                vec![
                    AlterConfigOp::set("metrics", "org.apache.kafka.producer."),
                    AlterConfigOp::set("interval.ms", "1000"),
                    AlterConfigOp::set("match", format!("client_id={client_id}")),
                ],
            )],
            false,
        )
        .await
        .expect("create the client-metrics subscription");
    name
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

#[tokio::test]
async fn a_subscribed_client_pushes_otlp_metrics_the_broker_accepts() {
    common::init_tracing();
    let admin_kafka = common::connect().await;
    let topic = common::topic(&admin_kafka, "telemetry", 1).await;
    let client_id = common::unique("kafkit-telemetry");
    let sub = subscribe(&admin_kafka, &client_id).await;
    // The subscription reaches the brokers through the metadata log.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let kafka = Kafka::connect(common::config().client_id(&client_id))
        .await
        .expect("connect");
    let mut events = kafka.events();
    produce_some(&kafka, &topic).await;
    let (mut pushes, mut accepted) = (0, 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while accepted < 2 {
        let ev = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("two accepted telemetry pushes within 30 s")
            .expect("events");
        match ev {
            Event::Request {
                api: "PushTelemetry",
                ..
            } => pushes += 1,
            Event::TelemetryPush {
                error_code, size, ..
            } => {
                assert_eq!(error_code, 0, "the broker refused a push");
                assert!(size > 0);
                accepted += 1;
            }
            _ => {}
        }
    }
    assert!(pushes >= 2, "PushTelemetry requests seen: {pushes}");
    unsubscribe(&admin_kafka, &sub).await;

    // What the broker's receiver got: OTLP with our client id and the subscribed names only.
    let log = sink_log();
    if log.exists() {
        let text = std::fs::read_to_string(&log).expect("telemetry log");
        let ours: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(&hex(&client_id)))
            .collect();
        assert!(
            !ours.is_empty(),
            "no push from {client_id} in {}",
            log.display()
        );
        let line = ours[ours.len() - 1];
        assert!(line.contains(" OTLP "), "{line}");
        assert!(line.contains(&hex("org.apache.kafka.producer.node.request.latency.avg")));
        assert!(line.contains(&hex("org.apache.kafka.producer.outgoing.byte.total")));
        assert!(!line.contains(&hex("org.apache.kafka.consumer.")));
    } else {
        eprintln!(
            "{} not found: the broker is not local; checked the answers only",
            log.display()
        );
    }
    kafka.close(Duration::from_secs(2)).await;
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
    kafka.close(Duration::from_secs(2)).await;
}
