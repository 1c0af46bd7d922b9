//! The admin commands end to end: `config`, `offsets`, `records delete`, `cluster`, `user` on
//! the default broker, and `acl` on the `acl` profile's broker (SASL PLAIN as the super user
//! admin; `KAFKIT_ACL_BOOTSTRAP`, default 127.0.0.1:9192), with --json read back.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

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

fn command(bootstrap: &str) -> Command {
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

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "kafkit {what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn kafkit(args: &[&str]) -> String {
    ok(
        command(&bootstrap()).args(args).output().unwrap(),
        &args.join(" "),
    )
}

fn json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = kafkit(&all);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

#[test]
fn config_offsets_records_cluster_and_user_commands() {
    let topic = unique("cli-admin");
    kafkit(&["topic", "create", &topic, "--partitions", "2"]);
    let mut p = command(&bootstrap())
        .args(["produce", "--topic", &topic, "--partition", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    p.stdin
        .take()
        .unwrap()
        .write_all(b"a\nb\nc\nd\ne\n")
        .unwrap();
    assert!(p.wait().unwrap().success());

    kafkit(&["config", "alter", "topic", &topic, "retention.ms=7200000"]);
    let d = json(&[
        "config",
        "describe",
        "topic",
        &topic,
        "--key",
        "retention.ms",
    ]);
    assert_eq!(d["configs"][0]["value"], "7200000", "{d}");
    assert_eq!(d["configs"][0]["source"], "DYNAMIC_TOPIC_CONFIG", "{d}");
    kafkit(&["config", "alter", "topic", &topic, "-retention.ms"]);
    let text = kafkit(&["config", "describe", "topic", &topic]);
    assert!(!text.contains("retention.ms="), "{text}");
    // A change that is not one says how to write it.
    let out = command(&bootstrap())
        .args(["config", "alter", "topic", &topic, "retention.ms"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("name=value"));

    let latest = json(&["offsets", &topic]);
    assert_eq!(latest[0]["partition"], 0, "{latest}");
    assert_eq!(latest[0]["offset"], 5, "{latest}");
    assert_eq!(latest[1]["offset"], 0, "{latest}");
    let low = json(&[
        "records",
        "delete",
        &topic,
        "--before",
        "3",
        "--partition",
        "0",
    ]);
    assert_eq!(low[0]["low_watermark"], 3, "{low}");
    let earliest = json(&["offsets", &topic, "earliest", "-p", "0"]);
    assert_eq!(earliest[0]["offset"], 3, "{earliest}");
    // A time lookup answers with the record found: its offset and its timestamp.
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let since = json(&["offsets", &topic, "--time", "0", "-p", "0"]);
    assert_eq!(since[0]["offset"], 3, "the first record left: {since}");
    let ts = since[0]["timestamp"].as_i64().expect("its timestamp");
    assert!(
        ts > before - 600_000 && ts <= before,
        "written in the last minutes: {since}"
    );
    let text = kafkit(&["offsets", &topic, "--time", "0", "-p", "0"]);
    assert_eq!(text.trim(), format!("{topic}-0\t3\t{ts}"), "{text}");
    let future = json(&["offsets", &topic, "--time", "99999999999999", "-p", "0"]);
    assert!(
        future[0]["offset"].is_null() && future[0]["timestamp"].is_null(),
        "{future}"
    );
    let text = kafkit(&["offsets", &topic, "--time", "99999999999999", "-p", "0"]);
    assert!(
        text.contains("none\tno record at or after 99999999999999"),
        "{text}"
    );

    let c = json(&["cluster", "describe"]);
    assert_eq!(c["brokers"].as_array().unwrap().len(), 1, "{c}");
    assert_eq!(
        format!(
            "{}:{}",
            c["brokers"][0]["host"].as_str().unwrap(),
            c["brokers"][0]["port"]
        ),
        bootstrap()
    );
    let f = kafkit(&["cluster", "features"]);
    assert!(f.contains("metadata.version"), "{f}");
    let dirs = json(&["cluster", "log-dirs"]);
    let parts = dirs[0]["partitions"].as_array().unwrap();
    assert!(parts.iter().any(|p| p["topic"] == topic.as_str()), "{dirs}");

    let user = unique("cli-user");
    kafkit(&[
        "user",
        "upsert",
        &user,
        "--mechanism",
        "SCRAM-SHA-256",
        "--password",
        "pw-1",
    ]);
    let users = json(&["user", "list", &user]);
    assert_eq!(
        users[0]["credentials"][0]["mechanism"], "SCRAM-SHA-256",
        "{users}"
    );
    kafkit(&["user", "delete", &user, "--mechanism", "SCRAM-SHA-256"]);
    let out = command(&bootstrap())
        .args(["user", "list", &user])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("RESOURCE_NOT_FOUND"));
    // The default broker has no authorizer: the ACL commands say which setting turns one on.
    // (The legacy profile's Kafka 3.9 runs one, with every client a super user: the list
    // answers there.)
    let out = command(&bootstrap())
        .args(["acl", "list"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    if common::is_kafka4() {
        assert!(!out.status.success());
        assert!(
            e.contains("no authorizer") && e.contains("authorizer.class.name"),
            "{e}"
        );
    } else {
        assert!(out.status.success(), "{e}");
    }
    kafkit(&["topic", "delete", &topic]);
}

#[test]
fn acl_create_list_delete_on_the_acl_broker() {
    let acl_bootstrap =
        std::env::var("KAFKIT_ACL_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9192".to_string());
    let run = |args: &[&str]| {
        let out = command(&acl_bootstrap)
            .env("KAFKIT_SASL_MECHANISM", "PLAIN")
            .env("KAFKIT_SASL_USERNAME", "admin")
            .env("KAFKIT_SASL_PASSWORD", "admin-secret")
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        let text = ok(out, &args.join(" "));
        serde_json::from_str::<serde_json::Value>(text.trim()).unwrap()
    };
    let topic = unique("cli-acl");
    let spec = [
        "--resource-type",
        "topic",
        "--resource",
        topic.as_str(),
        "--principal",
        "User:bob",
    ];
    let mut create = vec!["acl", "create", "--operation", "read"];
    create.extend_from_slice(&spec);
    let created = run(&create);
    assert_eq!(created["created"][0]["operation"], "READ", "{created}");
    let mut list = vec!["acl", "list"];
    list.extend_from_slice(&spec);
    let listed = run(&list);
    assert_eq!(listed["acls"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["acls"][0]["permission"], "ALLOW");
    let mut delete = vec!["acl", "delete"];
    delete.extend_from_slice(&spec);
    let deleted = run(&delete);
    assert_eq!(deleted["deleted"].as_array().unwrap().len(), 1, "{deleted}");
    assert!(run(&list)["acls"].as_array().unwrap().is_empty());
}
