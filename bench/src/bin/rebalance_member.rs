//! One group member for the rebalance benchmark (`bench/rebalance.py`), or its paced producer.
//!
//!   rebalance_member kafkit|rdkafka|krafka|confluent member BOOTSTRAP TOPIC GROUP
//!   rebalance_member kafkit member BOOTSTRAP TOPIC GROUP ASSIGNOR   (classic protocol)
//!   rebalance_member kafkit produce BOOTSTRAP TOPIC PARTITIONS RECORDS_PER_SEC_PER_PARTITION
//!   rebalance_member kafkit produce-count BOOTSTRAP TOPIC PARTITIONS TOTAL RECORDS_PER_SEC
//!   rebalance_member kafkit topic-create BOOTSTRAP TOPIC PARTITIONS | topic-delete BOOTSTRAP TOPIC
//!
//! `produce-count` (the churn benchmark's producer) writes TOTAL records round-robin over the
//! partitions at RECORDS_PER_SEC in all, waits for every acknowledgement, then prints
//! `END <partition> <end offset>` for each partition, `PRODUCED <ms> <total>` and `DONE <ms>`.
//!
//! Environment of a kafkit member: `KAFKIT_PEER_RESET=earliest` starts partitions without a
//! committed offset at the earliest one (as the Java member does with the same variable);
//! `KAFKIT_MEMBER_FLUSH=1` flushes every line at once (a member killed with SIGKILL then
//! never loses a line of a record it counted as processed); `KAFKIT_MEMBER_LOG=1` writes the
//! client's warnings to stderr (the churn benchmark counts failed commits there);
//! `KAFKIT_MEMBER_COMMITS=1` prints the member's commits and assignment changes (`COMMIT`,
//! `OCREQ`, `ASSIGN`: see `log_commits`).
//!
//! A member prints `SUB <ms>` just before it subscribes, `REC <ms> <partition> <offset>` for every
//! record, `STOP <ms>` when its stdin closes (the driver's signal to leave) and `DONE <ms>` once
//! it has left the group. Times are wall-clock milliseconds, comparable across processes.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use tokio::io::AsyncReadExt;

fn now_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()
}

/// Lines to stdout, flushed every 50 ms (a flush per record would distort the timing), or
/// every line with `KAFKIT_MEMBER_FLUSH=1`.
struct Out(std::io::BufWriter<std::io::Stdout>, u128, bool);

impl Out {
    fn new() -> Self {
        let each = std::env::var("KAFKIT_MEMBER_FLUSH").is_ok_and(|v| v == "1");
        Out(std::io::BufWriter::with_capacity(1 << 16, std::io::stdout()), 0, each)
    }
    fn line(&mut self, s: std::fmt::Arguments<'_>) {
        let _ = self.0.write_fmt(s);
        let _ = self.0.write_all(b"\n");
        let now = now_ms();
        if self.2 || now - self.1 > 50 {
            let _ = self.0.flush();
            self.1 = now;
        }
    }
    fn flush(&mut self) {
        let _ = self.0.flush();
    }
}

/// Resolves when stdin reaches end of file.
async fn stdin_closed() {
    let mut buf = [0u8; 64];
    let mut stdin = tokio::io::stdin();
    while let Ok(n) = stdin.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}

#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    match (a[1].as_str(), a[2].as_str()) {
        ("kafkit", "member") => kafkit_member(&a[3], &a[4], &a[5], a.get(6)).await,
        ("rdkafka", "member") => rd_member(&a[3], &a[4], &a[5]).await,
        ("krafka", "member") => krafka_member(&a[3], &a[4], &a[5]).await,
        ("confluent", "member") => confluent_member(&a[3], &a[4], &a[5]).await,
        ("kafkit", "produce") => {
            produce(&a[3], &a[4], a[5].parse().unwrap(), a[6].parse().unwrap()).await
        }
        ("kafkit", "topic-create") => {
            let kafka = kafkit::Kafka::connect(kafkit::KafkaConfig::new([&a[3]])).await.unwrap();
            kafka.admin().create_topic(&a[4], a[5].parse().unwrap()).await.unwrap();
        }
        ("kafkit", "topic-delete") => {
            let kafka = kafkit::Kafka::connect(kafkit::KafkaConfig::new([&a[3]])).await.unwrap();
            let _ = kafka.admin().delete_topics(&[&a[4]]).await;
        }
        ("kafkit", "produce-count") => {
            produce_count(
                &a[3],
                &a[4],
                a[5].parse().unwrap(),
                a[6].parse().unwrap(),
                a[7].parse().unwrap(),
            )
            .await
        }
        _ => panic!("usage: see the file header"),
    }
}

