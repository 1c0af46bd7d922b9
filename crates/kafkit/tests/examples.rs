//! Every code example of the reference document, as kafkit's runnable examples
//! (`crates/kafkit/examples/`), run against the real broker the way a user runs them: the
//! example binary is started on fresh topics, records are produced, what it prints is checked,
//! Ctrl-C stops it, and the group's committed offsets are read back with the admin API.
//!
//! `cargo test` builds the examples beside the tests; a filtered run (`--test examples`) does
//! not, and then these tests say so.

mod common;

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafkit::admin::GroupKind;
use kafkit::producer::{ProducerConfig, Record};
use kafkit::{Kafka, TopicPartition};

/// A running example, stopped (SIGKILL) if the test ends before it does.
struct Example {
    name: &'static str,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

fn examples_dir() -> PathBuf {
    // target/<profile>/deps/<this test> -> target/<profile>/examples
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("examples"))
        .expect("target directory")
}

fn start(
    name: &'static str,
    group: &str,
    topics: &[&str],
    env: &[(&str, &str)],
    args: &[&str],
) -> Example {
    let bin = examples_dir().join(name);
    let source = PathBuf::from(common::repo()).join(format!("crates/kafkit/examples/{name}.rs"));
    let built = std::fs::metadata(&bin).and_then(|m| m.modified());
    let edited = std::fs::metadata(&source)
        .and_then(|m| m.modified())
        .expect("example source");
    match built {
        Ok(built) if built >= edited => {}
        _ => panic!(
            "example binary {} is missing or older than its source: `cargo test -p kafkit` builds the examples (a run filtered with --test does not); or run `cargo build -p kafkit --examples` first",
            bin.display()
        ),
    }
    let mut child = Command::new(&bin)
        .args(args)
        .env("KAFKIT_BOOTSTRAP", common::bootstrap())
        .env("KAFKIT_EXAMPLE_GROUP", group)
        .env("KAFKIT_EXAMPLE_TOPICS", topics.join(","))
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let lines = Arc::new(Mutex::new(Vec::new()));
    let out = child.stdout.take().expect("stdout");
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    Example { name, child, lines }
}

impl Example {
    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    fn count(&self, needle: &str) -> usize {
        self.lines().iter().filter(|l| l.contains(needle)).count()
    }

    async fn wait_for(&self, what: &str, f: impl Fn(&[String]) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !f(&self.lines()) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{}: timed out after 60 s waiting for {what}; it printed {:?}",
                self.name,
                self.lines()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Ctrl-C, as a user stops it: the example must leave cleanly, with status 0.
    async fn interrupt(self) -> Vec<String> {
        self.signal("INT").await
    }

    /// `kill -SIGNAL`: SIGINT (Ctrl-C) or SIGTERM (what `timeout`, docker, systemd and
    /// Kubernetes send) must both leave the group cleanly, with status 0.
    async fn signal(mut self, signal: &str) -> Vec<String> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([format!("-{signal}").as_str(), &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "{} exited with {status}", self.name);
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} did not stop within 40 s of SIG{signal}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The reader thread sees end of file once the process is gone.
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.lines()
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Produces `value-N` records to `topic` every 200 ms until `done` holds (the examples start
/// at the latest offset, as the document's, so records sent before they are positioned are not
/// theirs); returns how many were sent.
async fn produce_until(
    kafka: &Kafka,
    topic: &str,
    example: &Example,
    done: impl Fn(&Example) -> bool,
) -> usize {
    let producer = kafka.producer(ProducerConfig::default()).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut sent = 0;
    while !done(example) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}: still waiting after 60 s; printed: {:?}",
            example.name,
            example.lines()
        );
        let value = format!("value-{sent}");
        producer
            .send(Record::new(topic, value.as_bytes()).partition(0))
            .await
            .unwrap()
            .await
            .unwrap();
        sent += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    producer.close().await.unwrap();
    sent
}

/// One last record, and waits until the example has printed it.
async fn finish(kafka: &Kafka, topic: &str, example: &Example, printed_as: &str) {
    let producer = kafka.producer(ProducerConfig::default()).unwrap();
    producer
        .send(Record::new(topic, &b"last"[..]).partition(0))
        .await
        .unwrap()
        .await
        .unwrap();
    producer.close().await.unwrap();
    let needle = printed_as.to_string();
    example
        .wait_for(&format!("prints {printed_as}"), |l| {
            l.iter().any(|x| x.contains(&needle))
        })
        .await;
}

async fn committed(kafka: &Kafka, group: &str) -> BTreeMap<TopicPartition, i64> {
    kafka
        .admin()
        .group_offsets(group)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.committed >= 0)
        .map(|o| (o.partition, o.committed))
        .collect()
}

