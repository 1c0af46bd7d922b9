//! Corrupt records, which a real broker would not hand out (it checks CRCs on produce), served
//! by the fake broker of the hostile suite (tests/hostile/server.rs): a batch with a bad CRC,
//! a legacy magic, a negative record count or offsets that go backwards. Each must stop its
//! partition at that offset with an error the application gets (run or stream) naming the
//! partition, the offset and the cause; the records before it and the other partition's all
//! arrive, nothing past it is committed, the fetches do not spin, and a seek past it goes on.
//! No Java needed: `cargo test -p kafkit --test corrupt_records`.

#[path = "hostile/server.rs"]
mod server;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Decodable;
use kafkit::consumer::ConsumerConfig;
use kafkit::{ErrorKind, Event, Kafka, KafkaConfig, TopicPartition};
use server::{frame, records, Act, FakeBroker, Incoming};

fn config(fake: &FakeBroker) -> KafkaConfig {
    KafkaConfig::new([fake.addr.clone()])
        .client_id("kafkit-corrupt")
        .connect_timeout(Duration::from_millis(1000))
        .request_timeout(Duration::from_millis(2000))
}

fn batch(base: i64, values: &[&str]) -> Vec<u8> {
    let v: Vec<Bytes> = values.iter().map(|s| Bytes::from(s.to_string())).collect();
    records(base, &v).to_vec()
}

/// Puts the right CRC back after a field it covers was changed.
fn recrc(b: &mut [u8]) {
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// A way to corrupt a batch: its name, the change, and what the error must say.
type Corruption = (&'static str, fn(&mut Vec<u8>), &'static str);

fn corruptions() -> Vec<Corruption> {
    vec![
        (
            "bad CRC",
            |b| {
                let at = b.len() - 2; // the last record's value
                b[at] ^= 0x55;
            },
            "CRC",
        ),
        ("legacy magic", |b| b[16] = 1, "magic 1"),
        (
            "negative record count",
            |b| {
                b[57..61].copy_from_slice(&(-1i32).to_be_bytes());
                recrc(b);
            },
            "declares -1",
        ),
        (
            "offsets going backwards",
            |b| b[..8].copy_from_slice(&1i64.to_be_bytes()), // base offset: outside the CRC
            "backwards",
        ),
    ]
}

/// Partition 0 of `t` holds a, b (one batch), c (a batch `corrupt` spoils), d; partition 1
/// holds x, y. The fake answers fetches of partition 0 from offset 2 or less with those three
/// batches, and counts fetches and the offsets committed for partition 0.
struct Setup {
    fake: FakeBroker,
    fetches: Arc<Mutex<usize>>,
    committed: Arc<Mutex<Vec<i64>>>,
}

async fn setup(corrupt: fn(&mut Vec<u8>)) -> Setup {
    let fake = FakeBroker::start().await;
    fake.add_topic("t", 2, 0);
    fake.append("t", 0, &["a", "b", "c", "d"]);
    fake.append("t", 1, &["x", "y"]);
    let mut bad = batch(2, &["c"]);
    corrupt(&mut bad);
    let mut p0 = batch(0, &["a", "b"]);
    p0.extend(bad);
    p0.extend(batch(3, &["d"]));
    let p0 = Bytes::from(p0);
    let fetches = Arc::new(Mutex::new(0));
    let committed = Arc::new(Mutex::new(Vec::new()));
    let (f, c) = (fetches.clone(), committed.clone());
    fake.script(move |inc: &Incoming| {
        if inc.is(ApiKey::OffsetCommit) {
            let req: OffsetCommitRequest = inc.decode();
            for t in &req.topics {
                for p in t.partitions.iter().filter(|p| p.partition_index == 0) {
                    c.lock().unwrap().push(p.committed_offset);
                }
            }
            return Act::Answer;
        }
        if !inc.is(ApiKey::Fetch) {
            return Act::Answer;
        }
        *f.lock().unwrap() += 1;
        let req: FetchRequest = inc.decode();
        let from = req
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter())
            .find(|p| p.partition == 0)
            .map(|p| p.fetch_offset);
        let good = inc.good();
        if from.is_none_or(|o| o > 2) {
            return Act::Answer;
        }
        // The good answer (after its length and header), partition 0's records replaced.
        let mut body = Bytes::copy_from_slice(&good[4..]);
        let _header =
            ResponseHeader::decode(&mut body, FetchResponse::header_version(inc.version)).unwrap();
        let mut resp = FetchResponse::decode(&mut body, inc.version).unwrap();
        for t in &mut resp.responses {
            for p in t.partitions.iter_mut().filter(|p| p.partition_index == 0) {
                p.records = Some(p0.clone());
            }
        }
        Act::Send(frame::<FetchRequest>(
            inc.correlation_id,
            inc.version,
            &resp,
        ))
    });
    Setup {
        fake,
        fetches,
        committed,
    }
}

