//! `kafkit consume --partition` reads a partition with no group, from where it is told; and
//! `kafkit produce` / `kafkit consume` say at once that their topic does not exist.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

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

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{nanos:x}")
}

/// (partition, offset) of each JSON record printed.
fn records(out: &std::process::Output) -> Vec<(i64, i64)> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON record");
            (
                v["partition"].as_i64().unwrap(),
                v["offset"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn consume_reads_a_partition_without_a_group() {
    let topic = unique("cli-assign");
    kafkit(&["topic", "create", &topic, "--partitions", "2"]);
    kafkit(&[
        "produce",
        "--topic",
        &topic,
        "--partition",
        "1",
        "--count",
        "6",
    ]);
    kafkit(&[
        "produce",
        "--topic",
        &topic,
        "--partition",
        "0",
        "--count",
        "3",
    ]);
    let read = |from: &[&str], n: &str| {
        let mut args = vec!["--json", "consume", "--topic", &topic, "--partition", "1"];
        args.extend_from_slice(from);
        args.extend_from_slice(&["--max-records", n]);
        records(&kafkit(&args))
    };
    assert_eq!(
        read(&["--offset", "2"], "4"),
        vec![(1, 2), (1, 3), (1, 4), (1, 5)]
    );
    assert_eq!(read(&["--from-beginning"], "2"), vec![(1, 0), (1, 1)]);
    assert_eq!(read(&["--from-time", "-1h"], "1"), vec![(1, 0)]);
    kafkit(&["topic", "delete", &topic]);
}

/// Without a group, `consume --topic T` reads the whole topic (as kcat -C does); a topic that
/// does not exist, or a --pattern (which only a group's members can use), says what to give.
#[test]
fn consume_without_a_group_says_what_to_give() {
    let missing = unique("cli-missing-whole");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kafkit"))
            .args(["--bootstrap", &bootstrap(), "consume"])
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["--topic", &missing]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does not exist") && stderr.contains("kafkit topic create"),
        "{stderr}"
    );
    let out = run(&["--pattern", "cli-.*"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--group") && stderr.contains("--topic"),
        "{stderr}"
    );
}

#[test]
fn consume_says_its_topic_does_not_exist() {
    let topic = unique("cli-missing-sub");
    let group = unique("g-cli-missing");
    let out = kafkit(&[
        "consume",
        "--group",
        &group,
        "--group-protocol",
        common::group_protocol(),
        "--topic",
        &topic,
        "--idle-timeout-secs",
        "3",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning") && stderr.contains(&topic) && stderr.contains("does not exist"),
        "{stderr}"
    );
}

#[test]
fn produce_says_at_once_that_its_topic_does_not_exist() {
    let topic = unique("cli-missing");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kafkit"))
        .args([
            "--bootstrap",
            &bootstrap(),
            "--json",
            "produce",
            "--topic",
            &topic,
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "a record").unwrap();
    }
    // The first line on stderr is the warning, long before max_block ends the send.
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let still_waiting = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    let _ = child.wait();
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["event"], "warning", "{line}");
    let message = v["message"].as_str().unwrap();
    assert!(
        message.contains(&topic) && message.contains("does not exist"),
        "{message}"
    );
    assert!(message.contains("max_block"), "{message}");
    assert!(still_waiting, "the send still waits as configured");
}