#[tokio::test]
async fn basic_configuration_prints_each_value() {
    if common::needs_kafka4("KIP-848 consumer groups: the examples are KafkaJS's KIP-848 examples")
        .await
    {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "ex-basic", 1).await;
    let group = common::unique("g-ex-basic");
    let ex = start("basic", &group, &[&topic], &[], &[]);
    produce_until(&kafka, &topic, &ex, |e| e.count("{ value: 'value-") >= 3).await;
    let lines = ex.interrupt().await;
    let values: Vec<usize> = lines
        .iter()
        .map(|l| {
            l.strip_prefix("{ value: 'value-")
                .and_then(|r| r.strip_suffix("' }"))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("line not in the document's shape: {l:?}"))
        })
        .collect();
    assert!(
        values.windows(2).all(|w| w[1] == w[0] + 1),
        "in order, none skipped after the first: {values:?}"
    );
}

#[tokio::test]
async fn server_side_assignor_is_the_one_named_and_uniform_by_default() {
    if common::needs_kafka4("KIP-848 consumer groups: the examples are KafkaJS's KIP-848 examples")
        .await
    {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "ex-assignor", 3).await;
    for assignor in ["uniform", "range"] {
        let group = common::unique("g-ex-assignor");
        let ex = start(
            "remote_assignor",
            &group,
            &[&topic],
            &[("KAFKIT_EXAMPLE_ASSIGNOR", assignor)],
            &[],
        );
        let all: Vec<String> = (0..3).map(|p| format!("{topic}-{p}")).collect();
        let joined = format!("joined with assignor {assignor}:");
        ex.wait_for("the join, then all three partitions named", |l| {
            let named: Vec<&str> = l
                .iter()
                .filter_map(|x| x.split_once(": ").map(|(_, list)| list))
                .flat_map(|list| list.split(", "))
                .collect();
            l.first().is_some_and(|x| x.starts_with(&joined))
                && all.iter().all(|p| named.contains(&p.as_str()))
        })
        .await;
        let d = &kafka.admin().describe_groups(&[&group]).await.unwrap()[0];
        assert_eq!(d.assignor, assignor, "{d:?}");
        ex.interrupt().await;
    }
}