use kafka_protocol::protocol::HeaderVersion;

async fn assigned(kafka: &Kafka, config: ConsumerConfig) -> kafkit::consumer::Consumer {
    let consumer = kafka.assigned_consumer(config).expect("consumer");
    let (p0, p1) = (TopicPartition::new("t", 0), TopicPartition::new("t", 1));
    consumer.assign(&[p0.clone(), p1.clone()]).await.unwrap();
    consumer.seek(p0, 0).unwrap();
    consumer.seek(p1, 0).unwrap();
    consumer
}

/// Through the stream: the records before the bad batch and the other partition's, then one
/// error naming partition, offset and cause; the partition is not fetched while it is
/// stopped; after a seek past it, the record after it.
#[tokio::test]
async fn a_corrupt_batch_stops_its_partition_with_an_error_item_until_a_seek() {
    for (name, corrupt, says) in corruptions() {
        let s = setup(corrupt).await;
        let kafka = Kafka::connect(config(&s.fake)).await.unwrap();
        let mut events = kafka.events();
        let consumer = assigned(&kafka, ConsumerConfig::without_group()).await;
        let mut stream = Box::pin(consumer.stream());
        let mut got = Vec::new();
        let mut error = None;
        while got.len() < 4 || error.is_none() {
            let item = tokio::time::timeout(Duration::from_secs(10), stream.next())
                .await
                .unwrap_or_else(|_| {
                    panic!("{name}: 4 records and an error within 10 s, got {got:?} {error:?}")
                })
                .expect("the stream goes on");
            match item {
                Ok(m) => got.push((m.partition, m.offset)),
                Err(e) => {
                    assert!(error.is_none(), "{name}: one error, not a second: {e}");
                    error = Some(e);
                }
            }
        }
        got.sort();
        assert_eq!(got, vec![(0, 0), (0, 1), (1, 0), (1, 1)], "{name}");
        let e = error.unwrap();
        assert_eq!(e.kind(), &ErrorKind::CorruptRecord, "{name}: {e}");
        assert_eq!(
            e.partition_offset(),
            Some((&TopicPartition::new("t", 0), 2)),
            "{name}: {e}"
        );
        let text = e.to_string();
        assert!(
            text.contains(says) && text.contains("seek t-0"),
            "{name}: {text}"
        );
        let mut stopped = Vec::new();
        while let Ok(ev) = events.try_recv() {
            if let Event::PartitionStopped {
                partition, offset, ..
            } = ev
            {
                stopped.push((partition.partition, offset));
            }
        }
        assert_eq!(stopped, vec![(0, 2)], "{name}: one event");
        // Stopped, it is not fetched: no retry loop (p1 is caught up: long polls only).
        let before = *s.fetches.lock().unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let during = *s.fetches.lock().unwrap() - before;
        assert!(during <= 4, "{name}: {during} fetches in 1 s while stopped");
        consumer.seek(TopicPartition::new("t", 0), 3).unwrap();
        let m = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("the record after the seek")
            .unwrap()
            .unwrap_or_else(|e| panic!("{name}: a record, not {e}"));
        assert_eq!((m.partition, m.offset), (0, 3), "{name}");
        drop(stream);
        consumer.stop().await.unwrap();
    }
}

