//! What the CLI suites share about the broker they run against (`KAFKIT_BOOTSTRAP`, default
//! 127.0.0.1:9092): whether it is Kafka 4.x, and the one rule by which a test that needs what
//! Kafka 3.x lacks is skipped on the legacy profile's Kafka 3.9 (`scripts/test-legacy`), the
//! same rule as the library's tests (crates/kafkit/tests/common).
#![allow(dead_code)]

use std::process::Command;

/// `metadata.version` 4.0-IV0, the first level of Kafka 4.0 (3.9-IV0 is 21).
const KAFKA_4_0_METADATA_VERSION: i64 = 22;

fn bootstrap() -> String {
    std::env::var("KAFKIT_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".to_string())
}

/// The highest `metadata.version` the broker supports (`kafkit cluster features`).
fn metadata_version() -> i64 {
    let out = Command::new(env!("CARGO_BIN_EXE_kafkit"))
        .args(["--bootstrap", &bootstrap(), "--json", "cluster", "features"])
        .env_remove("KAFKIT_SECURITY_PROTOCOL")
        .output()
        .expect("kafkit runs");
    assert!(
        out.status.success(),
        "kafkit cluster features: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f: serde_json::Value = serde_json::from_slice(&out.stdout).expect("features JSON");
    f["supported"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|x| x["name"] == "metadata.version")
        .and_then(|x| x["max"].as_i64())
        .unwrap_or(0)
}

/// Whether the test broker runs Kafka 4.x (its `metadata.version` reaches Kafka 4.0's).
pub fn is_kafka4() -> bool {
    metadata_version() >= KAFKA_4_0_METADATA_VERSION
}

/// `--group-protocol` for a group that is not what a test is about: `consumer` (KIP-848) on
/// Kafka 4.x, `classic` on an older broker.
pub fn group_protocol() -> &'static str {
    if is_kafka4() {
        "consumer"
    } else {
        "classic"
    }
}

/// The one skip rule: `true` (after printing "skipped: needs Kafka 4.x (what)" and adding a
/// line to `KAFKIT_SKIPPED_LOG` when set) when the broker is older than Kafka 4.x and the test
/// (or the part of it) needs `what`.
pub fn needs_kafka4(what: &str) -> bool {
    let level = metadata_version();
    if level >= KAFKA_4_0_METADATA_VERSION {
        return false;
    }
    let test = std::thread::current().name().unwrap_or("?").to_string();
    eprintln!(
        "skipped: needs Kafka 4.x ({what}); the broker at {} runs an older Kafka (metadata.version up to {level})",
        bootstrap()
    );
    if let Ok(path) = std::env::var("KAFKIT_SKIPPED_LOG") {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("KAFKIT_SKIPPED_LOG");
        writeln!(f, "{}\t{test}\t{what}", env!("CARGO_CRATE_NAME")).expect("write skip log");
    }
    true
}