#[tokio::test]
async fn live_migration_rolls_a_classic_member_over_to_the_consumer_protocol() {
    if common::needs_kafka4("KIP-848 consumer groups: the examples are KafkaJS's KIP-848 examples")
        .await
    {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "ex-migrate", 1).await;
    let group = common::unique("g-ex-migrate");
    let old = start("migration", &group, &[&topic], &[], &["classic"]);
    produce_until(&kafka, &topic, &old, |e| e.count("classic: value-") >= 2).await;
    let d = &kafka.admin().describe_groups(&[&group]).await.unwrap()[0];
    assert_eq!(d.kind, GroupKind::Classic, "{d:?}");
    // Rolling restart: the new configuration joins, then the old instance stops.
    let new = start("migration", &group, &[&topic], &[], &["consumer"]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    old.interrupt().await;
    produce_until(&kafka, &topic, &new, |e| e.count("consumer: value-") >= 2).await;
    let d = &kafka.admin().describe_groups(&[&group]).await.unwrap()[0];
    assert_eq!(
        d.kind,
        GroupKind::Consumer,
        "the group converted once its last classic member left: {d:?}"
    );
    new.interrupt().await;
}

#[tokio::test]
async fn monitoring_prints_the_join_and_every_heartbeat() {
    if common::needs_kafka4("KIP-848 consumer groups: the examples are KafkaJS's KIP-848 examples")
        .await
    {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "ex-monitor", 2).await;
    let group = common::unique("g-ex-monitor");
    let ex = start("monitoring", &group, &[&topic], &[], &[]);
    let name = topic.clone();
    ex.wait_for(
        "a GROUP_JOIN line with the member epoch and the assignment by name",
        move |l| {
            l.iter().any(|x| {
                x.starts_with("Group join event:")
                    && x.contains("member_epoch: ")
                    && x.contains(&format!("topic: \"{name}\", partition: 1"))
            })
        },
    )
    .await;
    ex.wait_for(
        "several HEARTBEAT lines (the broker asks one a second)",
        |l| {
            l.iter()
                .filter(|x| x.starts_with("Heartbeat event:"))
                .count()
                >= 3
        },
    )
    .await;
    let lines = ex.interrupt().await;
    assert!(
        !lines.iter().any(|l| l.contains("-0000-")),
        "never a topic id in an event: {lines:?}"
    );
}

#[tokio::test]
async fn auto_offset_management_reads_both_topics_and_commits_what_it_processed() {
    if common::needs_kafka4("KIP-848 consumer groups: the examples are KafkaJS's KIP-848 examples")
        .await
    {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let orders = common::topic(&kafka, "ex-orders", 1).await;
    let payments = common::topic(&kafka, "ex-payments", 1).await;
    let group = common::unique("g-ex-auto");
    let ex = start("auto_offset", &group, &[&orders, &payments], &[], &[]);
    let o = format!("Processing {orders}[0]: value-");
    produce_until(&kafka, &orders, &ex, |e| e.count(&o) >= 2).await;
    let p = format!("Processing {payments}[0]: value-");
    produce_until(&kafka, &payments, &ex, |e| e.count(&p) >= 2).await;
    finish(
        &kafka,
        &orders,
        &ex,
        &format!("Processing {orders}[0]: last"),
    )
    .await;
    finish(
        &kafka,
        &payments,
        &ex,
        &format!("Processing {payments}[0]: last"),
    )
    .await;
    ex.signal("TERM").await;
    // SIGTERM stops it as Ctrl-C does: everything processed was committed (on stop at the
    // latest), and the member left the group at once rather than at its session timeout.
    let described = kafka.admin().describe_groups(&[&group]).await.unwrap();
    assert!(
        described.iter().all(|g| g.members.is_empty()),
        "left at once: {described:?}"
    );
    let offsets = kafka.admin().group_offsets(&group).await.unwrap();
    assert_eq!(offsets.len(), 2, "{offsets:?}");
    assert!(
        offsets.iter().all(|o| o.committed > 0 && o.lag == 0),
        "{offsets:?}"
    );
}

#[tokio::test]
async fn manual_offset_control_commits_each_offset_plus_one() {
    if common::needs_kafka4("KIP-848 consumer groups: the examples are KafkaJS's KIP-848 examples")
        .await
    {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "ex-manual", 1).await;
    let group = common::unique("g-ex-manual");
    let ex = start("manual_offset", &group, &[&topic], &[], &[]);
    let sent = produce_until(&kafka, &topic, &ex, |e| e.count("processed ") >= 3).await;
    finish(&kafka, &topic, &ex, ": last").await;
    let tp = TopicPartition::new(&topic, 0);
    let end = sent as i64 + 1;
    // Committed by the handler itself (auto-commit is off): visible before the stop.
    common::eventually(
        Duration::from_secs(10),
        "the last record's offset + 1 committed",
        || {
            let (kafka, group, tp) = (kafka.clone(), group.clone(), tp.clone());
            async move { committed(&kafka, &group).await.get(&tp) == Some(&end) }
        },
    )
    .await;
    let lines = ex.interrupt().await;
    let first: i64 = lines[0]
        .strip_prefix("processed ")
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.parse().ok())
        .expect("processed N: value");
    assert!(first < end);
}

#[tokio::test]
async fn batch_processing_resolves_each_record_and_commits_the_batch() {
    if common::needs_kafka4("KIP-848 consumer groups: the examples are KafkaJS's KIP-848 examples")
        .await
    {
        return;
    }
    common::init_tracing();
    let kafka = common::connect().await;
    let topic = common::topic(&kafka, "ex-batch", 1).await;
    let group = common::unique("g-ex-batch");
    let ex = start("batch_processing", &group, &[&topic], &[], &[]);
    let line = format!("batch record {topic}[0]@");
    let end = produce_until(&kafka, &topic, &ex, |e| e.count(&line) >= 3).await as i64;
    let last = format!("{line}{}", end - 1);
    ex.wait_for("the last record", |l| l.iter().any(|x| x == &last))
        .await;
    ex.interrupt().await;
    let c = committed(&kafka, &group).await;
    assert_eq!(c.get(&TopicPartition::new(&topic, 0)), Some(&end), "{c:?}");
}
