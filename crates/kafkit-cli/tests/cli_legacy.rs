//! The CLI against Apache Kafka 3.9 (`scripts/kafka up --profile legacy`,
//! `KAFKIT_LEGACY_BOOTSTRAP`, default 127.0.0.1:19192): `group describe` of a classic group,
//! `cluster describe`, ACLs and client-metrics configs, and the clear errors for what 3.9
//! lacks.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bootstrap() -> String {
    std::env::var("KAFKIT_LEGACY_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:19192".to_string())
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{nanos:x}")
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

fn run(args: &[&str]) -> Output {
    command().args(args).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "kafkit {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fails(args: &[&str]) -> String {
    let out = run(args);
    assert!(!out.status.success(), "kafkit {} succeeded", args.join(" "));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn group_describe_and_cluster_against_kafka_3_9() {
    let topic = unique("cli-legacy");
    let group = unique("g-cli-legacy");
    ok(&["topic", "create", &topic, "--partitions", "2"]);
    let mut p = command()
        .args(["produce", "-t", &topic])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    p.stdin.take().unwrap().write_all(b"a\nb\nc\n").unwrap();
    assert!(p.wait().unwrap().success());

    // A live classic member, then describe its group.
    let mut member = command()
        .args([
            "consume",
            "-g",
            &group,
            "-t",
            &topic,
            "--group-protocol",
            "classic",
        ])
        .args(["--from-beginning", "--idle-timeout-secs", "30"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let described = loop {
        let d: serde_json::Value =
            serde_json::from_str(ok(&["--json", "group", "describe", &group]).trim()).unwrap();
        if d["state"] == "Stable" || Instant::now() > deadline {
            break d;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let _ = member.kill();
    let _ = member.wait();
    assert_eq!(described["type"], "classic", "{described}");
    assert_eq!(described["state"], "Stable", "{described}");
    assert_eq!(described["members"].as_array().unwrap().len(), 1);
    let text = ok(&["group", "describe", &group]);
    assert!(text.contains("(classic)"), "{text}");

    let cluster = ok(&["cluster", "describe"]);
    assert!(cluster.contains("broker 1"), "{cluster}");
    ok(&["cluster", "log-dirs"]);

    // What 3.9 lacks, said so.
    let e = fails(&["share", "describe", "legacy-share"]);
    assert!(e.contains("KIP-932") && e.contains("4.2"), "{e}");
    let e = fails(&["consume", "-g", &group, "-t", &topic, "--max-records", "1"]);
    assert!(e.contains("KIP-848") && e.contains("classic"), "{e}");
    let e = fails(&["config", "describe", "group", &group]);
    assert!(e.contains("KIP-848") && e.contains("4.0"), "{e}");
    ok(&["topic", "delete", &topic]);
}

#[test]
fn acls_and_client_metrics_configs_against_kafka_3_9() {
    // The legacy profile's StandardAuthorizer (every client a super user) serves the ACL APIs.
    let topic = unique("cli-legacy-acl");
    let spec = [
        "--resource-type",
        "topic",
        "--resource",
        topic.as_str(),
        "--principal",
        "User:bob",
    ];
    let json = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = ok(&all);
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    };
    let created = json(&[&["acl", "create", "--operation", "write"][..], &spec].concat());
    assert_eq!(created["created"][0]["operation"], "WRITE", "{created}");
    let list = [&["acl", "list"][..], &spec].concat();
    let deadline = Instant::now() + Duration::from_secs(10);
    while json(&list)["acls"].as_array().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the ACL never showed");
        std::thread::sleep(Duration::from_millis(200));
    }
    let deleted = json(&[&["acl", "delete"][..], &spec].concat());
    assert_eq!(deleted["deleted"].as_array().unwrap().len(), 1, "{deleted}");

    // KIP-714 subscriptions (Kafka 3.7+).
    let sub = unique("cli-legacy-sub");
    ok(&[
        "config",
        "alter",
        "client-metrics",
        &sub,
        "metrics=org.apache.kafka.consumer.",
        "interval.ms=30000",
    ]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = ok(&["config", "describe", "client-metrics", &sub]);
        if text.contains("interval.ms=30000") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the subscription never showed: {text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    ok(&[
        "config",
        "alter",
        "client-metrics",
        &sub,
        "-metrics",
        "-interval.ms",
    ]);
}
