//! `kafkit consume --events` as a new user runs it: on a topic the handle has never seen, the
//! group events name the topic (never a topic id) and carry the join's fields.

mod common;

use std::process::Command;

fn bootstrap() -> String {
    std::env::var("KAFKIT_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".to_string())
}

fn kafkit(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_kafkit"))
        .args(["--bootstrap", &bootstrap()])
        .args(args)
        .output()
        .expect("kafkit runs");
    assert!(
        out.status.success(),
        "kafkit {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn consume_events_name_the_topic_and_the_join() {
    if common::needs_kafka4("KIP-848 consumer groups: the join event's member epoch") {
        return;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let topic = format!("cli-events-{nanos:x}");
    let group = format!("g-cli-events-{nanos:x}");
    kafkit(&["topic", "create", &topic, "--partitions", "2"]);
    kafkit(&["produce", "--topic", &topic, "--count", "4"]);
    let out = kafkit(&[
        "--json",
        "consume",
        "--group",
        &group,
        "--topic",
        &topic,
        "--from-beginning",
        "--max-records",
        "4",
        "--events",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let join = events
        .iter()
        .find(|e| e["event"] == "group_join")
        .unwrap_or_else(|| panic!("no group_join in {stderr}"));
    assert_eq!(join["group"], group.as_str());
    assert_eq!(join["group_protocol"], "consumer");
    assert!(join["member_epoch"].as_i64().unwrap() >= 1, "{join}");
    assert!(join["duration_ms"].is_u64(), "{join}");
    // The join's assignment and what heartbeats added after it: the topic's two partitions,
    // by name.
    let mut named: Vec<String> = Vec::new();
    for e in &events {
        for key in ["assignment", "added"] {
            if let Some(list) = e[key].as_array() {
                named.extend(list.iter().filter_map(|v| v.as_str().map(str::to_string)));
            }
        }
    }
    named.sort();
    named.dedup();
    assert_eq!(
        named,
        vec![format!("{topic}-0"), format!("{topic}-1")],
        "{stderr}"
    );
    let records = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(records, 4);
    kafkit(&["topic", "delete", &topic]);
}
