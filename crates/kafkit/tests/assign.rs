//! Consumers without a group against the real broker: reading assigned partitions from an
//! offset, seeking to the beginning, the end and a timestamp, offset lookups, pause and resume,
//! read_committed over an aborted transaction, offsets kept in a group without joining it; and
//! the warnings producer and consumer give at once about a topic that does not exist.

mod common;

use std::slice::from_ref;
use std::time::Duration;

use futures::StreamExt;
use kafkit::consumer::{AutoOffsetReset, Consumer, ConsumerConfig, IsolationLevel, Message};
use kafkit::producer::{ProducerConfig, Record};
use kafkit::{ErrorKind, Event, Kafka, TopicPartition};
use tokio::sync::mpsc;

fn groupless() -> ConsumerConfig {
    ConsumerConfig::without_group().max_wait(Duration::from_millis(200))
}

/// Writes `values` to one partition, each record with its timestamp when given.
async fn produce_to(kafka: &Kafka, tp: &TopicPartition, values: &[(String, Option<i64>)]) {
    let p = kafka.producer(ProducerConfig::default()).unwrap();
    let mut acks = Vec::new();
    for (v, ts) in values {
        let mut r = Record::new(&tp.topic, v.as_bytes()).partition(tp.partition);
        if let Some(ts) = ts {
            r = r.timestamp(*ts);
        }
        acks.push(p.send(r).await.unwrap());
    }
    for a in acks {
        a.await.unwrap();
    }
    p.close().await.unwrap();
}

fn values(prefix: &str, n: usize) -> Vec<(String, Option<i64>)> {
    (0..n).map(|i| (format!("{prefix}-{i}"), None)).collect()
}

fn value(m: &Message) -> String {
    String::from_utf8_lossy(m.value.as_deref().unwrap_or_default()).into_owned()
}

async fn next(
    stream: &mut (impl futures::Stream<Item = kafkit::Result<Message>> + Unpin),
) -> Message {
    tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .expect("a record within 30 s")
        .expect("stream open")
        .expect("record")
}

/// Waits for a warning that mentions every one of `words`.
async fn warning(events: &mut tokio::sync::broadcast::Receiver<Event>, words: &[&str]) -> String {
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match events.recv().await {
                Ok(Event::Warning { message }) if words.iter().all(|w| message.contains(w)) => {
                    return message
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("events ended: {e}"),
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no warning mentioning {words:?}"))
}

#[tokio::test]
async fn reads_a_partition_from_an_offset_without_a_group() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "a-offset", 2).await;
    let (p0, p1) = (
        TopicPartition::new(&topic, 0),
        TopicPartition::new(&topic, 1),
    );
    produce_to(&kafka, &p0, &values("zero", 10)).await;
    produce_to(&kafka, &p1, &values("one", 5)).await;

    let c = kafka.assigned_consumer(groupless()).unwrap();
    c.assign(from_ref(&p0)).await.unwrap();
    c.seek(p0.clone(), 4).unwrap();
    assert_eq!(c.position(&p0).await.unwrap(), Some(4));
    assert_eq!(c.assignment().await.unwrap(), vec![p0.clone()]);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let runner = c.clone();
    let run = tokio::spawn(async move {
        runner
            .run_each_message(move |m| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send((m.partition, m.offset, value(&m)));
                    Ok(())
                }
            })
            .await
    });
    for offset in 4..10 {
        let (partition, at, v) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("a record within 30 s")
            .unwrap();
        assert_eq!((partition, at, v), (0, offset, format!("zero-{offset}")));
    }
    // Nothing is committed without a group.
    let e = c.commit().await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Config, "{e}");
    assert!(c.committed(from_ref(&p0)).await.is_err());
    c.stop().await.unwrap();
    run.await.unwrap().unwrap();
}

