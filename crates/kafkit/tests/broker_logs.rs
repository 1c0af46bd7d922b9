//! The test brokers keep a log (`scripts/kafka` writes their logging config: log4j 2 for Kafka
//! 4.x, reload4j for 3.x): `.kafka/<profile>/logs/server.log` says the broker started, so a
//! failing test can be read against what the broker did.

use std::path::PathBuf;

/// The state directory of this machine's test brokers (`KAFKIT_STATE`, as scripts/kafka).
fn state() -> PathBuf {
    std::env::var("KAFKIT_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(format!("{}/../../.kafka", env!("CARGO_MANIFEST_DIR"))))
}

/// Checks the log of `profile`, when its broker runs on this machine (it has a pid file).
fn assert_logs(profile: &str) {
    let dir = state().join(profile);
    if !dir.join("kafka.pid").exists() {
        eprintln!(
            "no {profile} broker of scripts/kafka in {}: skipped",
            dir.display()
        );
        return;
    }
    let log = dir.join("logs/server.log");
    let text = std::fs::read_to_string(&log).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (scripts/kafka writes no logging config?)",
            log.display()
        )
    });
    assert!(
        text.contains("Kafka Server started"),
        "{} does not say the broker started ({} bytes)",
        log.display(),
        text.len()
    );
    assert!(text.contains(" INFO "), "{}: no INFO lines", log.display());
}

#[test]
fn the_default_broker_logs() {
    assert_logs("default");
}

#[test]
fn the_legacy_broker_logs() {
    assert_logs("legacy");
}

#[test]
fn the_acl_broker_logs() {
    assert_logs("acl");
}
