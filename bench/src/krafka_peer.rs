//! The `krafka` peer (pure Rust, crates.io `krafka`): the same settings as the other clients.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use krafka::consumer::{AutoOffsetReset, GroupProtocol};
use krafka::producer::Acks;
use krafka::{Compression, Kafka, Record};

fn compression(codec: &str) -> Compression {
    match codec {
        "none" => Compression::None,
        "gzip" => Compression::Gzip,
        "snappy" => Compression::Snappy,
        "lz4" => Compression::Lz4,
        "zstd" => Compression::Zstd,
        other => panic!("krafka: unknown codec {other}"),
    }
}

pub async fn produce(bootstrap: &str, topic: &str, count: usize, size: usize, codec: &str) -> f64 {
    let kafka = Kafka::builder(bootstrap).connect().await.expect("krafka: connect");
    // Default batch size (16 KiB); acks=all and idempotence are krafka's defaults, set anyway.
    let producer = kafka
        .producer()
        .acks(Acks::All)
        .idempotent(true)
        .linger(Duration::from_millis(5))
        .compression(compression(codec))
        .build()
        .await
        .expect("krafka: producer");
    // One shared buffer: `Bytes` clones are reference counts, as kafkit and rdkafka borrow.
    let value = Bytes::from(vec![b'x'; size]);
    let start = Instant::now();
    let mut pending = VecDeque::new();
    for _ in 0..count {
        // `enqueue` returns once the record is buffered (waiting for buffer memory when full).
        pending.push_back(producer.enqueue(Record::new(topic, value.clone())).await.expect("krafka: enqueue"));
        if pending.len() > 100_000 {
            assert!(pending.pop_front().unwrap().await.expect("krafka: delivery").is_persisted());
        }
    }
    for h in pending {
        assert!(h.await.expect("krafka: delivery").is_persisted());
    }
    let secs = start.elapsed().as_secs_f64();
    producer.close().await.expect("krafka: close");
    secs
}

pub async fn consume(bootstrap: &str, topic: &str, count: usize) -> f64 {
    let kafka = Kafka::builder(bootstrap).connect().await.expect("krafka: connect");
    let group = format!("bench-krafka-{}", std::process::id());
    let consumer = kafka
        .consumer(group)
        .group_protocol(GroupProtocol::Consumer)
        .auto_offset_reset(AutoOffsetReset::Earliest)
        .build()
        .await
        .expect("krafka: consumer");
    let start = Instant::now();
    consumer.subscribe([topic]).await.expect("krafka: subscribe");
    let mut n = 0;
    let mut idle = Instant::now();
    while n < count {
        // `poll` hands out a batch; `recv` would poll one record at a time.
        let batch = consumer.poll(Duration::from_secs(1)).await.expect("krafka: poll");
        if batch.is_empty() {
            assert!(idle.elapsed() < Duration::from_secs(60), "krafka consume stopped after {n}");
        } else {
            n += batch.len();
            idle = Instant::now();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    consumer.close().await.expect("krafka: close");
    secs
}