#[tokio::test]
async fn seeks_to_the_beginning_the_end_and_a_timestamp() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "a-seek", 1).await;
    let tp = TopicPartition::new(&topic, 0);
    // Timestamps a second apart, an hour ago: offset i has t0 + i s.
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 3_600_000;
    let records: Vec<(String, Option<i64>)> = (0..10)
        .map(|i| (format!("r-{i}"), Some(t0 + i * 1000)))
        .collect();
    produce_to(&kafka, &tp, &records).await;

    // Starts at the end (auto_offset_reset latest, the default).
    let c = kafka.assigned_consumer(groupless()).unwrap();
    c.assign(from_ref(&tp)).await.unwrap();
    assert_eq!(c.beginning_offsets(from_ref(&tp)).await.unwrap()[&tp], 0);
    assert_eq!(c.end_offsets(from_ref(&tp)).await.unwrap()[&tp], 10);
    let found = c
        .offsets_for_times(&[(tp.clone(), t0 + 3500)])
        .await
        .unwrap();
    let at = found[&tp].expect("the first record at or after the time");
    assert_eq!(
        (at.offset, at.timestamp),
        (4, t0 + 4000),
        "offset and timestamp of the first record at or after the time"
    );
    assert_eq!(at.leader_epoch, Some(0), "{at:?}");
    // Exactly a record's timestamp finds that record.
    let found = c
        .offsets_for_times(&[(tp.clone(), t0 + 7000)])
        .await
        .unwrap();
    let at = found[&tp].expect("a record at that time");
    assert_eq!((at.offset, at.timestamp), (7, t0 + 7000));
    let found = c
        .offsets_for_times(&[(tp.clone(), t0 + 3_600_000 * 2)])
        .await
        .unwrap();
    assert_eq!(found[&tp], None, "no record that late");

    let mut stream = Box::pin(c.stream());
    c.seek_to_beginning(from_ref(&tp)).await.unwrap();
    assert_eq!(c.position(&tp).await.unwrap(), Some(0));
    let m = next(&mut stream).await;
    assert_eq!((m.offset, m.timestamp), (0, t0));

    c.seek_to_timestamp(from_ref(&tp), t0 + 5000).await.unwrap();
    assert_eq!(c.position(&tp).await.unwrap(), Some(5));
    let m = next(&mut stream).await;
    assert_eq!((m.offset, value(&m)), (5, "r-5".to_string()));
    let m = next(&mut stream).await;
    assert_eq!(m.offset, 6, "reads on from there");

    c.seek_to_end(from_ref(&tp)).await.unwrap();
    assert_eq!(c.position(&tp).await.unwrap(), Some(10));
    produce_to(&kafka, &tp, &values("late", 1)).await;
    let m = next(&mut stream).await;
    assert_eq!((m.offset, value(&m)), (10, "late-0".to_string()));
    drop(stream);
    c.stop().await.unwrap();
}

/// A position below the log start (records deleted by retention or `delete_records` before
/// they were read) is out of range: the consumer reads on from where `auto_offset_reset` says,
/// and says how many records it skipped, instead of skipping them silently.
#[tokio::test]
async fn a_position_below_the_log_start_reads_on_and_says_what_it_skipped() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "a-oor", 1).await;
    let tp = TopicPartition::new(&topic, 0);
    produce_to(&kafka, &tp, &values("r", 10)).await;
    kafka
        .admin()
        .delete_records(&[(tp.clone(), 6)])
        .await
        .expect("delete records before offset 6");

    let mut events = kafka.events();
    let c = kafka
        .assigned_consumer(groupless().auto_offset_reset(AutoOffsetReset::Earliest))
        .unwrap();
    c.assign(from_ref(&tp)).await.unwrap();
    c.seek(tp.clone(), 2).unwrap();
    let mut stream = Box::pin(c.stream());
    let m = next(&mut stream).await;
    assert_eq!((m.offset, value(&m)), (6, "r-6".to_string()));
    let message = warning(
        &mut events,
        &[
            &format!("offset 2 of {topic}-0 is out of range"),
            "4 records were skipped",
        ],
    )
    .await;
    assert!(message.contains("moved reading to 6"), "{message}");
    let position = c.position(&tp).await.unwrap();
    assert!(
        matches!(position, Some(6..=7)),
        "not left at the seek: {position:?}"
    );
    drop(stream);
    c.stop().await.unwrap();
}

