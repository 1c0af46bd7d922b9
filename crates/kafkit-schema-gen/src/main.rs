//! Generates kafkit's wire layer from Apache Kafka's own definitions:
//! - `codec <schema dir> <kafka version> <out dir>`: the message codec
//!   (`crates/kafkit/src/protocol/messages/`) from the JSON message schemas
//!   (`common/message/*.json`, shipped in the kafka-clients jar), see `codec.rs`;
//! - `errors <tsv> <kafka version>`: `ResponseError` (`protocol/error_codes.rs`, to stdout) from
//!   the error codes `java/ErrorCodes.java` prints from the same jar, see `errors.rs`.
//!
//! `scripts/gen-schemas` runs both; the output is committed, so builds need no jar, and
//! `scripts/gen-schemas --check` (in CI) fails when it is stale.

use std::path::Path;

use serde_json::Value;

mod codec;
mod errors;

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("kafkit-schema-gen: {msg}");
    std::process::exit(1)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["codec", dir, kafka_version, out] => {
            let files = codec::generate(Path::new(dir), kafka_version).unwrap_or_else(|e| fail(e));
            std::fs::create_dir_all(out).unwrap_or_else(|e| fail(format!("{out}: {e}")));
            for (name, text) in files {
                let path = Path::new(out).join(name);
                std::fs::write(&path, text)
                    .unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
            }
        }
        ["errors", tsv, kafka_version] => {
            let text = std::fs::read_to_string(tsv).unwrap_or_else(|e| fail(format!("{tsv}: {e}")));
            print!(
                "{}",
                errors::generate(&text, kafka_version).unwrap_or_else(|e| fail(e))
            );
        }
        _ => {
            eprintln!(
                "usage: kafkit-schema-gen codec <dir of Kafka message *.json> <kafka version> <out dir>\n       kafkit-schema-gen errors <ErrorCodes.java output> <kafka version>"
            );
            std::process::exit(2);
        }
    }
}

/// A version range as the schemas write it: "0+", "3-7", "5", "none" (empty: `(1, 0)`).
fn versions(v: Option<&Value>, what: &str) -> Result<(i16, i16), String> {
    let Some(v) = v else { return Ok((1, 0)) };
    let s = v
        .as_str()
        .ok_or_else(|| format!("{what}: versions is not a string"))?;
    let num = |t: &str| {
        t.trim()
            .parse::<i16>()
            .map_err(|_| format!("{what}: bad version '{s}'"))
    };
    Ok(if s == "none" {
        (1, 0)
    } else if let Some(lo) = s.strip_suffix('+') {
        (num(lo)?, i16::MAX)
    } else if let Some((lo, hi)) = s.split_once('-') {
        (num(lo)?, num(hi)?)
    } else {
        let n = num(s)?;
        (n, n)
    })
}

/// Reads one schema file: Kafka's JSON has `//` comment lines, which JSON does not allow.
fn read_schema(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    serde_json::from_str(&json).map_err(|e| format!("{}: {e}", path.display()))
}
