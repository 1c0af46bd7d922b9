//! Warnings reach a user who set nothing up: with no `tracing` subscriber and no listener of
//! `Kafka::events`, a send to a topic that does not exist says so on stderr at once, instead
//! of waiting `max_block` in silence. The silent process is a child: this test binary run
//! again for the one test below, whose stderr the parent reads (a process that installed a
//! subscriber once cannot uninstall it, so the check needs a fresh one).

mod common;

use std::process::Command;
use std::time::Duration;

use kafkit::producer::{ProducerConfig, Record};
use kafkit::{Kafka, KafkaConfig};

const CHILD: &str = "KAFKIT_DEFAULT_WARNINGS_CHILD";

/// Runs only in the child: no subscriber, no listener, a send to a missing topic.
#[tokio::test]
async fn child_sends_to_a_missing_topic_with_nothing_set_up() {
    let Ok(quiet) = std::env::var(CHILD) else {
        return; // run by the parent below
    };
    let config = common::config().stderr_warnings(quiet != "quiet");
    let kafka = Kafka::connect(config).await.expect("connect");
    let producer = kafka
        .producer(ProducerConfig::default().max_block(Duration::from_secs(2)))
        .expect("producer");
    let topic = common::unique("default-warnings-missing");
    let e = producer.send(Record::new(&topic, "v")).await.unwrap_err();
    eprintln!("send failed: {e}");
}

fn run_child(mode: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_sends_to_a_missing_topic_with_nothing_set_up",
            "--nocapture",
        ])
        .env(CHILD, mode)
        .env("KAFKIT_BOOTSTRAP", common::bootstrap())
        .output()
        .expect("run the child");
    assert!(out.status.success(), "child failed: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_missing_topic_is_said_on_stderr_when_nothing_else_would_show_it() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    let stderr = run_child("default");
    let warning = stderr
        .lines()
        .find(|l| l.starts_with("kafkit warning:"))
        .unwrap_or_else(|| panic!("no warning on stderr:\n{stderr}"));
    assert!(warning.contains("does not exist"), "{warning}");
    assert!(
        warning.contains("Admin::create_topics"),
        "names the library's fix, not a CLI command: {warning}"
    );
    assert!(
        warning.contains("max_block"),
        "says how long it waits: {warning}"
    );
    // The warning comes before the failure, not with it.
    let (w, f) = (
        stderr.find("kafkit warning:").unwrap(),
        stderr
            .find("send failed:")
            .expect("the send fails after max_block"),
    );
    assert!(w < f, "{stderr}");
}

#[test]
fn stderr_warnings_can_be_turned_off() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    let stderr = run_child("quiet");
    assert!(stderr.contains("send failed:"), "{stderr}");
    assert!(!stderr.contains("kafkit warning:"), "{stderr}");
}

#[test]
fn the_default_is_on() {
    assert!(KafkaConfig::new(["h:1"]).stderr_warnings);
}
