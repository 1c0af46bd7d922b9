//! What recording metrics costs: one produce or consume run, with a Prometheus recorder
//! installed or none. `bench/run-metrics` alternates the two and writes the comparison to
//! docs/benchmarks.md.
//!
//! `cargo run --release -p kafkit --example metrics_cost -- none|prometheus produce|consume BOOTSTRAP TOPIC COUNT SIZE`
//! prints `RESULT <records> <seconds>`.

use std::time::{Duration, Instant};

use futures::StreamExt;
use kafkit::consumer::{ConsumerConfig, GroupProtocol};
use kafkit::producer::{ProducerConfig, Record};
use kafkit::{Kafka, KafkaConfig};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 7 {
        eprintln!("usage: metrics_cost none|prometheus produce|consume BOOTSTRAP TOPIC COUNT SIZE");
        std::process::exit(2);
    }
    let (recorder, scenario, bootstrap, topic) = (&args[1], &args[2], &args[3], &args[4]);
    let count: usize = args[5].parse().expect("COUNT");
    let size: usize = args[6].parse().expect("SIZE");
    let handle = match recorder.as_str() {
        // Installed without a listener: recording is what is measured, not serving.
        "prometheus" => {
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).expect("recorder");
            kafkit::metrics::describe();
            Some(handle)
        }
        "none" => None,
        other => panic!("unknown recorder {other}"),
    };
    let kafka = Kafka::connect(KafkaConfig::new(bootstrap.split(',')))
        .await
        .expect("connect");
    // The produce runs share one topic, which the consume runs then read.
    let _ = kafka
        .admin()
        .create_topics(&[kafkit::NewTopic::new(topic.as_str(), 1)])
        .await;
    let secs = match scenario.as_str() {
        "produce" => produce(&kafka, topic, count, size).await,
        "consume" => consume(&kafka, topic, count).await,
        other => panic!("unknown scenario {other}"),
    };
    if let Some(h) = handle {
        // One render, so the recorder's work is not optimised away and the output is checked.
        assert!(h.render().contains("kafka_client_request_total"));
    }
    println!("RESULT {count} {secs:.3}");
}

async fn produce(kafka: &Kafka, topic: &str, count: usize, size: usize) -> f64 {
    let producer = kafka.producer(ProducerConfig::default()).expect("producer");
    let value = vec![b'x'; size];
    let start = Instant::now();
    let mut pending = std::collections::VecDeque::new();
    for _ in 0..count {
        pending.push_back(
            producer
                .send(Record::new(topic, &value))
                .await
                .expect("send"),
        );
        if pending.len() > 100_000 {
            pending.pop_front().unwrap().await.expect("ack");
        }
    }
    for f in pending {
        f.await.expect("ack");
    }
    let secs = start.elapsed().as_secs_f64();
    producer.close().await.expect("close");
    secs
}

async fn consume(kafka: &Kafka, topic: &str, count: usize) -> f64 {
    let group = format!("metrics-cost-{}", std::process::id());
    let consumer = kafka
        .consumer(ConsumerConfig::new(group).group_protocol(GroupProtocol::Consumer))
        .expect("consumer");
    let start = Instant::now();
    consumer.subscribe(&[topic], true).await.expect("subscribe");
    let mut stream = Box::pin(consumer.stream());
    let mut n = 0;
    while n < count {
        match tokio::time::timeout(Duration::from_secs(60), stream.next()).await {
            Ok(Some(Ok(_))) => n += 1,
            _ => panic!("consume stopped after {n}"),
        }
    }
    let secs = start.elapsed().as_secs_f64();
    drop(stream);
    consumer.stop().await.expect("stop");
    secs
}
