//! Records any producer may write, however hostile, against the real broker: compressed
//! batches whose few hundred bytes inflate to megabytes (huge header values) must not take a
//! consumer's memory past its budget, and a batch too large for the budget stops only its own
//! partition, with an error the application sees and can seek past.
//!
//! The binary counts every allocation (a counting global allocator), so the consumer's peak
//! memory is measured, not guessed.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use kafkit::consumer::ConsumerConfig;
use kafkit::producer::{Compression, Header, ProducerConfig, Record};
use kafkit::{ErrorKind, Event, Kafka, TopicPartition};

struct Counting;

static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = NOW.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        NOW.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new > l.size() {
                let now = NOW.fetch_add(new - l.size(), Ordering::Relaxed) + new - l.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                NOW.fetch_sub(l.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The tests of this binary measure memory: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const MIB: usize = 1 << 20;

/// Writes, with an ordinary producer, one zstd batch per record to `partition`: a record
/// whose header value is `size` zero bytes (a few hundred bytes on the wire).
async fn write_bombs(kafka: &Kafka, topic: &str, partition: i32, size: usize, n: usize) {
    // Sizes are checked before compression: the batch is tiny once compressed.
    let mut config = ProducerConfig::default()
        .compression(Compression::Zstd)
        .linger(Duration::ZERO)
        .batch_size(1);
    config.max_request_size = 512 * MIB;
    config.buffer_memory = 1024 * MIB;
    let p = kafka.producer(config).expect("producer");
    let big = vec![0u8; size];
    let headers = [Header {
        key: b"padding",
        value: Some(&big),
    }];
    for i in 0..n {
        let value = format!("bomb-{i}");
        let ack = p
            .send(
                Record::new(topic, value.as_bytes())
                    .partition(partition)
                    .headers(&headers),
            )
            .await
            .expect("send");
        ack.await.expect("the broker takes the batch");
    }
    p.close().await.expect("close");
}

async fn write_plain(kafka: &Kafka, topic: &str, partition: i32, values: &[&str]) {
    let producer = kafka.producer(ProducerConfig::default()).expect("producer");
    for v in values {
        let ack = producer
            .send(Record::new(topic, v.as_bytes()).partition(partition))
            .await
            .expect("send");
        ack.await.expect("acknowledged");
    }
    producer.close().await.expect("close");
}

/// Twelve batches of a few hundred bytes, each inflating to 6 MiB, read by a slow handler
/// with a 16 MiB budget: every record arrives, and the consumer's memory never goes past the
/// budget plus a fixed margin (the response frames and the runtime). Before the budget counted
/// inflated buffers, one fetch decoded all twelve (72 MiB) and held them.
#[tokio::test]
async fn batches_that_inflate_to_megabytes_stay_within_the_prefetch_budget() {
    let _serial = SERIAL.lock().await;
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "bombs", 1).await;
    write_bombs(&kafka, &topic, 0, 6 * MIB, 12).await;

    let budget = 16 * MIB;
    let mut config = ConsumerConfig::without_group().max_prefetch_bytes(budget);
    config.max_bytes_per_partition = MIB as i32;
    config.max_bytes = MIB as i32;
    let consumer = kafka.assigned_consumer(config).expect("consumer");
    let tp = TopicPartition::new(topic.as_str(), 0);
    consumer.assign(std::slice::from_ref(&tp)).await.unwrap();
    consumer.seek(tp.clone(), 0).unwrap();

    let base = NOW.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let run = {
        let consumer = consumer.clone();
        let seen = seen.clone();
        tokio::spawn(async move {
            consumer
                .run_each_message(move |m| {
                    let seen = seen.clone();
                    async move {
                        // Slow: the prefetch buffer fills while this one is held.
                        tokio::time::sleep(Duration::from_millis(150)).await;
                        seen.lock().unwrap().push(m.offset);
                        Ok(())
                    }
                })
                .await
        })
    };
    common::eventually(Duration::from_secs(60), "all 12 records", || {
        let n = seen.lock().unwrap().len();
        async move { n >= 12 }
    })
    .await;
    consumer.stop().await.unwrap();
    run.await.unwrap().unwrap();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    assert_eq!(*seen.lock().unwrap(), (0..12).collect::<Vec<i64>>());
    let margin = 12 * MIB;
    assert!(
        peak <= budget + margin,
        "peak {} MiB over the {} MiB budget + {} MiB margin",
        peak / MIB,
        budget / MIB,
        margin / MIB
    );
    eprintln!("peak above the start: {:.1} MiB", peak as f64 / MIB as f64);
}

/// A batch that inflates past the whole budget stops its partition at that offset: the
/// records before it and the other partition's all arrive, the stream yields one error that
/// says where and how to skip it (and the event says it at once), and a seek past it goes on.
#[tokio::test]
async fn a_batch_past_the_whole_budget_stops_only_its_partition_until_a_seek() {
    let _serial = SERIAL.lock().await;
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "bomb-stop", 2).await;
    write_plain(&kafka, &topic, 0, &["before"]).await;
    write_bombs(&kafka, &topic, 0, 24 * MIB, 1).await;
    write_plain(&kafka, &topic, 0, &["after"]).await;
    write_plain(&kafka, &topic, 1, &["a", "b", "c"]).await;

    let mut events = kafka.events();
    let consumer = kafka
        .assigned_consumer(ConsumerConfig::without_group().max_prefetch_bytes(8 * MIB))
        .expect("consumer");
    let (p0, p1) = (
        TopicPartition::new(topic.as_str(), 0),
        TopicPartition::new(topic.as_str(), 1),
    );
    consumer.assign(&[p0.clone(), p1.clone()]).await.unwrap();
    consumer.seek(p0.clone(), 0).unwrap();
    consumer.seek(p1.clone(), 0).unwrap();

    let mut stream = Box::pin(consumer.stream());
    let mut got = Vec::new();
    let error = loop {
        let item = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("an item within 30 s")
            .expect("the stream goes on");
        match item {
            Ok(m) => got.push((m.partition, m.offset)),
            Err(e) => break e,
        }
    };
    assert_eq!(error.kind(), &ErrorKind::TooLarge, "{error}");
    assert_eq!(error.partition_offset(), Some((&p0, 1)), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("max_prefetch_bytes") && text.contains("seek"),
        "{text}"
    );
    // The other partition is not held back by it.
    let mut rest = Vec::new();
    while got.len() + rest.len() < 4 {
        let m = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("p1's records")
            .unwrap()
            .unwrap();
        rest.push((m.partition, m.offset));
    }
    got.extend(rest);
    got.sort();
    assert_eq!(got, vec![(0, 0), (1, 0), (1, 1), (1, 2)]);
    // The event said it as soon as the partition stopped.
    let mut stopped = None;
    while let Ok(e) = events.try_recv() {
        if let Event::PartitionStopped {
            partition, offset, ..
        } = e
        {
            stopped = Some((partition, offset));
        }
    }
    assert_eq!(stopped, Some((p0.clone(), 1)));
    // Seek past it: the record after comes, and nothing else is reported.
    consumer.seek(p0.clone(), 2).unwrap();
    let m = tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .expect("the record after the seek")
        .unwrap()
        .expect("a record, not an error");
    assert_eq!((m.partition, m.offset), (0, 2));
    assert_eq!(m.value.as_deref(), Some(&b"after"[..]));
    drop(stream);
    consumer.stop().await.unwrap();
}
