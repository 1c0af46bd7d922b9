//! Turns Kafka's JSON message schemas (`common/message/*.json`, shipped in the kafka-clients
//! jar) into the static field tables of `kafkit::protocol::schema`, the bounded pre-decoder
//! that checks every length in a response before the `kafka-protocol` crate decodes it.
//!
//! Usage: `kafkit-schema-gen <dir with the *.json files> <kafka version>`; writes Rust to
//! stdout. `scripts/gen-schemas` runs it; the output is committed, so builds need no jar.
//!
//! Only what decoding needs is kept: field order, wire type, the versions a field is present,
//! nullable and tagged in, and tags. Responses of every API are generated, plus the response
//! header and the consumer-protocol blobs the classic group protocol exchanges.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

/// The data schemas (not API messages) kafkit also decodes from untrusted bytes.
const DATA_SCHEMAS: &[&str] = &[
    "ResponseHeader",
    "ConsumerProtocolSubscription",
    "ConsumerProtocolAssignment",
];

mod codec;
mod errors;

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("errors") {
        args.next();
        let (Some(tsv), Some(kafka_version)) = (args.next(), args.next()) else {
            eprintln!("usage: kafkit-schema-gen errors <ErrorCodes.java output> <kafka version>");
            std::process::exit(2);
        };
        let text = std::fs::read_to_string(&tsv).map_err(|e| format!("{tsv}: {e}"));
        match text.and_then(|t| errors::generate(&t, &kafka_version)) {
            Ok(out) => print!("{out}"),
            Err(e) => {
                eprintln!("kafkit-schema-gen: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    if args.peek().map(String::as_str) == Some("codec") {
        args.next();
        let (Some(dir), Some(kafka_version), Some(out)) = (args.next(), args.next(), args.next())
        else {
            eprintln!("usage: kafkit-schema-gen codec <dir of Kafka message *.json> <kafka version> <output dir>");
            std::process::exit(2);
        };
        let files = match codec::generate(Path::new(&dir), &kafka_version) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("kafkit-schema-gen: {e}");
                std::process::exit(1);
            }
        };
        if let Err(e) = std::fs::create_dir_all(&out) {
            eprintln!("kafkit-schema-gen: {out}: {e}");
            std::process::exit(1);
        }
        for (name, text) in files {
            let path = Path::new(&out).join(name);
            if let Err(e) = std::fs::write(&path, text) {
                eprintln!("kafkit-schema-gen: {}: {e}", path.display());
                std::process::exit(1);
            }
        }
        return;
    }
    let (Some(dir), Some(kafka_version)) = (args.next(), args.next()) else {
        eprintln!("usage: kafkit-schema-gen <dir of Kafka message *.json> <kafka version>");
        std::process::exit(2);
    };
    match generate(Path::new(&dir), &kafka_version) {
        Ok(out) => print!("{out}"),
        Err(e) => {
            eprintln!("kafkit-schema-gen: {e}");
            std::process::exit(1);
        }
    }
}

/// A version range as the schemas write it: "0+", "3-7", "5", "none".
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

fn range(r: (i16, i16)) -> String {
    if r.1 == i16::MAX {
        format!("V({}, MAX)", r.0)
    } else {
        format!("V({}, {})", r.0, r.1)
    }
}

struct Gen {
    out: String,
    /// Emitted struct tables, by generated const name.
    emitted: BTreeMap<String, ()>,
}

impl Gen {
    /// Emits the field table for `fields` as `const NAME` and returns NAME.
    fn table(
        &mut self,
        name: String,
        fields: &[Value],
        common: &HashMap<String, Vec<Value>>,
        prefix: &str,
    ) -> Result<String, String> {
        let mut rows = Vec::new();
        for f in fields {
            let fname = f["name"]
                .as_str()
                .ok_or_else(|| format!("{name}: field without a name"))?;
            let ty = f["type"]
                .as_str()
                .ok_or_else(|| format!("{name}.{fname}: field without a type"))?;
            let what = format!("{name}.{fname}");
            let ty = self.ty(ty, f, common, prefix, &what)?;
            let mut row = format!(
                "F::new({fname:?}, {ty}, {})",
                range(versions(f.get("versions"), &what)?)
            );
            let nullable = versions(f.get("nullableVersions"), &what)?;
            if nullable.0 <= nullable.1 {
                let _ = write!(row, ".nullable({})", range(nullable));
            }
            if let Some(tag) = f.get("tag") {
                let tag = tag
                    .as_u64()
                    .ok_or_else(|| format!("{what}: tag is not a number"))?;
                let tagged = versions(f.get("taggedVersions"), &what)?;
                let _ = write!(row, ".tagged({tag}, {})", range(tagged));
            }
            rows.push(row);
        }
        if self.emitted.insert(name.clone(), ()).is_none() {
            let _ = writeln!(self.out, "const {name}: &[F] = &[");
            for r in rows {
                let _ = writeln!(self.out, "    {r},");
            }
            let _ = writeln!(self.out, "];");
        }
        Ok(name)
    }

