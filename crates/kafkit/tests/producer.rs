//! The producer against the real broker, with the Java client as the judge of wire
//! compatibility (codecs, partitioning).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::StreamExt;
use kafkit::consumer::ConsumerConfig;
use kafkit::producer::partitioner::partition_for_key;
use kafkit::producer::Compression;
use kafkit::producer::{Acks, Header, ProducerConfig, Record};
use kafkit::{ErrorKind, NewTopic};

fn hex(b: Option<&[u8]>) -> String {
    match b {
        None => "-".into(),
        Some([]) => "~".into(),
        Some(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
    }
}

/// Runs the Java peer's `read` and returns its lines.
fn java_read(topic: &str, count: usize) -> Vec<String> {
    let out = common::java_peer(&[
        "read",
        &common::bootstrap(),
        topic,
        &count.to_string(),
        "60000",
    ])
    .output()
    .expect("java (install a JDK 17+)");
    assert!(
        out.status.success(),
        "the Java client could not read {topic}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn keyed_records_land_on_the_java_clients_partition_in_order() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "p-keys", 6).await;
    let producer = kafka.producer(ProducerConfig::default()).unwrap();
    let keys: Vec<String> = (0..60).map(|i| format!("customer-{i}")).collect();
    let mut acks = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let v = format!("v{i}");
        acks.push(
            producer
                .send(Record::new(&topic, v.as_bytes()).key(k.as_bytes()))
                .await
                .unwrap(),
        );
    }
    let mut metas = Vec::new();
    for a in acks {
        metas.push(a.await.unwrap());
    }
    let mut args = vec!["partition", "6"];
    args.extend(keys.iter().map(String::as_str));
    let out = common::java_peer(&args).output().expect("java");
    let java: Vec<i32> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(java.len(), keys.len());
    let mut last: BTreeMap<i32, i64> = BTreeMap::new();
    for ((m, k), j) in metas.iter().zip(&keys).zip(&java) {
        assert_eq!(
            m.partition, *j,
            "key {k}: kafkit chose {}, Java {j}",
            m.partition
        );
        assert_eq!(partition_for_key(k.as_bytes(), 6), *j);
        // Acknowledged in send order within a partition, offsets dense.
        let prev = last.insert(m.partition, m.offset);
        assert_eq!(
            m.offset,
            prev.map_or(0, |p| p + 1),
            "partition {}",
            m.partition
        );
        // A fresh topic still keeps its first record: the log starts at 0.
        assert_eq!(m.log_start_offset, 0, "{m:?}");
    }
    producer.close().await.unwrap();
}

#[tokio::test]
async fn every_codec_is_read_back_by_the_java_client_and_by_kafkit() {
    common::init_tracing();
    let kafka = common::connect().await;
    for codec in [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let topic = common::topic(&kafka, &format!("p-codec-{codec:?}").to_lowercase(), 2).await;
        let producer = kafka
            .producer(
                ProducerConfig::default()
                    .compression(codec)
                    .linger(Duration::from_millis(20)),
            )
            .unwrap();
        let headers = [
            Header {
                key: b"trace",
                value: Some(b"t1".as_slice()),
            },
            Header {
                key: b"trace",
                value: Some(b"t2".as_slice()),
            },
            Header {
                key: b"empty",
                value: None,
            },
        ];
        let big = vec![b'x'; 5000];
        let mut expected = BTreeMap::new();
        let mut acks = Vec::new();
        for i in 0..30 {
            let key = format!("k{i}");
            let value = format!("value {i} {}", "compressible ".repeat(i % 7));
            let rec = match i % 5 {
                0 => Record::tombstone(&topic, key.as_bytes()),
                1 => Record::new(&topic, value.as_bytes()),
                2 => Record::new(&topic, value.as_bytes())
                    .key(key.as_bytes())
                    .headers(&headers),
                3 => Record::new(&topic, &big).key(key.as_bytes()),
                _ => Record::new(&topic, b"").key(key.as_bytes()),
            };
            let line_rest = format!(
                "{} {} {}",
                hex(rec.key),
                hex(rec.value),
                if rec.headers.is_empty() {
                    "-".to_string()
                } else {
                    rec.headers
                        .iter()
                        .map(|h| format!("{}={}", hex(Some(h.key)), hex(h.value)))
                        .collect::<Vec<_>>()
                        .join(",")
                }
            );
            acks.push((producer.send(rec).await.unwrap(), line_rest));
        }
        for (a, rest) in acks {
            let m = a.await.unwrap();
            expected.insert(format!("{} {}", m.partition, m.offset), rest);
        }
        producer.close().await.unwrap();

        // The Java client reads exactly what was written.
        let lines = java_read(&topic, expected.len());
        let java: BTreeMap<String, String> = lines
            .iter()
            .map(|l| {
                let mut parts = l.splitn(3, ' ');
                let po = format!("{} {}", parts.next().unwrap(), parts.next().unwrap());
                (po, parts.next().unwrap().to_string())
            })
            .collect();
        assert_eq!(java, expected, "codec {codec:?}");

        // And kafkit's consumer decodes it too.
        let c = kafka
            .consumer(
                ConsumerConfig::new(common::unique("g-codec"))
                    .group_protocol(common::group_protocol(&kafka).await),
            )
            .unwrap();
        c.subscribe(&[&topic], true).await.unwrap();
        let mut stream = Box::pin(c.stream());
        let mut mine = BTreeMap::new();
        while mine.len() < expected.len() {
            let m = tokio::time::timeout(Duration::from_secs(30), stream.next())
                .await
                .expect("records")
                .unwrap()
                .unwrap();
            let headers = if m.headers.is_empty() {
                "-".to_string()
            } else {
                m.headers
                    .iter()
                    .map(|h| format!("{}={}", hex(Some(&h.key)), hex(h.value.as_deref())))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            mine.insert(
                format!("{} {}", m.partition, m.offset),
                format!(
                    "{} {} {}",
                    hex(m.key.as_deref()),
                    hex(m.value.as_deref()),
                    headers
                ),
            );
        }
        assert_eq!(mine, expected, "kafkit read of codec {codec:?}");
        drop(stream);
        c.stop().await.unwrap();
    }
}

#[tokio::test]
async fn twenty_thousand_lz4_records_are_written_once_each_with_dense_offsets() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "p-many", 3).await;
    let producer = kafka
        .producer(ProducerConfig::default().compression(Compression::Lz4))
        .unwrap();
    let mut acks = Vec::new();
    for i in 0..20_000u32 {
        let v = i.to_be_bytes();
        acks.push(producer.send(Record::new(&topic, &v)).await.unwrap());
    }
    let mut offsets: BTreeMap<i32, BTreeSet<i64>> = BTreeMap::new();
    for a in acks {
        let m = a.await.unwrap();
        assert!(
            offsets.entry(m.partition).or_default().insert(m.offset),
            "offset acknowledged twice"
        );
    }
    producer.close().await.unwrap();
    for (p, set) in &offsets {
        assert_eq!(
            *set.iter().next_back().unwrap() + 1,
            set.len() as i64,
            "partition {p} offsets not dense"
        );
    }
    let c = kafka
        .consumer(
            ConsumerConfig::new(common::unique("g-many"))
                .group_protocol(common::group_protocol(&kafka).await),
        )
        .unwrap();
    c.subscribe(&[&topic], true).await.unwrap();
    let mut stream = Box::pin(c.stream());
    let mut values = BTreeSet::new();
    while values.len() < 20_000 {
        let m = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("records")
            .unwrap()
            .unwrap();
        let v = u32::from_be_bytes(m.value.as_deref().unwrap().try_into().unwrap());
        assert!(values.insert(v), "value {v} read twice");
    }
    drop(stream);
    c.stop().await.unwrap();
}

