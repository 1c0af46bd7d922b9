//! The `confluent-kafka` peer (crates.io `confluent-kafka`, Confluent's Rust port of the Java
//! client; KIP-848 groups only): the same settings as the other clients, as Java-style properties.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use confluent_kafka::common::serialization::{ByteArraySerializer, BytesDeserializer};
use confluent_kafka::consumer::{Consumer, ConsumerConfig, KafkaConsumer};
use confluent_kafka::producer::{KafkaProducer, Producer, ProducerConfig, ProducerRecord};

fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub async fn produce(bootstrap: &str, topic: &str, count: usize, size: usize, codec: &str) -> f64 {
    // Default batch.size (16 KiB), as for the other clients.
    let config = ProducerConfig::new(&props(&[
        ("bootstrap.servers", bootstrap),
        ("acks", "all"),
        ("enable.idempotence", "true"),
        ("linger.ms", "5"),
        ("compression.type", codec),
    ]))
    .expect("confluent: producer config");
    let producer = KafkaProducer::<Vec<u8>, Vec<u8>>::new(config, ByteArraySerializer::new(), ByteArraySerializer::new())
        .expect("confluent: producer");
    let value = vec![b'x'; size];
    let start = Instant::now();
    let mut pending = VecDeque::new();
    for _ in 0..count {
        // The byte-slice `send` writes key and value straight into the batch (no serializer).
        let record = ProducerRecord::<&[u8], &[u8]>::new(topic.to_string(), Some(&value[..]));
        pending.push_back(producer.send(record, None).await.expect("confluent: send"));
        if pending.len() > 100_000 {
            pending.pop_front().unwrap().get().await.expect("confluent: delivery");
        }
    }
    for f in pending {
        f.get().await.expect("confluent: delivery");
    }
    let secs = start.elapsed().as_secs_f64();
    producer.close().await.expect("confluent: close");
    secs
}

pub async fn consume(bootstrap: &str, topic: &str, count: usize) -> f64 {
    let group = format!("bench-confluent-{}", std::process::id());
    let config = ConsumerConfig::new(&props(&[
        ("bootstrap.servers", bootstrap),
        ("group.id", &group),
        ("group.protocol", "consumer"),
        ("auto.offset.reset", "earliest"),
    ]))
    .expect("confluent: consumer config");
    // `Bytes` values are zero-copy slices of the fetch buffer (`Vec<u8>` would copy each one).
    let mut consumer = KafkaConsumer::<Bytes, Bytes>::new(config, BytesDeserializer::new(), BytesDeserializer::new())
        .expect("confluent: consumer");
    let start = Instant::now();
    consumer.subscribe_with_topics(vec![topic.to_string()]).await.expect("confluent: subscribe");
    let mut n = 0;
    let mut idle = Instant::now();
    while n < count {
        let records = consumer.poll(Duration::from_secs(1)).await.expect("confluent: poll");
        if records.is_empty() {
            assert!(idle.elapsed() < Duration::from_secs(60), "confluent consume stopped after {n}");
        } else {
            n += records.count();
            idle = Instant::now();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    consumer.close().await.expect("confluent: close");
    secs
}
