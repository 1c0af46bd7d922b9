//! The CLI prints what it waits for as it starts waiting: a topic the user is not authorized
//! for (the `acl` profile's broker, user bob without ACLs; `KAFKIT_ACL_BOOTSTRAP`, default
//! 127.0.0.1:9192) and a group member left without partitions (default broker). A topic that
//! does not exist: cli_assign.rs.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bootstrap() -> String {
    std::env::var("KAFKIT_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".to_string())
}

fn acl_bootstrap() -> String {
    std::env::var("KAFKIT_ACL_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9192".to_string())
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{nanos:x}")
}

/// `kafkit` on the default broker, no security settings from the environment.
fn plain(bootstrap: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kafkit"));
    for (k, _) in std::env::vars() {
        if k.starts_with("KAFKIT_SASL")
            || k.starts_with("KAFKIT_TLS")
            || k == "KAFKIT_SECURITY_PROTOCOL"
        {
            c.env_remove(k);
        }
    }
    c.args(["--bootstrap", bootstrap]);
    c
}

/// `kafkit` on the acl broker as `user` (SASL PLAIN).
fn as_user(user: &str, password: &str) -> Command {
    let mut c = plain(&acl_bootstrap());
    c.env("KAFKIT_SASL_MECHANISM", "PLAIN")
        .env("KAFKIT_SASL_USERNAME", user)
        .env("KAFKIT_SASL_PASSWORD", password);
    c
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "kafkit {what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A topic on the acl broker that bob may not touch.
fn forbidden_topic() -> String {
    let topic = unique("cli-forbidden");
    ok(
        as_user("admin", "admin-secret")
            .args(["topic", "create", &topic])
            .output()
            .unwrap(),
        "topic create",
    );
    topic
}

/// The first line `child` writes on stderr, then the child is stopped; also whether it was
/// still running when the line came.
fn first_stderr_line(mut child: Child) -> (String, bool) {
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    (line, running)
}

/// As [`first_stderr_line`], skipping lines that are not JSON (log lines), for up to 20 s.
fn first_json_stderr_line(mut child: Child) -> (String, bool) {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.starts_with('{') {
                let _ = tx.send(line);
                return;
            }
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(20));
    let running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    (line.expect("a JSON line on stderr within 20 s"), running)
}

#[test]
fn produce_says_at_once_that_its_topic_is_not_authorized() {
    let topic = forbidden_topic();
    let mut child = as_user("bob", "bob-secret")
        .args(["--json", "produce", "--topic", &topic])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "a record").unwrap();
    // Bob may not write idempotently either: the log says so too (a line that is not JSON);
    // the warning is the first JSON line.
    let (line, still_waiting) = first_json_stderr_line(child);
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["event"], "warning", "{line}");
    let message = v["message"].as_str().unwrap();
    assert!(
        message.contains(&topic) && message.contains("not authorized") && message.contains("grant"),
        "{message}"
    );
    assert!(message.contains("max_block"), "{message}");
    assert!(still_waiting, "the send still waits as configured");
}

#[test]
fn consume_of_a_partition_says_at_once_that_its_topic_is_not_authorized() {
    let topic = forbidden_topic();
    let child = as_user("bob", "bob-secret")
        .args(["consume", "--topic", &topic, "--partition", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (line, _) = first_stderr_line(child);
    assert!(
        line.contains("warning") && line.contains(&topic) && line.contains("not authorized"),
        "{line}"
    );
}

#[test]
fn a_consumer_without_partitions_says_what_it_waits_for() {
    let topic = unique("cli-idle");
    let group = unique("g-cli-idle");
    ok(
        plain(&bootstrap())
            .args(["topic", "create", &topic, "--partitions", "1"])
            .output()
            .unwrap(),
        "topic create",
    );
    let member = |idle_secs: &str| {
        plain(&bootstrap())
            .args([
                "consume",
                "--group",
                &group,
                "--topic",
                &topic,
                "--idle-timeout-secs",
                idle_secs,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // The first member takes the only partition.
    let mut first = member("60");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = plain(&bootstrap())
            .args(["--json", "group", "describe", &group])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        if text.contains(&format!("{topic}-0")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the first member got no partition: {text}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // The second gets none, and says so before it gives up.
    let second = member("12").wait_with_output().unwrap();
    let _ = first.kill();
    let _ = first.wait();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("warning")
            && stderr.contains("no partition assigned")
            && stderr.contains(&group)
            && stderr.contains("more members than partitions"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("no partition assigned").count(),
        1,
        "said once: {stderr}"
    );
}