#[tokio::test]
async fn acks_leader_and_none_deliver() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "p-acks", 1).await;
    for acks in [Acks::Leader, Acks::None] {
        let producer = kafka
            .producer(ProducerConfig::default().acks(acks).idempotence(false))
            .unwrap();
        for _ in 0..10 {
            producer
                .send(Record::new(&topic, b"x"))
                .await
                .unwrap()
                .await
                .unwrap();
        }
        producer.close().await.unwrap();
    }
    let lines = java_read(&topic, 20);
    assert_eq!(lines.len(), 20);
}

#[tokio::test]
async fn too_large_records_fail_with_a_clear_error() {
    common::init_tracing();
    let kafka = common::connect().await;
    let name = common::unique("p-large");
    kafka
        .admin()
        .create_topics(&[NewTopic::new(&name, 1).config("max.message.bytes", "1000")])
        .await
        .unwrap();
    let producer = kafka.producer(ProducerConfig::default()).unwrap();
    // Larger than the topic allows: the broker refuses it with MESSAGE_TOO_LARGE.
    let big = vec![7u8; 5000];
    let e = producer
        .send(Record::new(&name, &big))
        .await
        .unwrap()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("MESSAGE_TOO_LARGE"), "{e}");
    // Larger than max_request_size: refused before it is sent.
    let huge = vec![7u8; 2 * 1024 * 1024];
    let e = producer.send(Record::new(&name, &huge)).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::TooLarge);
    assert!(e.to_string().contains("max_request_size"), "{e}");
    // The producer still works afterwards.
    producer
        .send(Record::new(&name, b"small"))
        .await
        .unwrap()
        .await
        .unwrap();
    producer.close().await.unwrap();
}

#[tokio::test]
async fn an_unknown_topic_fails_after_max_block() {
    common::init_tracing();
    let kafka = common::connect().await;
    let producer = kafka
        .producer(ProducerConfig::default().max_block(Duration::from_secs(2)))
        .unwrap();
    let started = std::time::Instant::now();
    let missing = common::unique("p-missing");
    let e = producer
        .send(Record::new(&missing, b"x"))
        .await
        .unwrap_err();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(20),
        "waited {waited:?}: {e}"
    );
    let text = e.to_string();
    assert!(
        text.contains(&missing) && text.contains("UNKNOWN_TOPIC_OR_PARTITION"),
        "{text}"
    );
}

#[tokio::test]
async fn a_send_waits_for_buffer_memory_and_fails_clearly_when_it_never_frees() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "p-memory", 1).await;
    let config = ProducerConfig::default()
        .buffer_memory(64 * 1024)
        .max_block(Duration::from_millis(500))
        .linger(Duration::from_secs(30))
        .batch_size(64 * 1024);
    let producer = kafka.producer(config).unwrap();
    // A long linger keeps the first records in an open batch, so the buffer fills up.
    let value = vec![1u8; 10 * 1024];
    let mut pending = Vec::new();
    let mut failure = None;
    for _ in 0..10 {
        match producer.send(Record::new(&topic, &value)).await {
            Ok(f) => pending.push(f),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let e = failure.expect("a send beyond buffer_memory fails after max_block");
    assert!(matches!(e.kind(), ErrorKind::Timeout(_)), "{e:?}");
    assert!(e.to_string().contains("buffer_memory"), "{e}");
    // What was accepted is still delivered.
    producer.flush().await.unwrap();
    for f in pending {
        f.await.unwrap();
    }
    producer.close().await.unwrap();
}
