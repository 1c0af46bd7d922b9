//! `kafkit share` as a new user runs it: start a share group at the beginning, consume with an
//! acknowledgement type, describe it, delete it.

mod common;

use std::process::Command;

fn bootstrap() -> String {
    std::env::var("KAFKIT_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".to_string())
}

fn kafkit(args: &[&str]) -> String {
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
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn share_consume_rejects_then_describe_and_delete() {
    if common::needs_kafka4("share groups, KIP-932") {
        return;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let topic = format!("cli-share-{nanos:x}");
    let group = format!("sg-cli-{nanos:x}");
    kafkit(&["topic", "create", &topic, "--partitions", "1"]);
    kafkit(&["produce", "--topic", &topic, "--count", "3"]);
    // Without --execute, a plan: nothing is set (the group has no start offsets yet).
    let plan = kafkit(&[
        "share",
        "offsets",
        &group,
        "--reset-to",
        "earliest",
        "--topic",
        &topic,
    ]);
    assert!(plan.contains(&format!("{topic}-0\t0")), "{plan}");
    // The group may not exist yet (an error) or have no offsets: either way, none of topic's.
    let before = Command::new(env!("CARGO_BIN_EXE_kafkit"))
        .args(["--bootstrap", &bootstrap(), "share", "offsets", &group])
        .output()
        .expect("kafkit runs");
    let before = String::from_utf8_lossy(&before.stdout);
    assert!(
        !before.contains(&topic),
        "a dry run changes nothing: {before}"
    );
    let offsets = kafkit(&[
        "share",
        "offsets",
        &group,
        "--reset-to",
        "earliest",
        "--topic",
        &topic,
        "--execute",
    ]);
    assert!(offsets.contains(&format!("{topic}-0\t0")), "{offsets}");
    let after = kafkit(&["share", "offsets", &group]);
    assert!(after.contains(&format!("{topic}-0\t0")), "{after}");
    let first = kafkit(&[
        "share",
        "consume",
        "--group",
        &group,
        "--topic",
        &topic,
        "--ack",
        "reject",
        "--max-records",
        "3",
        "--idle-timeout-secs",
        "20",
    ]);
    assert_eq!(
        first.lines().filter(|l| l.contains("delivery 1")).count(),
        3,
        "{first}"
    );
    // Rejected: nothing comes back.
    let second = kafkit(&[
        "--json",
        "share",
        "consume",
        "--group",
        &group,
        "--topic",
        &topic,
        "--idle-timeout-secs",
        "8",
    ]);
    assert_eq!(second.trim(), "", "rejected records never return: {second}");
    let described = kafkit(&["share", "describe", &group]);
    assert!(
        described.contains(&format!("share group {group}")),
        "{described}"
    );
    kafkit(&["share", "delete", &group]);
    let listed = kafkit(&["share", "list"]);
    assert!(!listed.contains(&group), "{listed}");
    kafkit(&["topic", "delete", &topic]);
}