#[tokio::test]
async fn paused_partitions_are_not_read_until_resumed() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "a-pause", 2).await;
    let (p0, p1) = (
        TopicPartition::new(&topic, 0),
        TopicPartition::new(&topic, 1),
    );
    produce_to(&kafka, &p0, &values("zero", 5)).await;
    produce_to(&kafka, &p1, &values("one", 5)).await;
    let c = kafka
        .assigned_consumer(groupless().auto_offset_reset(AutoOffsetReset::Earliest))
        .unwrap();
    c.assign(&[p0.clone(), p1.clone()]).await.unwrap();
    c.pause(from_ref(&p0)).unwrap();
    let mut stream = Box::pin(c.stream());
    // Everything of p1, then more of it written later: p0 stays out all along.
    for i in 0..5 {
        let m = next(&mut stream).await;
        assert_eq!((m.partition, value(&m)), (1, format!("one-{i}")));
    }
    produce_to(&kafka, &p1, &values("more", 3)).await;
    for i in 0..3 {
        let m = next(&mut stream).await;
        assert_eq!((m.partition, value(&m)), (1, format!("more-{i}")));
    }
    c.resume(from_ref(&p0)).unwrap();
    for i in 0..5 {
        let m = next(&mut stream).await;
        assert_eq!((m.partition, value(&m)), (0, format!("zero-{i}")));
    }
    drop(stream);
    c.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_skips_an_aborted_transaction() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "a-txn", 1).await;
    let tp = TopicPartition::new(&topic, 0);
    let p = kafka
        .producer(ProducerConfig::default().transactional_id(common::unique("a-txn")))
        .unwrap();
    p.init_transactions().await.unwrap();
    for (prefix, commit) in [("aborted", false), ("committed", true)] {
        p.begin_transaction().unwrap();
        for i in 0..3 {
            let v = format!("{prefix}-{i}");
            p.send(Record::new(&topic, v.as_bytes()).partition(0))
                .await
                .unwrap();
        }
        if commit {
            p.commit_transaction().await.unwrap();
        } else {
            p.abort_transaction().await.unwrap();
        }
    }
    p.close().await.unwrap();

    let read = |isolation| {
        let kafka = kafka.clone();
        let tp = tp.clone();
        async move {
            let c = kafka
                .assigned_consumer(
                    groupless()
                        .auto_offset_reset(AutoOffsetReset::Earliest)
                        .isolation_level(isolation),
                )
                .unwrap();
            c.assign(&[tp]).await.unwrap();
            let (tx, mut rx) = mpsc::unbounded_channel();
            let runner = c.clone();
            let run = tokio::spawn(async move {
                runner
                    .run_each_batch(move |ctx| {
                        let tx = tx.clone();
                        async move {
                            for m in &ctx.batch.messages {
                                let _ = tx.send(value(m));
                            }
                            Ok(())
                        }
                    })
                    .await
            });
            (c, run, move |n: usize| async move {
                let mut out = Vec::new();
                while out.len() < n {
                    let v = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                        .await
                        .expect("records within 30 s")
                        .unwrap();
                    out.push(v);
                }
                out
            })
        }
    };
    let (c, run, take) = read(IsolationLevel::ReadCommitted).await;
    assert_eq!(
        take(3).await,
        vec!["committed-0", "committed-1", "committed-2"],
        "the aborted records come first in the log and are skipped"
    );
    // Read committed: the transaction is complete, and the end is past its marker.
    assert_eq!(
        c.end_offsets(from_ref(&tp)).await.unwrap()[&tp],
        8,
        "6 records, 2 markers"
    );
    c.stop().await.unwrap();
    run.await.unwrap().unwrap();

    let (c, run, take) = read(IsolationLevel::ReadUncommitted).await;
    let all = take(6).await;
    assert_eq!(all[0], "aborted-0", "read_uncommitted sees them: {all:?}");
    c.stop().await.unwrap();
    run.await.unwrap().unwrap();
}