/// With CRC checks off (Java's `check.crcs=false`) the batch with the bad CRC is read.
#[tokio::test]
async fn with_crc_checks_off_a_bad_crc_is_read() {
    let (_, corrupt, _) = corruptions()[0];
    let s = setup(corrupt).await;
    let kafka = Kafka::connect(config(&s.fake)).await.unwrap();
    let consumer = assigned(&kafka, ConsumerConfig::without_group().check_crcs(false)).await;
    let mut stream = Box::pin(consumer.stream());
    let mut p0 = Vec::new();
    while p0.len() < 4 {
        let m = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("records")
            .unwrap()
            .unwrap();
        if m.partition == 0 {
            p0.push(m.offset);
        }
    }
    assert_eq!(p0, vec![0, 1, 2, 3]);
}

/// Through `run_each_message` with offsets kept in a group: the run ends with the error after
/// the records before it were handled, nothing past it is committed, and the same consumer
/// runs again after a seek past it.
#[tokio::test]
async fn the_run_ends_with_the_error_commits_nothing_past_it_and_runs_again_after_a_seek() {
    let (_, corrupt, _) = corruptions()[2];
    let s = setup(corrupt).await;
    s.fake.set_coordinator(0);
    let kafka = Kafka::connect(config(&s.fake)).await.unwrap();
    let consumer = assigned(&kafka, ConsumerConfig::new("g")).await;
    let handled = Arc::new(Mutex::new(Vec::new()));
    let run = |h: Arc<Mutex<Vec<(i32, i64)>>>| {
        let c = consumer.clone();
        async move {
            c.run_each_message(move |m| {
                let h = h.clone();
                async move {
                    h.lock().unwrap().push((m.partition, m.offset));
                    Ok(())
                }
            })
            .await
        }
    };
    let e = tokio::time::timeout(Duration::from_secs(10), run(handled.clone()))
        .await
        .expect("the run ends")
        .unwrap_err();
    assert_eq!(
        e.partition_offset(),
        Some((&TopicPartition::new("t", 0), 2)),
        "{e}"
    );
    let p0: Vec<i64> = handled
        .lock()
        .unwrap()
        .iter()
        .filter(|h| h.0 == 0)
        .map(|h| h.1)
        .collect();
    assert_eq!(p0, vec![0, 1]);
    consumer.commit().await.unwrap();
    {
        let committed = s.committed.lock().unwrap();
        assert_eq!(committed.iter().max(), Some(&2), "{committed:?}");
    }
    // Skip it and run again: the record after it.
    consumer.seek(TopicPartition::new("t", 0), 3).unwrap();
    let again = tokio::spawn(run(handled.clone()));
    tokio::time::timeout(Duration::from_secs(10), async {
        while !handled.lock().unwrap().contains(&(0, 3)) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("offset 3 handled after the seek");
    consumer.stop().await.unwrap();
    again.await.unwrap().unwrap();
    assert!(s.committed.lock().unwrap().contains(&4));
}

/// A share consumer acquires records of which the last cannot be read (its batch has a bad
/// CRC): the others are delivered, and for that one it says so, with the partition and the
/// offset, and releases it to the group at once (the broker delivers it again and archives it
/// after its delivery limit), rather than dropping it silently or holding it until its lock
/// runs out.
#[tokio::test]
async fn a_share_consumer_releases_acquired_records_it_cannot_read_and_says_so() {
    use kafkit::share::ShareConsumerConfig;
    let fake = FakeBroker::start().await;
    fake.add_topic("t", 1, 0);
    fake.assign(vec![(fake.topic_id("t"), vec![0])]);
    fake.set_coordinator(0);
    let mut bad = batch(0, &["a", "b", "c"]);
    let at = bad.len() - 2;
    bad[at] ^= 0x55;
    let bad = Bytes::from(bad);
    let served = Arc::new(Mutex::new(false));
    // (first offset, last offset, types) of every acknowledgement batch the client sent.
    let acks = Arc::new(Mutex::new(Vec::new()));
    let (s, a) = (served.clone(), acks.clone());
    fake.script(move |inc: &Incoming| {
        if inc.is(ApiKey::ShareAcknowledge) {
            let req: ShareAcknowledgeRequest = inc.decode();
            for b in req
                .topics
                .iter()
                .flat_map(|t| t.partitions.iter())
                .flat_map(|p| p.acknowledgement_batches.iter())
            {
                a.lock().unwrap().push((
                    b.first_offset,
                    b.last_offset,
                    b.acknowledge_types.clone(),
                ));
            }
            return Act::Answer;
        }
        if !inc.is(ApiKey::ShareFetch) {
            return Act::Answer;
        }
        let req: ShareFetchRequest = inc.decode();
        for b in req
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter())
            .flat_map(|p| p.acknowledgement_batches.iter())
        {
            a.lock()
                .unwrap()
                .push((b.first_offset, b.last_offset, b.acknowledge_types.clone()));
        }
        let mut first = s.lock().unwrap();
        let asks_t0 = req
            .topics
            .iter()
            .any(|t| t.partitions.iter().any(|p| p.partition_index == 0));
        if *first || !asks_t0 {
            return Act::Answer;
        }
        *first = true;
        let good = inc.good();
        let mut body = Bytes::copy_from_slice(&good[4..]);
        let _ = ResponseHeader::decode(&mut body, ShareFetchResponse::header_version(inc.version))
            .unwrap();
        let mut resp = ShareFetchResponse::decode(&mut body, inc.version).unwrap();
        for p in resp
            .responses
            .iter_mut()
            .flat_map(|t| t.partitions.iter_mut())
        {
            p.records = Some(bad.clone());
            let mut r = share_fetch_response::AcquiredRecords::default();
            r.first_offset = 0;
            r.last_offset = 2;
            r.delivery_count = 1;
            p.acquired_records = vec![r];
        }
        Act::Send(frame::<ShareFetchRequest>(
            inc.correlation_id,
            inc.version,
            &resp,
        ))
    });
    let kafka = Kafka::connect(config(&fake)).await.unwrap();
    let mut events = kafka.events();
    let consumer = kafka
        .share_consumer(ShareConsumerConfig::new("s").max_wait(Duration::from_millis(100)))
        .unwrap();
    consumer.subscribe(&["t"]).await.unwrap();
    let mut stream = Box::pin(consumer.stream());
    // The two batches before the bad one are read; the warning names where it starts.
    let mut read = Vec::new();
    let mut warned = None;
    tokio::time::timeout(Duration::from_secs(10), async {
        while read.len() < 2 || warned.is_none() {
            tokio::select! {
                m = stream.next() => {
                    let m = m.expect("the stream goes on").expect("a record");
                    read.push(m.offset);
                }
                e = events.recv() => {
                    if let Ok(Event::Warning { message }) = e {
                        if message.contains("t-0") && message.contains("released") {
                            warned = Some(message);
                        }
                    }
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("records 0, 1 and a warning; got {read:?} {warned:?}"));
    assert_eq!(read, vec![0, 1]);
    let warned = warned.unwrap();
    assert!(
        warned.contains("CRC") && warned.contains("from offset 2"),
        "{warned}"
    );
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let released: Vec<i64> = acks
                .lock()
                .unwrap()
                .iter()
                .flat_map(|(first, last, types)| {
                    (*first..=*last)
                        .enumerate()
                        .filter(|(i, _)| types.get(*i).or(types.first()) == Some(&2))
                        .map(|(_, o)| o)
                        .collect::<Vec<_>>()
                })
                .collect();
            if released == vec![2] {
                return;
            }
            // Polled on, the stream accepts what it handed out, and the next fetch carries the
            // acknowledgements.
            let _ = tokio::time::timeout(Duration::from_millis(50), stream.next()).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("offset 2 released, got {:?}", acks.lock().unwrap()));
    drop(stream);
    let _ = consumer.close().await;
}
