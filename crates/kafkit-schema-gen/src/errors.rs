//! Emits `ResponseError`, Kafka's error codes as a Rust enum, from the tab-separated lines
//! `java/ErrorCodes.java` prints from the kafka-clients jar (code, name, retriable, message).

use std::fmt::Write as _;

pub fn generate(tsv: &str, kafka_version: &str) -> Result<String, String> {
    let mut rows = Vec::new();
    for line in tsv.lines().filter(|l| !l.trim().is_empty()) {
        let mut cols = line.splitn(4, '\t');
        let (Some(code), Some(name), Some(retriable), message) =
            (cols.next(), cols.next(), cols.next(), cols.next())
        else {
            return Err(format!("bad error line: {line}"));
        };
        let code: i16 = code.parse().map_err(|_| format!("bad code in: {line}"))?;
        rows.push((
            code,
            name.to_string(),
            retriable == "true",
            message.unwrap_or("").trim().to_string(),
        ));
    }
    if rows.len() < 100 {
        return Err(format!(
            "only {} error codes; is this Errors.java's dump?",
            rows.len()
        ));
    }
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}//! Kafka's error codes, as Apache Kafka {kafka_version} defines them (`Errors` in kafka-clients).\n\
         //! One long file because it is generated from one enum, a few lines per code.\n\n\
         /// An error code a Kafka broker answered with (every code but 0, `NONE`).\n\
         ///\n/// ```\n/// use kafkit::error::ResponseError;\n/// let e = ResponseError::try_from_code(3).unwrap();\n\
         /// assert_eq!(e, ResponseError::UnknownTopicOrPartition);\n/// assert_eq!(e.name(), \"UNKNOWN_TOPIC_OR_PARTITION\");\n\
         /// assert!(e.is_retriable());\n/// ```\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]\n#[non_exhaustive]\npub enum ResponseError {{",
        crate::codec::HEADER_TEXT
    );
    for (code, name, _, message) in &rows {
        let _ = writeln!(o, "    /// {} ({code}): {}", name, doc(message));
        let _ = writeln!(o, "    {},", camel(name));
    }
    let _ = writeln!(
        o,
        "    /// A code this version of kafkit does not know (a newer broker's).\n    Unknown(i16),\n}}\n"
    );
    let _ = writeln!(
        o,
        "impl ResponseError {{\n    /// The error for a code; `None` for 0 (no error).\n    pub fn try_from_code(code: i16) -> Option<Self> {{\n        Some(match code {{\n            0 => return None,"
    );
    for (code, name, _, _) in &rows {
        let _ = writeln!(o, "            {code} => ResponseError::{},", camel(name));
    }
    let _ = writeln!(
        o,
        "            other => ResponseError::Unknown(other),\n        }})\n    }}\n"
    );
    let table = |o: &mut String,
                 f: &str,
                 ty: &str,
                 doc: &str,
                 val: &dyn Fn(i16, &str, bool, &str) -> String,
                 unknown: &str| {
        let _ = writeln!(
            o,
            "    /// {doc}\n    pub fn {f}(self) -> {ty} {{\n        match self {{"
        );
        for (code, name, r, m) in &rows {
            let _ = writeln!(
                o,
                "            ResponseError::{} => {},",
                camel(name),
                val(*code, name, *r, m)
            );
        }
        let _ = writeln!(
            o,
            "            ResponseError::Unknown({unknown}) => {},\n        }}\n    }}\n",
            if unknown == "c" { "c" } else { unknown_val(f) }
        );
    };
    table(
        &mut o,
        "code",
        "i16",
        "The wire code.",
        &|c, _, _, _| c.to_string(),
        "c",
    );
    table(
        &mut o,
        "name",
        "&'static str",
        "Kafka's name for the error, e.g. `NOT_LEADER_OR_FOLLOWER`.",
        &|_, n, _, _| format!("{n:?}"),
        "_",
    );
    table(
        &mut o,
        "is_retriable",
        "bool",
        "Whether Kafka classes the error as retriable (the same request may succeed later).",
        &|_, _, r, _| r.to_string(),
        "_",
    );
    table(
        &mut o,
        "description",
        "&'static str",
        "Kafka's default description of the error.",
        &|_, _, _, m| format!("{m:?}"),
        "_",
    );
    o.push_str("}\n");
    Ok(o)
}

fn unknown_val(f: &str) -> &'static str {
    match f {
        "name" => "\"UNKNOWN\"",
        "is_retriable" => "false",
        _ => "\"an error code this version of kafkit does not know\"",
    }
}

fn doc(m: &str) -> String {
    let m = m
        .replace('[', "\\[")
        .replace(']', "\\]")
        .replace('<', "&lt;");
    if m.is_empty() {
        "(no description)".into()
    } else {
        m
    }
}

/// `UNKNOWN_TOPIC_OR_PARTITION` -> `UnknownTopicOrPartition`.
fn camel(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect()
}
