//! The CLI as a kcat user drives it, against the real broker: whole topics read without a
//! group to their end, kcat's offset forms, format strings that tell null from empty, exact
//! JSON both ways, produce's delimiters, headers and summary, group offset moves planned before
//! they are applied, and errors printed once.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

fn bootstrap() -> String {
    std::env::var("KAFKIT_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".to_string())
}

fn kafkit() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kafkit"));
    c.args(["--bootstrap", &bootstrap()]);
    c
}

fn run(args: &[&str]) -> Output {
    kafkit().args(args).output().expect("kafkit runs")
}

fn ok(args: &[&str]) -> Vec<u8> {
    let out = run(args);
    assert!(
        out.status.success(),
        "kafkit {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn text(args: &[&str]) -> String {
    String::from_utf8(ok(args)).expect("UTF-8 output")
}

/// Runs `kafkit produce ARGS` with `input` on stdin.
fn produce(args: &[&str], input: &[u8]) -> Output {
    let mut child = kafkit()
        .arg("produce")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kafkit runs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "produce {args:?}: {}",
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

fn json_lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// (partition, offset) of each record, sorted.
fn positions(records: &[Value]) -> Vec<(i64, i64)> {
    let mut v: Vec<(i64, i64)> = records
        .iter()
        .map(|r| {
            (
                r["partition"].as_i64().unwrap(),
                r["offset"].as_i64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// A topic of three partitions: 3 records in 0, 2 in 1, none in 2 (an empty partition must
/// not keep --exit-at-end waiting).
fn three_partitions() -> String {
    let topic = unique("cli-kcat");
    ok(&["topic", "create", &topic, "--partitions", "3"]);
    produce(&["-t", &topic, "-p", "0"], b"a\nb\nc\n");
    produce(&["-t", &topic, "-p", "1"], b"d\ne\n");
    topic
}

#[test]
fn whole_topics_are_read_without_a_group_from_kcat_offsets_to_their_end() {
    let topic = three_partitions();
    let read = |offset: &str| {
        json_lines(&ok(&[
            "--json", "consume", "-t", &topic, "-o", offset, "-e",
        ]))
    };
    let all = vec![(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)];
    assert_eq!(positions(&read("beginning")), all);
    assert_eq!(positions(&read("@0")), all);
    assert_eq!(positions(&read("s@0")), all);
    // -N: the last N of each partition, never before its start.
    assert_eq!(positions(&read("-1")), vec![(0, 2), (1, 1)]);
    assert_eq!(positions(&read("-2")), vec![(0, 1), (0, 2), (1, 0), (1, 1)]);
    assert_eq!(positions(&read("-100")), all);
    // A plain offset on every partition (partition 1 has no offset 2: it waits at its end).
    assert_eq!(positions(&read("2")), vec![(0, 2)]);
    // The end, or a time after every record: nothing, and the command still ends.
    assert!(read("end").is_empty());
    assert!(read("@99999999999999").is_empty());
    // Without --offset and without a group it starts at the end (as kcat does).
    assert!(ok(&["consume", "-t", &topic, "-e"]).is_empty());
    // --partition narrows it; -P is kept as another name for -p.
    let one = json_lines(&ok(&[
        "--json",
        "consume",
        "-t",
        &topic,
        "-p",
        "1",
        "-o",
        "beginning",
        "-e",
    ]));
    assert_eq!(positions(&one), vec![(1, 0), (1, 1)]);
    let one = json_lines(&ok(&[
        "--json", "consume", "-t", &topic, "-P", "1", "-o", "-1", "-e",
    ]));
    assert_eq!(positions(&one), vec![(1, 1)]);
    ok(&["topic", "delete", &topic]);
}

#[test]
fn offsets_that_cannot_be_are_refused_naming_the_forms() {
    for (offset, says) in [
        ("-0", "at least 1"),
        ("soon", "beginning, end"),
        ("@x", "@MS"),
    ] {
        let out = run(&["consume", "-t", "t", "-o", offset, "-e"]);
        assert_eq!(out.status.code(), Some(2), "{offset}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--offset") && err.contains(says),
            "{offset}: {err}"
        );
    }
    // With a group, --offset would be ignored by the subscription: refused, saying what to do.
    let out = run(&["consume", "-g", "g", "-t", "t", "-o", "beginning"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--partition") && err.contains("--execute"),
        "{err}"
    );
}

#[test]
fn formats_print_each_field_and_tell_null_from_empty() {
    let topic = unique("cli-kcat-format");
    ok(&["topic", "create", &topic, "--partitions", "1"]);
    let lines = [
        json!({"key": "k1", "value": "v1", "timestamp": 1_700_000_000_000i64, "headers": [["h", "x"], ["n", null]]}),
        json!({"key": null, "value": null, "timestamp": 1_700_000_000_001i64}),
        json!({"key": "", "value": "", "timestamp": 1_700_000_000_002i64}),
        json!({"key": {"base64": "/wA="}, "value": {"base64": "AAEC/w=="}, "timestamp": 1_700_000_000_003i64}),
    ];
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    produce(&["-t", &topic, "--input", "json"], input.as_bytes());
    let base = ["consume", "-t", &topic, "-o", "beginning", "-e"];
    let format = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        ok(&args)
    };
    let out = format(&["-f", "%t|%p|%o|%T|[%k]|[%s]|%K|%S|{%h}\\n"]);
    let want = format!(
        "{topic}|0|0|1700000000000|[k1]|[v1]|2|2|{{h=x,n=}}\n\
         {topic}|0|1|1700000000001|[]|[]|-1|-1|{{}}\n\
         {topic}|0|2|1700000000002|[]|[]|0|0|{{}}\n"
    );
    let mut want = want.into_bytes();
    want.extend_from_slice(&format!("{topic}|0|3|1700000000003|[").into_bytes());
    want.extend_from_slice(b"\xff\x00]|[\x00\x01\x02\xff]|2|4|{}\n");
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&want)
    );
    assert_eq!(out, want, "bytes are written as they are to a pipe");
    // -Z: null prints as NULL, empty as nothing.
    let out = format(&["-Z", "-f", "[%k][%s]%%\\t"]);
    assert_eq!(
        out,
        b"[k1][v1]%\t[NULL][NULL]%\t[][]%\t[\xff\x00][\x00\x01\x02\xff]%\t".to_vec()
    );
    // --value-only: each value, a line each (null as an empty line).
    let out = format(&["--value-only"]);
    assert_eq!(out, b"v1\n\n\n\x00\x01\x02\xff\n".to_vec());
    // A token that does not exist is refused before anything is read.
    let out = run(&["consume", "-t", &topic, "-f", "%q"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'%q'"));
    // --json and a format are two outputs.
    let out = run(&["--json", "consume", "-t", &topic, "--value-only", "-e"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pick one"));
    ok(&["topic", "delete", &topic]);
}

#[test]
fn json_is_exact_both_ways() {
    let from = unique("cli-kcat-json-a");
    let to = unique("cli-kcat-json-b");
    for t in [&from, &to] {
        ok(&["topic", "create", t, "--partitions", "2"]);
    }
    // Recent timestamps: records older than the broker's retention (7 days) may be deleted
    // by it between the produce and the reads (it happened on the 3.9.1 broker).
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
        - 60_000;
    let records = [
        json!({"partition": 1, "timestamp": t0, "key": {"base64": "gA=="}, "value": "plain",
               "headers": [["bin", {"base64": "//79"}], ["dup", "1"], ["dup", "2"], ["nil", null]]}),
        json!({"partition": 0, "timestamp": t0 + 1, "key": "", "value": {"base64": "wyg="}, "headers": []}),
        json!({"partition": 0, "timestamp": t0 + 2, "key": null, "value": null, "headers": []}),
    ];
    let input: String = records.iter().map(|r| format!("{r}\n")).collect();
    produce(&["-t", &from, "--input", "json"], input.as_bytes());
    let read = |topic: &str| {
        let mut got = json_lines(&ok(&[
            "--json",
            "consume",
            "-t",
            topic,
            "-o",
            "beginning",
            "-e",
        ]));
        got.sort_by_key(|r| r["timestamp"].as_i64());
        got
    };
    let got = read(&from);
    assert_eq!(got.len(), 3);
    for (g, want) in got.iter().zip(&records) {
        for field in ["partition", "timestamp", "key", "value", "headers"] {
            assert_eq!(g[field], want[field], "{field} of {g}");
        }
    }
    // What consume --json prints, produce --input json sends again: the same records.
    let printed = ok(&["--json", "consume", "-t", &from, "-o", "beginning", "-e"]);
    produce(&["-t", &to, "--input", "json"], &printed);
    let copied = read(&to);
    for (c, g) in copied.iter().zip(&got) {
        for field in ["partition", "timestamp", "key", "value", "headers"] {
            assert_eq!(c[field], g[field], "{field} of {c}");
        }
    }
    ok(&["topic", "delete", &from, &to]);
}

#[test]
fn produce_splits_records_keys_and_headers_and_sums_up() {
    let topic = unique("cli-kcat-produce");
    ok(&["topic", "create", &topic, "--partitions", "2"]);
    // Records end at ";;" (a newline is data), keys at "=", -Z sends empty as null.
    let out = produce(
        &[
            "-t",
            &topic,
            "-K",
            "=",
            "-D",
            ";;",
            "-H",
            "app=kcat",
            "-H",
            "v=1",
            "-Z",
            "-p",
            "1",
            "--timestamp",
            "1700000000000",
        ],
        b"k1=line one\nline two;;k2=;;=v3;;no key\xff;;",
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        summary,
        format!("sent 4 records to {topic}\n  partition 1: 4, last offset 3\n")
    );
    let got = json_lines(&ok(&[
        "--json",
        "consume",
        "-t",
        &topic,
        "-o",
        "beginning",
        "-e",
    ]));
    let kv: Vec<(Value, Value)> = got
        .iter()
        .map(|r| (r["key"].clone(), r["value"].clone()))
        .collect();
    assert_eq!(
        kv,
        vec![
            (json!("k1"), json!("line one\nline two")),
            (json!("k2"), Value::Null),
            (Value::Null, json!("v3")),
            (Value::Null, json!({"base64": "bm8ga2V5/w=="})),
        ]
    );
    for r in &got {
        assert_eq!(r["partition"], 1);
        assert_eq!(r["timestamp"], 1_700_000_000_000i64);
        assert_eq!(r["headers"], json!([["app", "kcat"], ["v", "1"]]));
    }
    // --json: the summary as one object; --print-offsets: a line per record instead.
    let out = produce(&["-t", &topic, "-p", "0"], b"x\ny\n");
    assert!(String::from_utf8_lossy(&out.stdout).contains("partition 0: 2, last offset 1"));
    let out = kafkit()
        .args(["--json", "produce", "-t", &topic, "-p", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(b"z\n")?;
            c.wait_with_output()
        })
        .unwrap();
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["records"], 1);
    assert_eq!(
        j["partitions"],
        json!([{"partition": 0, "records": 1, "last_offset": 2}])
    );
    let out = produce(&["-t", &topic, "-p", "0", "--print-offsets"], b"w\n");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{topic}-0@3\n")
    );
    ok(&["topic", "delete", &topic]);
}

#[test]
fn group_offsets_are_planned_and_moved_only_with_execute() {
    let topic = three_partitions();
    let group = unique("g-cli-kcat");
    // -e with a group: the member stops once its partitions are at their ends (one of them
    // empty), having printed and committed all five records.
    let printed = ok(&[
        "consume",
        "-g",
        &group,
        "--group-protocol",
        common::group_protocol(),
        "-t",
        &topic,
        "--from-beginning",
        "-e",
    ]);
    assert_eq!(String::from_utf8_lossy(&printed).lines().count(), 5);
    let committed = || {
        let v: Value =
            serde_json::from_slice(&ok(&["--json", "group", "offsets", &group])).unwrap();
        let mut c: Vec<(i64, i64)> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["partition"].as_i64().unwrap(),
                    o["committed"].as_i64().unwrap(),
                )
            })
            .collect();
        c.sort();
        c
    };
    // The member's last commit may land a moment after it printed the fifth record.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while committed() != vec![(0, 3), (1, 2)] {
        assert!(std::time::Instant::now() < deadline, "{:?}", committed());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let plan = |args: &[&str]| {
        let mut all = vec!["--json", "group", "offsets", &group];
        all.extend_from_slice(args);
        let out = run(&all);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let rows: Vec<(i64, Value, i64)> = v["offsets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["partition"].as_i64().unwrap(),
                    r["current"].clone(),
                    r["new"].as_i64().unwrap(),
                )
            })
            .collect();
        (
            v["executed"].as_bool().unwrap(),
            rows,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // A dry run by default: the plan, and nothing changes.
    let (executed, rows, stderr) = plan(&["-t", &topic, "--reset-to", "earliest"]);
    assert!(!executed);
    assert_eq!(
        rows,
        vec![(0, json!(3), 0), (1, json!(2), 0), (2, Value::Null, 0)]
    );
    assert!(stderr.contains("--execute"), "{stderr}");
    assert_eq!(committed(), vec![(0, 3), (1, 2)]);
    // Offsets past a partition's range move to its nearest end.
    let (_, rows, _) = plan(&["-t", &topic, "--reset-to", "2"]);
    assert_eq!(
        rows,
        vec![(0, json!(3), 2), (1, json!(2), 2), (2, Value::Null, 0)]
    );
    let (_, rows, _) = plan(&["--all-topics", "--to-datetime", "2999-01-01T00:00:00Z"]);
    assert_eq!(
        rows,
        vec![(0, json!(3), 3), (1, json!(2), 2), (2, Value::Null, 0)]
    );
    let (_, rows, _) = plan(&["-t", &topic, "--by-duration", "PT1H"]);
    assert_eq!(
        rows,
        vec![(0, json!(3), 0), (1, json!(2), 0), (2, Value::Null, 0)]
    );
    let (_, rows, _) = plan(&["-t", &topic, "--by-duration", "1d"]);
    assert_eq!(rows[0], (0, json!(3), 0));
    // A shift moves committed offsets; a partition without one is left out, and said so.
    let (executed, rows, stderr) = plan(&["-t", &topic, "--shift-by", "-1", "--execute"]);
    assert!(executed);
    assert_eq!(rows, vec![(0, json!(3), 2), (1, json!(2), 1)]);
    assert!(stderr.contains(&format!("{topic}-2")), "{stderr}");
    assert_eq!(committed(), vec![(0, 2), (1, 1)]);
    let (executed, _, _) = plan(&["--all-topics", "--reset-to", "earliest", "--execute"]);
    assert!(executed);
    assert_eq!(committed(), vec![(0, 0), (1, 0), (2, 0)]);
    // Text: a table, and the dry-run note on stderr.
    let out = run(&[
        "group",
        "offsets",
        &group,
        "-t",
        &topic,
        "--reset-to",
        "latest",
    ]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.starts_with("TOPIC\tPARTITION\tCURRENT\tNEW\n"),
        "{table}"
    );
    assert!(table.contains(&format!("{topic}\t0\t0\t3\n")), "{table}");
    let bad = run(&["group", "offsets", &group, "--reset-to", "earliest"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--all-topics"));
    ok(&["group", "delete", &group]);
    ok(&["topic", "delete", &topic]);
}

#[test]
fn topic_create_if_not_exists_and_p_is_a_partition() {
    let topic = unique("cli-kcat-create");
    ok(&[
        "topic",
        "create",
        &topic,
        "--partitions",
        "2",
        "--if-not-exists",
    ]);
    let again = text(&[
        "topic",
        "create",
        &topic,
        "--partitions",
        "2",
        "--if-not-exists",
    ]);
    assert!(again.contains("exists already"), "{again}");
    assert!(!run(&["topic", "create", &topic]).status.success());
    let out = run(&["topic", "create", &unique("cli-kcat-p"), "-p", "2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--partitions N"));
    ok(&["topic", "delete", &topic]);
}

#[test]
fn errors_print_once_and_records_alone_reach_stdout() {
    // A fatal error: one line on stderr, no colour when stderr is not a terminal.
    let missing = unique("cli-kcat-missing");
    let out = run(&["consume", "-t", &missing, "-o", "beginning", "-e"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("kafkit: ") && err.contains("does not exist"),
        "{err}"
    );
    assert!(!err.contains('\x1b'), "{err:?}");
    assert!(out.stdout.is_empty());
    // --events go to stderr: stdout holds the records and nothing else.
    let topic = three_partitions();
    let group = unique("g-cli-kcat-events");
    let out = run(&[
        "consume",
        "-g",
        &group,
        "--group-protocol",
        common::group_protocol(),
        "-t",
        &topic,
        "--from-beginning",
        "--max-records",
        "5",
        "--events",
        "-f",
        "%s\\n",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut values: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect();
    values.sort();
    assert_eq!(values, ["a", "b", "c", "d", "e"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("group_join"));
    ok(&["group", "delete", &group]);
    ok(&["topic", "delete", &topic]);
}

#[test]
fn a_closed_stdout_ends_reading_without_a_panic() {
    let topic = unique("cli-kcat-head");
    ok(&["topic", "create", &topic, "--partitions", "1"]);
    ok(&["produce", "-t", &topic, "--count", "20000", "--size", "10"]);
    let mut child = kafkit()
        .args([
            "consume",
            "-t",
            &topic,
            "-o",
            "beginning",
            "-e",
            "--value-only",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first, format!("{}\n", "x".repeat(10)));
    // stdout is closed here (as `| head -1` does).
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {err}", out.status);
    assert!(!err.contains("panicked"), "{err}");
    // produce --print-offsets into a closed stdout: every record is still sent.
    let mut child = kafkit()
        .args(["produce", "-t", &topic, "--print-offsets"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdin.write_all(b"first\n").unwrap();
    stdin.flush().unwrap();
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert_eq!(first, format!("{topic}-0@20000\n"));
    drop(stdout);
    let lines: String = (0..5000).map(|i| format!("r{i}\n")).collect();
    stdin.write_all(lines.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {err}", out.status);
    assert!(!err.contains("panicked"), "{err}");
    let last = ok(&["consume", "-t", &topic, "-o", "-1", "-e", "-f", "%o %s\\n"]);
    assert_eq!(String::from_utf8_lossy(&last), "25000 r4999\n");
    ok(&["topic", "delete", &topic]);
}
