//! Nothing lost at the CLI's edges, against the real broker: `produce` reads stdin as bytes
//! and sends each line as it arrives; `consume` leaves its group and commits what it printed on
//! SIGTERM as on Ctrl-C.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bootstrap() -> String {
    std::env::var("KAFKIT_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".to_string())
}

fn kafkit() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kafkit"));
    c.args(["--bootstrap", &bootstrap()]);
    c
}

fn ok(args: &[&str]) -> String {
    let out = kafkit().args(args).output().expect("kafkit runs");
    assert!(
        out.status.success(),
        "kafkit {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{nanos:x}")
}

/// The values of a partition's records from offset 0, as `--json` gives them exactly.
fn values(topic: &str, n: usize) -> Vec<serde_json::Value> {
    let out = ok(&[
        "--json",
        "consume",
        "-t",
        topic,
        "-P",
        "0",
        "--offset",
        "0",
        "--max-records",
        &n.to_string(),
    ]);
    out.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["value"].clone())
        .collect()
}

/// A line that is not UTF-8 is sent as it is; before, reading stopped there and the command
/// exited 0 having sent only the lines before it.
#[test]
fn produce_sends_every_line_bytes_and_all() {
    let topic = unique("cli-bytes");
    ok(&["topic", "create", &topic, "--partitions", "1"]);
    let mut child = kafkit()
        .args(["produce", "-t", &topic, "--print-offsets"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a\nb\xff\nc\nlast without newline")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 4);
    let got = values(&topic, 4);
    assert_eq!(got[0], "a");
    // Not UTF-8: --json gives the exact bytes in base64.
    assert_eq!(got[1]["base64"], "Yv8=", "{:?}", got[1]);
    assert_eq!(got[2], "c");
    assert_eq!(got[3], "last without newline");
}

/// A line is sent when it is read, not at the end of input (`tail -f | kafkit produce`).
#[test]
fn produce_sends_each_line_as_it_arrives() {
    let topic = unique("cli-stream");
    ok(&["topic", "create", &topic, "--partitions", "1"]);
    let mut child = kafkit()
        .args(["produce", "-t", &topic, "--linger-ms", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"first\n").unwrap();
    stdin.flush().unwrap();
    // stdin stays open: the record must be readable already.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = kafkit()
            .args([
                "--json", "consume", "-t", &topic, "-P", "0", "--offset", "0",
            ])
            .args(["--max-records", "1", "--idle-timeout-secs", "2"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout).contains("first") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the line was not sent while stdin stayed open"
        );
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// SIGTERM (what `timeout`, docker, systemd and Kubernetes send) ends `consume` as Ctrl-C
/// does: it commits what it printed and leaves the group at once. Before, the process died
/// and the member stayed in the group until its session timed out.
#[test]
fn consume_leaves_its_group_and_commits_on_sigterm() {
    let topic = unique("cli-term");
    let group = unique("g-cli-term");
    ok(&["topic", "create", &topic, "--partitions", "1"]);
    ok(&["produce", "-t", &topic, "--count", "5"]);
    let child = kafkit()
        .args([
            "consume",
            "-t",
            &topic,
            "--group",
            &group,
            "--group-protocol",
            common::group_protocol(),
            "--from-beginning",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // It has read the five records once its group shows the member with the partition.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // The group does not exist until the member joins: describe fails until then.
        let out = kafkit()
            .args(["--json", "group", "describe", &group])
            .output()
            .unwrap();
        let desc = String::from_utf8_lossy(&out.stdout).into_owned();
        if desc.contains(&format!("\"{topic}-0\"")) {
            break;
        }
        assert!(Instant::now() < deadline, "no member in {group}: {desc}");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(1));
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 5);
    assert!(started.elapsed() < Duration::from_secs(10));
    // Left at once (not after a session timeout), with the five records committed.
    let desc = ok(&["--json", "group", "describe", &group]);
    let v: serde_json::Value = serde_json::from_str(desc.trim()).unwrap();
    let members = v["members"].as_array().map_or(0, |m| m.len());
    assert_eq!(members, 0, "{desc}");
    let offsets = ok(&["--json", "group", "offsets", &group]);
    let v: serde_json::Value = serde_json::from_str(offsets.trim()).unwrap();
    assert_eq!(v[0]["committed"], 5, "{offsets}");
}
