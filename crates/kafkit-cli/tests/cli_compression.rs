//! `kafkit produce --compression-level` (KIP-390): records produced at a non-default level of
//! each codec that has levels are consumed back as sent, and a level out of the codec's range
//! (or one for a codec without levels) is refused naming the flag, the range and the fix.
//! Needs the default broker (`KAFKIT_BOOTSTRAP`, default 127.0.0.1:9092).

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn bootstrap() -> String {
    std::env::var("KAFKIT_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".to_string())
}

fn command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kafkit"));
    for (k, _) in std::env::vars() {
        if k.starts_with("KAFKIT_SASL")
            || k.starts_with("KAFKIT_TLS")
            || k == "KAFKIT_SECURITY_PROTOCOL"
        {
            c.env_remove(k);
        }
    }
    c.args(["--bootstrap", &bootstrap()]);
    c
}

fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "kafkit {what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn kafkit(args: &[&str]) -> Output {
    ok(
        command().args(args).output().expect("kafkit runs"),
        &format!("{args:?}"),
    )
}

/// Runs `kafkit produce` with `lines` on stdin.
fn produce(args: &[&str], lines: &str) -> Output {
    let mut child = command()
        .arg("produce")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kafkit runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{nanos:x}")
}

#[test]
fn records_produced_at_a_chosen_level_are_consumed_back() {
    for (codec, level) in [("gzip", "9"), ("zstd", "-5"), ("lz4", "12"), ("gzip", "-1")] {
        let topic = unique(&format!("cli-level-{codec}"));
        kafkit(&["topic", "create", &topic, "--partitions", "1"]);
        let lines: String = (0..40)
            .map(|i| format!("{{\"id\":{i},\"codec\":\"{codec}\",\"level\":{level}}}\n"))
            .collect();
        let out = produce(
            &[
                "--topic",
                &topic,
                "--compression",
                codec,
                "--compression-level",
                level,
            ],
            &lines,
        );
        ok(out, &format!("produce {codec} {level}"));
        let out = kafkit(&[
            "consume",
            "--topic",
            &topic,
            "-P",
            "0",
            "--from-beginning",
            "--max-records",
            "40",
            "--idle-timeout-secs",
            "30",
        ]);
        let got = String::from_utf8_lossy(&out.stdout);
        let values: Vec<&str> = got.lines().collect();
        assert_eq!(values.len(), 40, "{codec} {level}: {got}");
        for (i, v) in values.iter().enumerate() {
            assert!(
                v.contains(&format!("{{\"id\":{i},\"codec\":\"{codec}\"")),
                "{codec} {level}: record {i} is {v}"
            );
        }
        kafkit(&["topic", "delete", &topic]);
    }
}

#[test]
fn a_level_out_of_range_names_the_flag_the_range_and_the_fix() {
    for (codec, level, parts) in [
        (
            "zstd",
            "23",
            &["--compression-level 23", "-131072..=22", "default 3"][..],
        ),
        (
            "gzip",
            "0",
            &["--compression-level 0", "1..=9", "default 6"][..],
        ),
        (
            "lz4",
            "18",
            &["--compression-level 18", "1..=17", "default 9"][..],
        ),
        (
            "snappy",
            "1",
            &[
                "--compression snappy has no levels",
                "drop --compression-level",
            ][..],
        ),
    ] {
        // Refused before anything is read or sent: stdin is empty.
        let out = produce(
            &[
                "--topic",
                "never-written",
                "--compression",
                codec,
                "--compression-level",
                level,
            ],
            "",
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{codec} {level}: {stderr}");
        for p in parts {
            assert!(stderr.contains(p), "{codec} {level}: no {p:?} in {stderr}");
        }
    }
}