/// A kafkit member: KIP-848, or classic with `assignor` (range, roundrobin, cooperative-sticky).
async fn kafkit_member(bootstrap: &str, topic: &str, group: &str, assignor: Option<&String>) {
    use kafkit::consumer::{AutoOffsetReset, ConsumerConfig, GroupProtocol};
    if std::env::var("KAFKIT_MEMBER_LOG").is_ok_and(|v| v == "1") {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .init();
    }
    let kafka = kafkit::Kafka::connect(kafkit::KafkaConfig::new([bootstrap])).await.unwrap();
    if std::env::var("KAFKIT_MEMBER_COMMITS").is_ok_and(|v| v == "1") {
        log_commits(kafka.events());
    }
    let config = match assignor {
        None => ConsumerConfig::new(group).group_protocol(GroupProtocol::Consumer),
        Some(a) => ConsumerConfig::new(group)
            .group_protocol(GroupProtocol::Classic)
            .partition_assigners([a.as_str()]),
    };
    // KAFKIT_FETCH_SESSIONS=0: sessionless fetches, to compare with KIP-227 sessions (default).
    let config = config.fetch_sessions(std::env::var("KAFKIT_FETCH_SESSIONS").map_or(true, |v| v != "0"));
    let config = match std::env::var("KAFKIT_PEER_RESET").as_deref() {
        Ok("earliest") => config.auto_offset_reset(AutoOffsetReset::Earliest),
        _ => config,
    };
    let consumer = kafka.consumer(config).unwrap();
    let mut out = Out::new();
    out.line(format_args!("SUB {}", now_ms()));
    consumer.subscribe(&[topic], false).await.unwrap();
    let mut stream = Box::pin(consumer.stream());
    let stop = stdin_closed();
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            _ = &mut stop => break,
            m = stream.next() => match m {
                Some(Ok(m)) => out.line(format_args!("REC {} {} {}", now_ms(), m.partition, m.offset)),
                Some(Err(e)) => panic!("kafkit member: {e}"),
                None => break,
            },
            _ = tick.tick() => out.flush(),
        }
    }
    out.line(format_args!("STOP {}", now_ms()));
    out.flush();
    drop(stream);
    consumer.stop().await.unwrap();
    out.line(format_args!("DONE {}", now_ms()));
    out.flush();
}

/// Prints, from the client's events, `COMMIT <ms> p:o,...` for each successful offset commit
/// (when its answer came), `OCREQ <sent ms> <round trip ms>` for each OffsetCommit request and
/// `ASSIGN <ms> <epoch> +p,.. -p,..` for each heartbeat answer that changed the assignment.
/// Each line is flushed at once (one `write` of a whole line, so it never splits a `REC`).
fn log_commits(mut events: tokio::sync::broadcast::Receiver<kafkit::Event>) {
    use kafkit::Event;
    let parts = |v: &[(kafkit::TopicPartition, i64)]| {
        v.iter().map(|(tp, o)| format!("{}:{o}", tp.partition)).collect::<Vec<_>>().join(",")
    };
    let list = |v: &[kafkit::TopicPartition]| {
        v.iter().map(|tp| tp.partition.to_string()).collect::<Vec<_>>().join(",")
    };
    tokio::spawn(async move {
        loop {
            let line = match events.recv().await {
                Ok(Event::CommitOffsets { offsets, .. }) => {
                    format!("COMMIT {} {}\n", now_ms(), parts(&offsets))
                }
                Ok(Event::Request { api_key: 8, sent_at, duration, .. }) => {
                    let sent = sent_at.duration_since(UNIX_EPOCH).unwrap().as_millis();
                    format!("OCREQ {sent} {}\n", duration.as_millis())
                }
                Ok(Event::Heartbeat { member_epoch, added, removed, .. })
                    if !(added.is_empty() && removed.is_empty()) =>
                {
                    format!("ASSIGN {} {member_epoch} +{} -{}\n", now_ms(), list(&added), list(&removed))
                }
                Ok(_) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    format!("LAGGED {} {n}\n", now_ms())
                }
                Err(_) => return,
            };
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
    });
}

async fn rd_member(bootstrap: &str, topic: &str, group: &str) {
    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::Message;
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("group.protocol", "consumer")
        .set("auto.offset.reset", "latest")
        .create()
        .unwrap();
    let mut out = Out::new();
    out.line(format_args!("SUB {}", now_ms()));
    consumer.subscribe(&[topic]).unwrap();
    {
        let mut stream = consumer.stream();
        let stop = stdin_closed();
        tokio::pin!(stop);
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tokio::select! {
                _ = &mut stop => break,
                m = stream.next() => match m {
                    Some(Ok(m)) => out.line(format_args!("REC {} {} {}", now_ms(), m.partition(), m.offset())),
                    Some(Err(e)) => panic!("rdkafka member: {e}"),
                    None => break,
                },
                _ = tick.tick() => out.flush(),
            }
        }
    }
    out.line(format_args!("STOP {}", now_ms()));
    out.flush();
    consumer.unsubscribe();
    drop(consumer);
    out.line(format_args!("DONE {}", now_ms()));
    out.flush();
}

/// A flag set when stdin closes, with the wall-clock time it closed: for members whose poll
/// takes `&mut self` or may not be cancel safe, so they check between polls instead of racing.
fn stop_flag() -> std::sync::Arc<std::sync::atomic::AtomicU64> {
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let f = flag.clone();
    tokio::spawn(async move {
        stdin_closed().await;
        f.store(now_ms() as u64, std::sync::atomic::Ordering::SeqCst);
    });
    flag
}