#[tokio::test]
async fn offsets_can_be_kept_in_a_group_without_joining_it() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "a-group", 1).await;
    let tp = TopicPartition::new(&topic, 0);
    produce_to(&kafka, &tp, &values("r", 8)).await;
    let group = common::unique("a-offsets");
    let config = || {
        ConsumerConfig::new(&group)
            .max_wait(Duration::from_millis(200))
            .auto_offset_reset(AutoOffsetReset::Earliest)
            .auto_commit(false)
    };

    let c = kafka.assigned_consumer(config()).unwrap();
    assert_eq!(c.committed(from_ref(&tp)).await.unwrap()[&tp], None);
    c.assign(from_ref(&tp)).await.unwrap();
    let mut stream = Box::pin(c.stream());
    for offset in 0..5 {
        assert_eq!(next(&mut stream).await.offset, offset);
    }
    c.commit_offsets(&[(tp.clone(), 5)]).await.unwrap();
    assert_eq!(c.committed(from_ref(&tp)).await.unwrap()[&tp], Some(5));
    drop(stream);
    c.stop().await.unwrap();

    // A second one starts where the group stands.
    let c = kafka.assigned_consumer(config()).unwrap();
    c.assign(from_ref(&tp)).await.unwrap();
    let mut stream = Box::pin(c.stream());
    assert_eq!(next(&mut stream).await.offset, 5);
    drop(stream);
    c.stop().await.unwrap();
}

#[tokio::test]
async fn group_calls_and_assign_say_which_consumer_they_are_for() {
    let kafka = common::connect().await;
    let assigned = kafka.assigned_consumer(groupless()).unwrap();
    let e = assigned.subscribe(&["t"], false).await.unwrap_err();
    assert!(e.to_string().contains("assign"), "{e}");
    let member: Consumer = kafka.consumer(ConsumerConfig::new("g")).unwrap();
    let e = member
        .assign(&[TopicPartition::new("t", 0)])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("subscribe"), "{e}");
    assert!(kafka.consumer(ConsumerConfig::without_group()).is_err());
}

#[tokio::test]
async fn a_producer_says_at_once_that_its_topic_does_not_exist() {
    common::init_tracing();
    let kafka = common::connect().await;
    let mut events = kafka.events();
    let topic = common::unique("a-missing");
    let p = kafka
        .producer(ProducerConfig::default().max_block(Duration::from_secs(60)))
        .unwrap();
    let (t, p2) = (topic.clone(), p.clone());
    let send = tokio::spawn(async move { p2.send(Record::new(&t, b"v")).await.map(|_| ()) });
    let message = warning(&mut events, &[&topic, "does not exist"]).await;
    assert!(
        message.contains("max_block"),
        "says how long it waits: {message}"
    );
    assert!(!send.is_finished(), "the wait itself goes on as configured");
    send.abort();
}

#[tokio::test]
async fn a_consumer_says_at_once_that_its_topic_does_not_exist() {
    common::init_tracing();
    let kafka = common::connect().await;
    let mut events = kafka.events();
    let topic = common::unique("a-missing-sub");
    let member = kafka
        .consumer(
            ConsumerConfig::new(common::unique("g-missing"))
                .group_protocol(common::group_protocol(&kafka).await),
        )
        .unwrap();
    member.subscribe(&[&topic], false).await.unwrap();
    let message = warning(&mut events, &[&topic, "does not exist"]).await;
    assert!(message.contains("subscription waits"), "{message}");
    member.stop().await.unwrap();

    let topic = common::unique("a-missing-assign");
    let reader = kafka.assigned_consumer(groupless()).unwrap();
    reader
        .assign(&[TopicPartition::new(&topic, 0)])
        .await
        .unwrap();
    let message = warning(&mut events, &[&topic, "does not exist"]).await;
    assert!(message.contains("assigned partitions wait"), "{message}");
    reader.stop().await.unwrap();
}