    fn ty(
        &mut self,
        ty: &str,
        f: &Value,
        common: &HashMap<String, Vec<Value>>,
        prefix: &str,
        what: &str,
    ) -> Result<String, String> {
        if let Some(elem) = ty.strip_prefix("[]") {
            let inner = self.ty(elem, f, common, prefix, what)?;
            return Ok(format!("Ty::Array(&{inner})"));
        }
        Ok(match ty {
            "bool" => "Ty::Bool".into(),
            "int8" => "Ty::I8".into(),
            "int16" => "Ty::I16".into(),
            "uint16" => "Ty::U16".into(),
            "int32" => "Ty::I32".into(),
            "uint32" => "Ty::U32".into(),
            "int64" => "Ty::I64".into(),
            "float64" => "Ty::F64".into(),
            "uuid" => "Ty::Uuid".into(),
            "string" => "Ty::Str".into(),
            "bytes" => "Ty::Bytes".into(),
            "records" => "Ty::Records".into(),
            s if s.starts_with(|c: char| c.is_ascii_uppercase()) => {
                let const_name = format!("{prefix}_{}_FIELDS", s.to_ascii_uppercase());
                let fields = match f.get("fields").and_then(Value::as_array) {
                    Some(inline) => inline.clone(),
                    None => common
                        .get(s)
                        .cloned()
                        .ok_or_else(|| format!("{what}: unknown struct type {s}"))?,
                };
                let name = self.table(const_name, &fields, common, prefix)?;
                format!("Ty::Struct({name})")
            }
            other => return Err(format!("{what}: unknown type {other}")),
        })
    }
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

fn generate(dir: &Path, kafka_version: &str) -> Result<String, String> {
    let mut schemas: Vec<Value> = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    entries.sort();
    for p in entries {
        let s = read_schema(&p)?;
        let name = s["name"].as_str().unwrap_or_default().to_string();
        let kind = s["type"].as_str().unwrap_or_default();
        if kind == "response" || DATA_SCHEMAS.contains(&name.as_str()) {
            schemas.push(s);
        }
    }
    if schemas.len() < DATA_SCHEMAS.len() + 50 {
        return Err(format!(
            "only {} schemas found in {}; is it Kafka's common/message directory?",
            schemas.len(),
            dir.display()
        ));
    }
    let mut g = Gen {
        out: String::new(),
        emitted: BTreeMap::new(),
    };
    let _ = writeln!(
        g.out,
        "// @generated by crates/kafkit-schema-gen (scripts/gen-schemas) from the message schemas\n\
         // of Apache Kafka {kafka_version} (common/message/*.json in the kafka-clients jar). Do not edit.\n\
         // One large file because it is generated, one table per message; nobody reads it whole.\n\n\
         use super::{{Field as F, Message, Ty, V, MAX}};\n"
    );
    let mut responses = Vec::new();
    let mut data = Vec::new();
    for s in &schemas {
        let name = s["name"].as_str().unwrap_or_default();
        let prefix = to_snake_upper(name);
        let mut common = HashMap::new();
        for c in s
            .get("commonStructs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let cname = c["name"].as_str().unwrap_or_default().to_string();
            let fields = c["fields"].as_array().cloned().unwrap_or_default();
            common.insert(cname, fields);
        }
        let fields = s["fields"].as_array().cloned().unwrap_or_default();
        let table = g.table(format!("{prefix}_FIELDS"), &fields, &common, &prefix)?;
        let valid = range(versions(s.get("validVersions"), name)?);
        let flexible = range(versions(s.get("flexibleVersions"), name)?);
        let msg = format!(
            "Message {{ name: {name:?}, valid: {valid}, flexible: {flexible}, fields: {table} }}"
        );
        match s.get("apiKey").and_then(Value::as_i64) {
            Some(key) => responses.push((key, msg)),
            None => data.push((prefix, msg)),
        }
    }
    responses.sort_by_key(|r| r.0);
    let _ = writeln!(
        g.out,
        "\n/// The response schema of an API key.\npub(crate) fn response(api_key: i16) -> Option<&'static Message> {{\n    Some(match api_key {{"
    );
    for (key, msg) in &responses {
        let _ = writeln!(g.out, "        {key} => &{msg},");
    }
    let _ = writeln!(g.out, "        _ => return None,\n    }})\n}}");
    for (prefix, msg) in &data {
        let _ = writeln!(g.out, "\npub(crate) static {prefix}: Message = {msg};");
    }
    Ok(g.out)
}

/// `FetchResponse` -> `FETCH_RESPONSE`.
fn to_snake_upper(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}
