//! Transactions against the real broker: aborted records invisible to read_committed readers
//! (kafkit's and Java's), committed ones visible, a fenced instance gets a fatal error, and
//! offsets sent to a transaction count only if it commits.

mod common;

use std::time::Duration;

use futures::StreamExt;
use kafkit::consumer::{ConsumerConfig, GroupProtocol, IsolationLevel, Message};
use kafkit::producer::{Producer, ProducerConfig, Record};
use kafkit::{ErrorKind, Kafka, TopicPartition};

fn txn_producer(kafka: &Kafka, id: &str) -> Producer {
    kafka
        .producer(ProducerConfig::default().transactional_id(id))
        .expect("transactional producer")
}

async fn send_values(p: &Producer, topic: &str, prefix: &str, n: usize) {
    for i in 0..n {
        let v = format!("{prefix}-{i}");
        p.send(Record::new(topic, v.as_bytes()))
            .await
            .expect("send in transaction");
    }
}

/// Reads `n` records from the start of `topic` with a fresh group.
async fn read(kafka: &Kafka, topic: &str, n: usize, isolation: IsolationLevel) -> Vec<Message> {
    let c = kafka
        .consumer(
            ConsumerConfig::new(common::unique("g-txn-read"))
                .group_protocol(GroupProtocol::Consumer)
                .isolation_level(isolation),
        )
        .unwrap();
    c.subscribe(&[topic], true).await.unwrap();
    let mut stream = Box::pin(c.stream());
    let mut out = Vec::new();
    while out.len() < n {
        let m = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} records arrived", out.len()))
            .unwrap()
            .unwrap();
        out.push(m);
    }
    drop(stream);
    c.stop().await.unwrap();
    out
}