async fn krafka_member(bootstrap: &str, topic: &str, group: &str) {
    use krafka::consumer::{AutoOffsetReset, GroupProtocol};
    let kafka = krafka::Kafka::builder(bootstrap).connect().await.unwrap();
    let consumer = kafka
        .consumer(group)
        .group_protocol(GroupProtocol::Consumer)
        .auto_offset_reset(AutoOffsetReset::Latest)
        .build()
        .await
        .unwrap();
    let mut out = Out::new();
    out.line(format_args!("SUB {}", now_ms()));
    consumer.subscribe([topic]).await.unwrap();
    let stop = stop_flag();
    let mut stopped = 0;
    while stopped == 0 {
        let batch = consumer.poll(Duration::from_millis(50)).await.unwrap();
        let t = now_ms();
        for r in &batch {
            out.line(format_args!("REC {} {} {}", t, r.partition, r.offset));
        }
        if batch.is_empty() {
            out.flush();
        }
        stopped = stop.load(std::sync::atomic::Ordering::SeqCst);
    }
    out.line(format_args!("STOP {stopped}"));
    out.flush();
    consumer.close().await.unwrap();
    out.line(format_args!("DONE {}", now_ms()));
    out.flush();
}

async fn confluent_member(bootstrap: &str, topic: &str, group: &str) {
    use confluent_kafka::common::serialization::BytesDeserializer;
    use confluent_kafka::consumer::{Consumer, ConsumerConfig, KafkaConsumer};
    let props: std::collections::HashMap<String, String> = [
        ("bootstrap.servers", bootstrap),
        ("group.id", group),
        ("group.protocol", "consumer"),
        ("auto.offset.reset", "latest"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let mut consumer = KafkaConsumer::<bytes::Bytes, bytes::Bytes>::new(
        ConsumerConfig::new(&props).unwrap(),
        BytesDeserializer::new(),
        BytesDeserializer::new(),
    )
    .unwrap();
    let mut out = Out::new();
    out.line(format_args!("SUB {}", now_ms()));
    consumer.subscribe_with_topics(vec![topic.to_string()]).await.unwrap();
    let stop = stop_flag();
    let mut stopped = 0;
    while stopped == 0 {
        let records = consumer.poll(Duration::from_millis(50)).await.unwrap();
        let t = now_ms();
        for r in &records {
            out.line(format_args!("REC {} {} {}", t, r.partition(), r.offset()));
        }
        if records.is_empty() {
            out.flush();
        }
        stopped = stop.load(std::sync::atomic::Ordering::SeqCst);
    }
    out.line(format_args!("STOP {stopped}"));
    out.flush();
    // Leaves the group (KIP-848 heartbeat with epoch -1), as Java's close does.
    consumer.close().await.unwrap();
    out.line(format_args!("DONE {}", now_ms()));
    out.flush();
}

/// Writes `rate` records per second to every partition, each partition in turn, until stdin
/// closes.
async fn produce(bootstrap: &str, topic: &str, partitions: i32, rate: u64) {
    use kafkit::producer::{ProducerConfig, Record};
    let kafka = kafkit::Kafka::connect(kafkit::KafkaConfig::new([bootstrap])).await.unwrap();
    let producer = kafka.producer(ProducerConfig::default()).unwrap();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    let stop = stdin_closed();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = tick.tick() => {
                for p in 0..partitions {
                    let _ = producer.send(Record::new(topic, b"r").partition(p)).await.unwrap();
                }
            }
        }
    }
    producer.close().await.unwrap();
}

/// Writes `total` records round-robin over the partitions at `rate` records per second in all,
/// waits for every acknowledgement, then prints each partition's end offset.
async fn produce_count(bootstrap: &str, topic: &str, partitions: i32, total: u64, rate: u64) {
    use kafkit::producer::{ProducerConfig, Record};
    let kafka = kafkit::Kafka::connect(kafkit::KafkaConfig::new([bootstrap])).await.unwrap();
    let producer = kafka.producer(ProducerConfig::default()).unwrap();
    // One record to each partition per tick.
    let per_tick = partitions as u64;
    let mut tick =
        tokio::time::interval(Duration::from_micros(1_000_000 * per_tick / rate.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut acks = Vec::with_capacity(total as usize);
    let mut sent = 0u64;
    let mut out = Out::new();
    out.line(format_args!("START {}", now_ms()));
    while sent < total {
        tick.tick().await;
        for p in 0..partitions {
            if sent == total {
                break;
            }
            acks.push(producer.send(Record::new(topic, b"r").partition(p)).await.unwrap());
            sent += 1;
        }
    }
    producer.flush().await.unwrap();
    let mut end = std::collections::BTreeMap::new();
    for a in acks {
        let m = a.await.unwrap();
        let e = end.entry(m.partition).or_insert(0i64);
        *e = (*e).max(m.offset + 1);
    }
    for (p, e) in end {
        out.line(format_args!("END {p} {e}"));
    }
    out.line(format_args!("PRODUCED {} {total}", now_ms()));
    producer.close().await.unwrap();
    out.line(format_args!("DONE {}", now_ms()));
    out.flush();
}
