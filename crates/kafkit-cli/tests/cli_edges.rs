//! What no record, name or message from a broker, and no option value, can do to the CLI:
//! control bytes reach the terminal escaped (while `--json` stays exact), and options are
//! checked before they are used (sizes before allocation, times without overflow, partitions
//! against the topic). Needs the default broker (`KAFKIT_BOOTSTRAP`, default 127.0.0.1:9092).

mod common;

use std::process::{Command, Output};

use base64::Engine as _;
use kafkit::producer::{Header, ProducerConfig, Record};
use kafkit::{Kafka, KafkaConfig};

fn bootstrap() -> String {
    std::env::var("KAFKIT_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".to_string())
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{nanos:x}")
}

/// `kafkit` on the default broker, no security settings from the environment.
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

fn run(args: &[&str]) -> Output {
    command().args(args).output().expect("kafkit runs")
}

fn ok(args: &[&str]) -> Output {
    let out = run(args);
    assert!(
        out.status.success(),
        "kafkit {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Fails with exit code `code` (not a signal: no abort, no panic's 101) and says `parts` on
/// stderr; returns stderr.
fn fails(args: &[&str], code: i32, parts: &[&str]) -> String {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "kafkit {args:?}: {stderr}");
    for p in parts {
        assert!(stderr.contains(p), "kafkit {args:?}: no {p:?} in {stderr}");
    }
    stderr
}

/// The first character a terminal may act on, other than the CLI's own line structure
/// (LF ends a line, TAB separates fields).
fn raw_control(bytes: &[u8]) -> Option<char> {
    String::from_utf8_lossy(bytes).chars().find(|c| {
        (c.is_control() && *c != '\n' && *c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

/// A JSON key, value or header value back as bytes: a string, or `{"base64": ...}`.
fn bytes_of(v: &serde_json::Value) -> Option<Vec<u8>> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.as_bytes().to_vec()),
        other => Some(
            base64::engine::general_purpose::STANDARD
                .decode(other["base64"].as_str().expect("base64"))
                .unwrap(),
        ),
    }
}

const KEY: &[u8] = b"key\x1b[31m\x07";
const VALUE: &[u8] = b"value\x1b]0;owned\x07\r\x7f\xff\xfe\n\x1b[2J";
const HEADER_KEY: &str = "h\x1b[1m";
const HEADER_VALUE: &[u8] = b"\x07\x9b\xc2\x9b";
/// Valid UTF-8 with a C1 control (CSI) and a right-to-left override.
const UTF8_VALUE: &str = "csi\u{9b}2J rlo\u{202e}txt";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_output_escapes_control_bytes_and_json_is_exact() {
    let topic = unique("cli-escape");
    ok(&["topic", "create", &topic, "--partitions", "1"]);
    let kafka = Kafka::connect(KafkaConfig::new([bootstrap()]))
        .await
        .unwrap();
    let producer = kafka.producer(ProducerConfig::default()).unwrap();
    let headers = [Header {
        key: HEADER_KEY.as_bytes(),
        value: Some(HEADER_VALUE),
    }];
    let mut first = Record::new(&topic, VALUE).key(KEY);
    first.headers = &headers;
    let a = producer.send(first).await.unwrap();
    let b = producer
        .send(Record::new(&topic, UTF8_VALUE.as_bytes()))
        .await
        .unwrap();
    a.await.unwrap();
    b.await.unwrap();
    producer.close().await.unwrap();
    kafka.close(std::time::Duration::from_secs(5)).await;

    let read = |json: bool| {
        let mut args = vec![];
        if json {
            args.push("--json");
        }
        args.extend([
            "consume",
            "--topic",
            &topic,
            "--partition",
            "0",
            "--from-beginning",
            "--max-records",
            "2",
        ]);
        ok(&args)
    };

    // Text: nothing raw, and the escapes say what the bytes were.
    let text = read(false);
    assert_eq!(raw_control(&text.stdout), None, "{:?}", text.stdout);
    let stdout = String::from_utf8(text.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(
        lines[0],
        format!(
            "{topic}-0@0\tkey\\x1b[31m\\x07\tvalue\\x1b]0;owned\\x07\\r\\x7f\\xff\\xfe\\n\\x1b[2J"
        )
    );
    assert_eq!(
        lines[1],
        format!("{topic}-0@1\tnull\tcsi\\u{{9b}}2J rlo\\u{{202e}}txt")
    );

    // JSON: exact bytes back, and no raw control character on the way either.
    let json = read(true);
    assert_eq!(raw_control(&json.stdout), None, "{:?}", json.stdout);
    let records: Vec<serde_json::Value> = String::from_utf8(json.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(bytes_of(&records[0]["key"]).as_deref(), Some(KEY));
    assert_eq!(bytes_of(&records[0]["value"]).as_deref(), Some(VALUE));
    let header = &records[0]["headers"][0];
    assert_eq!(bytes_of(&header[0]).as_deref(), Some(HEADER_KEY.as_bytes()));
    assert_eq!(bytes_of(&header[1]).as_deref(), Some(HEADER_VALUE));
    assert_eq!(records[1]["key"], serde_json::Value::Null);
    assert_eq!(records[1]["value"], UTF8_VALUE);

    ok(&["topic", "delete", &topic]);
}

/// Group ids are any string: one a broker lists back, and errors naming one, are escaped.
#[test]
fn names_from_list_results_and_errors_are_escaped() {
    let topic = unique("cli-escape-group");
    let group = format!("{}\x1b[2J\x07", unique("g-cli-escape"));
    ok(&["topic", "create", &topic, "--partitions", "1"]);
    ok(&[
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
    let listed = ok(&["group", "list"]);
    assert_eq!(raw_control(&listed.stdout), None);
    let escaped = group.replace('\x1b', "\\x1b").replace('\x07', "\\x07");
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains(&escaped),
        "{}",
        String::from_utf8_lossy(&listed.stdout)
    );
    let json = ok(&["--json", "group", "list"]);
    assert_eq!(raw_control(&json.stdout), None);
    let groups: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(
        groups
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["group_id"] == group.as_str()),
        "{groups}"
    );
    let described = ok(&["group", "describe", &group]);
    assert_eq!(raw_control(&described.stdout), None);

    // An error message that names the group.
    let missing = format!("{}\x1b]0;title\x07", unique("g-cli-missing"));
    let out = run(&[
        "group",
        "offsets",
        &missing,
        "--topic",
        &topic,
        "--reset-to",
        "x\x1b",
    ]);
    assert!(!out.status.success());
    assert_eq!(raw_control(&out.stderr), None, "{:?}", out.stderr);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("x\\x1b"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok(&["group", "delete", &group]);
    ok(&["topic", "delete", &topic]);
}

/// The library's log (printed at level error by default) names the group in its fields, and
/// the error the broker answered: both escaped.
#[test]
fn the_log_on_stderr_is_escaped() {
    let topic = unique("cli-escape-log");
    ok(&["topic", "create", &topic, "--partitions", "1"]);
    let group = format!("{}\x1b]0;title\x07", unique("g-cli-escape-log"));
    // Above the broker's group.max.session.timeout.ms: JoinGroup fails, and the log says so.
    let out = run(&[
        "consume",
        "--group",
        &group,
        "--topic",
        &topic,
        "--group-protocol",
        "classic",
        "--session-timeout-ms",
        "999999999",
        "--idle-timeout-secs",
        "5",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert_eq!(raw_control(&out.stderr), None, "{:?}", out.stderr);
    assert!(stderr.contains("ERROR"), "the log line: {stderr}");
    assert!(
        stderr
            .lines()
            .filter(|l| l.contains("\\x1b]0;title\\x07"))
            .count()
            >= 2,
        "the log line and the error, escaped: {stderr}"
    );
    ok(&["topic", "delete", &topic]);
}

#[test]
fn consume_of_a_partition_the_topic_lacks_fails_naming_it() {
    let topic = unique("cli-no-partition");
    ok(&["topic", "create", &topic, "--partitions", "3"]);
    // Before: it waited for the partition, and ended with exit 0 when idle.
    fails(
        &[
            "consume",
            "--topic",
            &topic,
            "-P",
            "999",
            "--idle-timeout-secs",
            "3",
        ],
        1,
        &[&topic, "999", "3 partitions (0-2)"],
    );
    let missing = unique("cli-no-topic");
    fails(
        &[
            "consume",
            "--topic",
            &missing,
            "-P",
            "0",
            "--idle-timeout-secs",
            "3",
        ],
        1,
        &[&missing, "does not exist"],
    );
    // The partitions it has still read.
    ok(&[
        "consume",
        "--topic",
        &topic,
        "-P",
        "2",
        "--idle-timeout-secs",
        "1",
    ]);
    ok(&["topic", "delete", &topic]);
}

#[test]
fn a_huge_produce_size_is_an_error_not_an_abort() {
    let topic = unique("cli-huge-size");
    fails(
        &[
            "produce",
            "--topic",
            &topic,
            "--count",
            "1",
            "--size",
            "100000000000000",
        ],
        1,
        &["--size 100000000000000", "1048576 bytes"],
    );
}

#[test]
fn a_from_time_too_far_back_is_an_error_not_a_wrapped_time() {
    let topic = unique("cli-far-back");
    ok(&["topic", "create", &topic, "--partitions", "1"]);
    for ago in ["-999999999999d", "-9223372036854775807s"] {
        fails(
            &[
                "consume",
                "--topic",
                &topic,
                "-P",
                "0",
                "--from-time",
                ago,
                "--idle-timeout-secs",
                "2",
            ],
            1,
            &["--from-time", ago, "before 1970"],
        );
    }
    ok(&["topic", "delete", &topic]);
}

#[test]
fn a_response_over_max_response_size_names_the_limit_and_the_flag() {
    let topic = unique("cli-big-metadata");
    ok(&["topic", "create", &topic, "--partitions", "64"]);
    // Enough to connect (ApiVersions decodes to about 1 KB), not for 64 partitions (about
    // 8 KB decoded: each partition's struct and its replica lists).
    let stderr = fails(
        &["--max-response-size", "4096", "metadata", &topic],
        1,
        &[
            "Metadata",
            "4096",
            "max_response_size",
            "--max-response-size",
        ],
    );
    assert!(
        !stderr.contains("malformed") && !stderr.contains("not a Kafka broker"),
        "{stderr}"
    );
    ok(&["--max-response-size", "1048576", "metadata", &topic]);
    ok(&["topic", "delete", &topic]);
}

/// Values out of range are refused as the command line is read (exit 2, before connecting),
/// naming the option.
#[test]
fn option_values_out_of_range_are_refused_naming_the_option() {
    // Each would read (or wait) for a while if it were accepted: the idle timeouts bound that.
    let idle = ["--idle-timeout-secs", "1"];
    let consume = |more: &[&'static str]| -> Vec<&'static str> {
        let mut v = vec!["consume", "--topic", "t"];
        v.extend_from_slice(&idle);
        v.extend_from_slice(more);
        v
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (consume(&["-P", "0", "--max-records", "0"]), "--max-records"),
        (
            vec![
                "share",
                "consume",
                "-g",
                "g",
                "-t",
                "t",
                "--idle-timeout-secs",
                "1",
                "--max-records",
                "0",
            ],
            "--max-records",
        ),
        (
            vec![
                "consume",
                "--topic",
                "t",
                "-P",
                "0",
                "--idle-timeout-secs",
                "0",
            ],
            "--idle-timeout-secs",
        ),
        (consume(&["--partition=-1"]), "--partition"),
        (consume(&["-P", "0", "--offset=-0"]), "--offset"),
        (
            vec!["produce", "--topic", "t", "--partition=-3"],
            "--partition",
        ),
        (
            vec!["topic", "create", "t", "--partitions", "0"],
            "--partitions",
        ),
        (
            vec!["topic", "create", "t", "-r", "0"],
            "--replication-factor",
        ),
        (vec!["offsets", "t", "--time=-1"], "--time"),
        (vec!["records", "delete", "t", "--before", "-5"], "--before"),
        (
            vec!["--max-response-size", "100", "metadata"],
            "--max-response-size",
        ),
    ];
    for (args, option) in &cases {
        fails(args, 2, &[option]);
    }
    // -1 stays the broker's default where it was documented so.
    let out = run(&["topic", "create", "--help"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("-1 = broker default"));
}