fn value(m: &Message) -> String {
    String::from_utf8_lossy(m.value.as_deref().unwrap_or_default()).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_records_are_invisible_to_read_committed_readers() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "txn-vis", 1).await;
    let p = txn_producer(&kafka, &common::unique("txn-vis"));
    p.init_transactions().await.expect("init_transactions");

    p.begin_transaction().unwrap();
    send_values(&p, &topic, "aborted", 5).await;
    p.abort_transaction().await.expect("abort");
    p.begin_transaction().unwrap();
    send_values(&p, &topic, "committed", 5).await;
    p.commit_transaction().await.expect("commit");

    // read_committed (kafkit's default): the first 5 records it sees are the committed ones,
    // in order, although the aborted ones come first in the log.
    let got: Vec<String> = read(&kafka, &topic, 5, IsolationLevel::ReadCommitted)
        .await
        .iter()
        .map(value)
        .collect();
    let want: Vec<String> = (0..5).map(|i| format!("committed-{i}")).collect();
    assert_eq!(got, want);

    // read_uncommitted sees both (the aborted records were really written).
    let all = read(&kafka, &topic, 10, IsolationLevel::ReadUncommitted).await;
    assert_eq!(
        all.iter()
            .filter(|m| value(m).starts_with("aborted"))
            .count(),
        5
    );

    // The Java client (read_committed) agrees.
    let out = common::java_peer(&["read", &common::bootstrap(), &topic, "5", "30000"])
        .output()
        .expect("java");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let java: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let hex = l.split(' ').nth(3).unwrap();
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            String::from_utf8(bytes).unwrap()
        })
        .collect();
    assert_eq!(java, want);
    p.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_instance_is_fenced_with_a_fatal_error() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "txn-fence", 2).await;
    let id = common::unique("txn-fence");
    let old = txn_producer(&kafka, &id);
    old.init_transactions().await.unwrap();
    old.begin_transaction().unwrap();
    send_values(&old, &topic, "old", 3).await;
    old.flush().await.unwrap();

    // A new instance with the same id fences the old one and aborts its open transaction.
    let new = txn_producer(&kafka, &id);
    new.init_transactions().await.expect("new instance init");

    let err = old
        .commit_transaction()
        .await
        .expect_err("fenced instance commits");
    assert_eq!(err.kind(), &ErrorKind::Fatal, "{err}");
    assert!(err.message().contains("fenced"), "{err}");
    assert!(err.message().contains(&id), "{err}");
    // And it stays unusable.
    let again = old.begin_transaction().expect_err("begin after fencing");
    assert_eq!(again.kind(), &ErrorKind::Fatal);

    new.begin_transaction().unwrap();
    send_values(&new, &topic, "new", 3).await;
    new.commit_transaction().await.unwrap();
    let got: Vec<String> = read(&kafka, &topic, 3, IsolationLevel::ReadCommitted)
        .await
        .iter()
        .map(value)
        .collect();
    assert!(got.iter().all(|v| v.starts_with("new-")), "{got:?}");
    new.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misuse_gets_errors_that_say_what_to_call() {
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "txn-misuse", 1).await;
    let p = txn_producer(&kafka, &common::unique("txn-misuse"));
    let e = p
        .send(Record::new(&topic, b"x"))
        .await
        .expect_err("send before init");
    assert!(e.message().contains("init_transactions"), "{e}");
    assert!(p
        .begin_transaction()
        .unwrap_err()
        .message()
        .contains("init_transactions"));
    p.init_transactions().await.unwrap();
    let e = p
        .send(Record::new(&topic, b"x"))
        .await
        .expect_err("send before begin");
    assert!(e.message().contains("begin_transaction"), "{e}");
    let e = p
        .commit_transaction()
        .await
        .expect_err("commit before begin");
    assert!(e.message().contains("begin_transaction"), "{e}");
    p.begin_transaction().unwrap();
    assert!(p
        .begin_transaction()
        .unwrap_err()
        .message()
        .contains("already open"));
    // An empty transaction commits without a round trip.
    p.commit_transaction().await.unwrap();

    // A non-transactional producer refuses transaction calls.
    let plain = kafka.producer(ProducerConfig::default()).unwrap();
    let e = plain.begin_transaction().unwrap_err();
    assert!(e.message().contains("transactional_id"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_sent_to_a_transaction_count_only_if_it_commits() {
    common::init_tracing();
    let kafka = common::connect().await;
    let input = common::topic(&kafka, "txn-in", 1).await;
    let output = common::topic(&kafka, "txn-out", 1).await;
    common::produce(&kafka, &input, 10).await;
    let group = common::unique("g-txn");
    let consumer = kafka
        .consumer(
            ConsumerConfig::new(&group)
                .group_protocol(GroupProtocol::Consumer)
                .auto_commit(false),
        )
        .unwrap();
    consumer.subscribe(&[&input], true).await.unwrap();
    let mut stream = Box::pin(consumer.stream());
    let mut last = -1;
    let p = txn_producer(&kafka, &common::unique("txn-ctp"));
    p.init_transactions().await.unwrap();
    p.begin_transaction().unwrap();
    for _ in 0..10 {
        let m = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("input record")
            .unwrap()
            .unwrap();
        let v = format!("out-{}", value(&m));
        p.send(Record::new(&output, v.as_bytes())).await.unwrap();
        last = m.offset;
    }
    let meta = consumer.group_metadata();
    assert!(meta.generation_id > 0, "member epoch known: {meta:?}");
    let tp = TopicPartition::new(&input, 0);
    p.send_offsets_to_transaction(&[(tp.clone(), last + 1)], &meta)
        .await
        .expect("send offsets");
    p.commit_transaction().await.expect("commit");

    let committed = |offsets: Vec<kafkit::admin::GroupOffset>| {
        offsets
            .into_iter()
            .find(|o| o.partition == tp)
            .map(|o| o.committed)
    };
    // The commit markers reach the group coordinator shortly after commit returns.
    common::eventually(
        Duration::from_secs(10),
        "the offset committed by the transaction",
        || async { committed(kafka.admin().group_offsets(&group).await.unwrap()) == Some(10) },
    )
    .await;

    // Offsets of an aborted transaction are not committed.
    p.begin_transaction().unwrap();
    p.send(Record::new(&output, b"discarded")).await.unwrap();
    p.send_offsets_to_transaction(&[(tp.clone(), 3)], &consumer.group_metadata())
        .await
        .unwrap();
    p.abort_transaction().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        committed(kafka.admin().group_offsets(&group).await.unwrap()),
        Some(10)
    );
    let out: Vec<String> = read(&kafka, &output, 10, IsolationLevel::ReadCommitted)
        .await
        .iter()
        .map(value)
        .collect();
    assert_eq!(out.len(), 10);
    assert!(out.iter().all(|v| v.starts_with("out-value-")), "{out:?}");
    drop(stream);
    consumer.stop().await.unwrap();
    p.close().await.unwrap();
}
