//! Compression levels (KIP-390) against the real broker: the same records produced at gzip
//! level 1 and level 9 (zstd -5 and 19) take fewer bytes in the broker's log at the higher
//! level (the level reaches the wire, and the broker keeps the producer's batches as
//! written), and records produced at
//! non-default levels of gzip, lz4 and zstd are read back by kafkit's consumer and by the Java
//! client; with the `lz4-hc` feature, lz4's HC levels too (`cargo test -p kafkit --features
//! lz4-hc --test compression_levels`, which `scripts/test` runs). Needs the default broker
//! (`KAFKIT_BOOTSTRAP`) and a JDK (`scripts/kafka classpath`).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use kafkit::consumer::ConsumerConfig;
use kafkit::producer::{Compression, ProducerConfig, Record};
use kafkit::ErrorKind;

const RECORDS: usize = 2_000;

fn value(i: usize) -> String {
    format!(
        r#"{{"id":{i},"user":"user-{}","event":"{}","page":"/items/{}","ts":{},"ok":{}}}"#,
        i % 97,
        ["click", "view", "buy"][i % 3],
        i * 7 % 1000,
        1_700_000_000_000u64 + i as u64 * 13,
        i.is_multiple_of(2)
    )
}

/// Produces `RECORDS` JSON records to a new one-partition topic as one batch; the topic.
async fn produce(kafka: &kafkit::Kafka, prefix: &str, config: ProducerConfig) -> String {
    let topic = common::topic(kafka, prefix, 1).await;
    let producer = kafka
        .producer(config.linger(Duration::from_millis(500)))
        .expect("producer");
    let mut acks = Vec::new();
    for i in 0..RECORDS {
        let v = value(i);
        let k = format!("k{i}");
        acks.push(
            producer
                .send(Record::new(&topic, v.as_bytes()).key(k.as_bytes()))
                .await
                .expect("send"),
        );
    }
    for a in acks {
        a.await.expect("acknowledged");
    }
    producer.close().await.expect("close");
    topic
}

