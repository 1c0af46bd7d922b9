//! Transactions against the real broker: aborted records invisible to read_committed readers
//! (kafkit's and Java's), committed ones visible, a fenced instance gets a fatal error, and
//! offsets sent to a transaction count only if it commits. The producer speaks the protocol
//! the broker finalizes: transaction version 2 (KIP-890) on a default Kafka 4.x broker, 1 on
//! one started with `KAFKIT_TRANSACTION_VERSION=1 scripts/kafka up`; every test here passes on
//! both, and the version and its epoch behaviour are checked against the broker's features.

mod common;

use std::time::Duration;

use futures::StreamExt;
use kafkit::consumer::{ConsumerConfig, IsolationLevel, Message};
use kafkit::producer::{Producer, ProducerConfig, Record, TransactionVersion};
use kafkit::{ErrorKind, Kafka, NewTopic, TopicPartition};

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
                .group_protocol(common::group_protocol(kafka).await)
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
                .group_protocol(common::group_protocol(&kafka).await)
                .auto_commit(false),
        )
        .unwrap();
    consumer.subscribe(&[&input], true).await.unwrap();
    let mut stream = Box::pin(consumer.stream());
    let mut last = -1;
    let p = txn_producer(&kafka, &common::unique("txn-ctp"));
    p.init_transactions().await.unwrap();
    assert_eq!(
        p.transaction_version(),
        Some(common::cluster_transaction_version(&kafka).await)
    );
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

/// The producer epoch the transaction coordinator holds for `id`.
async fn coordinator_epoch(kafka: &Kafka, id: &str) -> i16 {
    let d = kafka
        .admin()
        .describe_transactions(&[id])
        .await
        .expect("describe transaction");
    d[0].producer_epoch
}

/// The producer speaks the protocol the broker finalizes; with V2 every transaction end (commit
/// or abort) bumps the epoch, which the producer adopts (its next transaction writes with it),
/// with V1 the epoch stays. Either way the committed records, and only they, are read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_protocol_follows_the_cluster_and_v2_bumps_the_epoch_per_transaction() {
    common::init_tracing();
    let kafka = common::connect().await;
    let want = common::cluster_transaction_version(&kafka).await;
    let topic = common::topic(&kafka, "txn-tv", 2).await;
    let id = common::unique("txn-tv");
    let p = txn_producer(&kafka, &id);
    assert_eq!(p.transaction_version(), None, "before init_transactions");
    p.init_transactions().await.unwrap();
    assert_eq!(p.transaction_version(), Some(want));
    let plain = kafka.producer(ProducerConfig::default()).unwrap();
    assert_eq!(plain.transaction_version(), None, "not transactional");

    let mut epochs = vec![coordinator_epoch(&kafka, &id).await];
    for (i, commit) in [true, false, true, true].into_iter().enumerate() {
        p.begin_transaction().unwrap();
        send_values(&p, &topic, &format!("t{i}"), 4).await;
        if commit {
            p.commit_transaction().await.expect("commit");
        } else {
            p.abort_transaction().await.expect("abort");
        }
        epochs.push(coordinator_epoch(&kafka, &id).await);
    }
    match want {
        TransactionVersion::V2 => {
            for w in epochs.windows(2) {
                assert_eq!(w[1], w[0] + 1, "one bump per transaction end: {epochs:?}");
            }
        }
        _ => assert!(epochs.iter().all(|e| *e == epochs[0]), "{epochs:?}"),
    }
    // The partitions' producer state ends at the coordinator's epoch: with V2 the markers are
    // written with the bumped epoch, and each transaction after the first wrote its records with
    // the epoch the previous EndTxn returned (an older one would have been fenced).
    let states = kafka
        .admin()
        .describe_producers(&[
            TopicPartition::new(&topic, 0),
            TopicPartition::new(&topic, 1),
        ])
        .await
        .expect("describe producers");
    let written = states.iter().map(|s| s.producer_epoch).max().unwrap();
    assert_eq!(
        written,
        i32::from(*epochs.last().unwrap()),
        "{states:?} {epochs:?}"
    );

    let mut got: Vec<String> = read(&kafka, &topic, 12, IsolationLevel::ReadCommitted)
        .await
        .iter()
        .map(value)
        .collect();
    got.sort();
    let mut want_values: Vec<String> = ["t0", "t2", "t3"]
        .iter()
        .flat_map(|t| (0..4).map(move |i| format!("{t}-{i}")))
        .collect();
    want_values.sort();
    assert_eq!(got, want_values);
    p.close().await.unwrap();
}

/// A record the broker refuses (too large for the topic) makes the transaction abortable; the
/// abort starts a new epoch (V1: InitProducerId, KIP-360; V2: the abort's EndTxn) so the
/// partition's sequences restart, and the next transaction on the same partition commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_record_is_aborted_and_the_next_transaction_commits() {
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::unique("txn-refused");
    kafka
        .admin()
        .create_topics(&[NewTopic::new(&topic, 1).config("max.message.bytes", "2000")])
        .await
        .expect("create topic");
    let p = txn_producer(&kafka, &common::unique("txn-refused"));
    p.init_transactions().await.unwrap();
    let big = vec![b'x'; 10_000];
    // A transaction whose only record is refused: with V2 the coordinator may never have heard
    // of it (the partition is added by the produce), and the abort still succeeds.
    p.begin_transaction().unwrap();
    let ack = p.send(Record::new(&topic, &big)).await.expect("queued");
    ack.await.expect_err("the broker refuses the record");
    p.abort_transaction()
        .await
        .expect("abort of a refused-only transaction");

    p.begin_transaction().unwrap();
    send_values(&p, &topic, "before", 3).await;
    p.flush().await.unwrap();
    let ack = p.send(Record::new(&topic, &big)).await.expect("queued");
    let e = ack.await.expect_err("the broker refuses the record");
    assert!(e.kafka_error().is_some(), "{e}");
    let e = p
        .commit_transaction()
        .await
        .expect_err("a failed record makes the transaction abortable");
    assert!(e.message().contains("abort_transaction"), "{e}");
    p.abort_transaction().await.expect("abort");

    p.begin_transaction().unwrap();
    send_values(&p, &topic, "after", 3).await;
    p.commit_transaction()
        .await
        .expect("commit after the abort");
    let got: Vec<String> = read(&kafka, &topic, 3, IsolationLevel::ReadCommitted)
        .await
        .iter()
        .map(value)
        .collect();
    assert_eq!(got, ["after-0", "after-1", "after-2"]);
    p.close().await.unwrap();
}
