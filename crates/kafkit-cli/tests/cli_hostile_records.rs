//! `kafkit consume` on a partition holding a batch no consumer can hold: a zstd batch of a few
//! hundred bytes whose one record carries a 72 MiB header value, past the default 64 MiB
//! prefetch budget. The records before it are printed, then the command fails (non-zero)
//! naming the partition, the offset, the cause and how to skip it, without holding the batch
//! in memory; `--offset` past it reads on. Before, it retried silently and exited 0.

use std::process::Command;
use std::time::Duration;

use kafkit::producer::{Compression, Header, ProducerConfig, Record};
use kafkit::{Kafka, KafkaConfig};

fn bootstrap() -> String {
    std::env::var("KAFKIT_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".to_string())
}

fn kafkit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kafkit"))
        .args(["--bootstrap", &bootstrap()])
        .args(args)
        .output()
        .expect("kafkit runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn consume_fails_clearly_at_a_batch_past_the_budget_and_reads_on_past_it() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let topic = format!("cli-bomb-{nanos:x}");
    let out = kafkit(&["topic", "create", &topic, "--partitions", "1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let kafka = Kafka::connect(KafkaConfig::new([bootstrap()]))
        .await
        .expect("connect");
    let plain = kafka.producer(ProducerConfig::default()).unwrap();
    plain
        .send(Record::new(&topic, b"before").partition(0))
        .await
        .unwrap()
        .await
        .unwrap();
    // Sizes are checked before compression; once compressed the batch is tiny.
    let mut config = ProducerConfig::default()
        .compression(Compression::Zstd)
        .linger(Duration::ZERO);
    config.max_request_size = 256 << 20;
    config.buffer_memory = 512 << 20;
    let bombs = kafka.producer(config).unwrap();
    let big = vec![0u8; 72 << 20];
    let headers = [Header {
        key: b"padding",
        value: Some(&big),
    }];
    bombs
        .send(Record::new(&topic, b"bomb").partition(0).headers(&headers))
        .await
        .unwrap()
        .await
        .unwrap();
    bombs.close().await.unwrap();
    plain
        .send(Record::new(&topic, b"after").partition(0))
        .await
        .unwrap()
        .await
        .unwrap();
    plain.close().await.unwrap();

    let out = kafkit(&["consume", "-t", &topic, "-P", "0", "--offset", "0"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "exit 0: {stdout} {stderr}");
    assert!(stdout.contains("before"), "{stdout}");
    assert!(!stdout.contains("after"), "{stdout}");
    let partition = format!("{topic}-0");
    for needle in [partition.as_str(), "offset 1", "max_prefetch_bytes", "seek"] {
        assert!(stderr.contains(needle), "no {needle:?} in: {stderr}");
    }
    // Past it, the record after.
    let out = kafkit(&[
        "consume",
        "-t",
        &topic,
        "-P",
        "0",
        "--offset",
        "2",
        "--max-records",
        "1",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("after"));
}