/// Bytes of the topic's partition 0 in the broker's log.
async fn log_size(kafka: &kafkit::Kafka, topic: &str) -> i64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let dirs = kafka
            .admin()
            .describe_log_dirs(&[])
            .await
            .expect("log dirs");
        let size: i64 = dirs
            .iter()
            .flat_map(|d| &d.partitions)
            .filter(|p| p.partition.topic == topic)
            .map(|p| p.size)
            .sum();
        if size > 0 {
            return size;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no log size for {topic}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reads the topic back with kafkit's consumer: value by offset.
async fn read_back(kafka: &kafkit::Kafka, topic: &str) -> BTreeMap<i64, String> {
    let c = kafka
        .consumer(
            ConsumerConfig::new(common::unique("g-level"))
                .group_protocol(common::group_protocol(kafka).await),
        )
        .expect("consumer");
    c.subscribe(&[topic], true).await.expect("subscribe");
    let mut stream = Box::pin(c.stream());
    let mut got = BTreeMap::new();
    while got.len() < RECORDS {
        let m = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("records in time")
            .expect("a record")
            .expect("no error");
        got.insert(
            m.offset,
            String::from_utf8(m.value.as_deref().unwrap_or_default().to_vec()).unwrap(),
        );
    }
    drop(stream);
    c.stop().await.expect("stop");
    got
}

#[tokio::test]
async fn a_chosen_level_reaches_the_broker_and_is_read_back_by_kafkit_and_java() {
    common::init_tracing();
    let kafka = common::connect().await;
    let gzip = |level| {
        ProducerConfig::default()
            .compression(Compression::Gzip)
            .compression_level(Compression::Gzip, level)
    };
    let fast = produce(&kafka, "level-gzip1", gzip(1)).await;
    let best = produce(&kafka, "level-gzip9", gzip(9)).await;
    let (fast_size, best_size) = (log_size(&kafka, &fast).await, log_size(&kafka, &best).await);
    assert!(
        best_size < fast_size,
        "gzip level 9 ({best_size} bytes in the log) must be smaller than level 1 ({fast_size})"
    );

    // zstd honours its levels too: 19 against -5.
    let zstd_at = |level| {
        ProducerConfig::default()
            .compression(Compression::Zstd)
            .compression_level(Compression::Zstd, level)
    };
    let zstd_fast = produce(&kafka, "level-zstd-5", zstd_at(-5)).await;
    let zstd = produce(&kafka, "level-zstd19", zstd_at(19)).await;
    let (zfast_size, zbest_size) = (
        log_size(&kafka, &zstd_fast).await,
        log_size(&kafka, &zstd).await,
    );
    eprintln!(
        "log bytes: gzip 1 {fast_size}, gzip 9 {best_size}, zstd -5 {zfast_size}, zstd 19 {zbest_size}"
    );
    assert!(
        zbest_size < zfast_size,
        "zstd level 19 ({zbest_size} bytes in the log) must be smaller than level -5 ({zfast_size})"
    );

    // Non-default levels of each codec with levels (lz4 at level 1: liblz4's HC with the
    // `lz4-hc` feature, the fast compressor without) are valid batches for every reader.
    let lz4 = produce(
        &kafka,
        "level-lz4",
        ProducerConfig::default()
            .compression(Compression::Lz4)
            .compression_level(Compression::Lz4, 1),
    )
    .await;
    for topic in [&best, &zstd, &lz4] {
        read_by_kafkit_and_java(&kafka, topic).await;
    }
}

/// kafkit's consumer and the Java client read back exactly the records `produce` wrote.
async fn read_by_kafkit_and_java(kafka: &kafkit::Kafka, topic: &str) {
    let expected: BTreeMap<i64, String> = (0..RECORDS).map(|i| (i as i64, value(i))).collect();
    assert_eq!(
        read_back(kafka, topic).await,
        expected,
        "kafkit read of {topic}"
    );
    // The Java client reads exactly what was written ("partition offset key value", hex).
    let out = common::java_peer(&[
        "read",
        &common::bootstrap(),
        topic,
        &RECORDS.to_string(),
        "60000",
    ])
    .output()
    .expect("java (install a JDK 17+)");
    assert!(
        out.status.success(),
        "the Java client could not read {topic}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = String::from_utf8_lossy(&out.stdout);
    let java: Vec<&str> = lines.lines().collect();
    assert_eq!(java.len(), RECORDS, "Java read of {topic}");
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    for (i, line) in java.iter().enumerate() {
        assert!(
            line.contains(&hex(&value(i))),
            "Java read of {topic}: record {i} is {line}"
        );
    }
}

/// With the `lz4-hc` feature an lz4 level other than the default (9) is liblz4's HC
/// compressor, as in the Java client: the batches are smaller in the broker's log (which
/// validated them) and kafkit's consumer and the Java client read them back.
#[cfg(feature = "lz4-hc")]
#[tokio::test]
async fn lz4_hc_levels_reach_the_broker_and_are_read_back_by_kafkit_and_java() {
    common::init_tracing();
    let kafka = common::connect().await;
    let lz4_at = |level| {
        ProducerConfig::default()
            .compression(Compression::Lz4)
            .compression_level(Compression::Lz4, level)
    };
    let fast = produce(&kafka, "level-lz4-9", lz4_at(9)).await;
    let hc = produce(&kafka, "level-lz4-12", lz4_at(12)).await;
    let (fast_size, hc_size) = (log_size(&kafka, &fast).await, log_size(&kafka, &hc).await);
    eprintln!("log bytes: lz4 9 (fast) {fast_size}, lz4 12 (HC) {hc_size}");
    assert!(
        hc_size < fast_size,
        "lz4 level 12 ({hc_size} bytes in the log) must be smaller than the default 9 ({fast_size})"
    );
    for topic in [&fast, &hc] {
        read_by_kafkit_and_java(&kafka, topic).await;
    }
}

#[test]
fn an_out_of_range_level_is_a_config_error_naming_the_option_and_range() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let kafka = common::connect().await;
        let refused = kafka.producer(
            ProducerConfig::default()
                .compression(Compression::Zstd)
                .compression_level(Compression::Zstd, 23),
        );
        let Err(e) = refused else {
            panic!("zstd level 23 was accepted")
        };
        assert_eq!(e.kind(), &ErrorKind::Config);
        let m = e.to_string();
        assert!(
            m.contains("compression.zstd.level 23 is out of range: zstd takes -131072..=22"),
            "{m}"
        );
    });
}
