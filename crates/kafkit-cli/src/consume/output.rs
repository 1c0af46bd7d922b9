//! How `consume` prints a record: the default line, `--json`, or a `--format` string (kcat's
//! `-f`), which `--value-only` abbreviates.
//!
//! Format tokens: `%t` topic, `%p` partition, `%o` offset, `%T` timestamp (ms since the
//! epoch), `%k` key, `%s` value, `%K` / `%S` key / value length in bytes (-1 when null), `%h`
//! headers as `k=v` joined by `,`, `%%` a percent sign; escapes `\n`, `\t`, `\r`, `\0`, `\\`.
//! A null key, value or header value prints as nothing, or as `NULL` with `--print-null`
//! (kcat's `-Z`); `%K`/`%S` (-1) and `--json` (`null`) always tell null from empty.
//!
//! A format writes keys, values, headers and topic names as their bytes when stdout is not a
//! terminal (a file or pipe gets exactly what was produced); on a terminal they are escaped as
//! `terminal` says, so no record can send the terminal a control sequence.

use base64::Engine as _;
use kafkit::consumer::Message;
use serde_json::json;

use crate::terminal;

/// One piece of a `--format`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(Vec<u8>),
    Topic,
    Partition,
    Offset,
    Timestamp,
    Key,
    Value,
    KeyLen,
    ValueLen,
    Headers,
}

/// A parsed `--format` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format(Vec<Piece>);

const TOKENS: &str = "%t %p %o %T %k %s %K %S %h %% and \\n \\t \\r \\0 \\\\";

impl Format {
    /// Parses a format string (clap calls it): an unknown `%x` or `\x`, or one cut off at the
    /// end, is an error naming it and the tokens there are.
    pub fn parse(s: &str) -> Result<Format, String> {
        let mut pieces = Vec::new();
        let mut text = Vec::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            let piece = match c {
                '%' => match chars.next() {
                    Some('t') => Piece::Topic,
                    Some('p') => Piece::Partition,
                    Some('o') => Piece::Offset,
                    Some('T') => Piece::Timestamp,
                    Some('k') => Piece::Key,
                    Some('s') => Piece::Value,
                    Some('K') => Piece::KeyLen,
                    Some('S') => Piece::ValueLen,
                    Some('h') => Piece::Headers,
                    Some('%') => {
                        text.push(b'%');
                        continue;
                    }
                    Some(x) => return Err(format!("'%{x}' is not a token; use {TOKENS}")),
                    None => return Err(format!("it ends in a lone '%'; use {TOKENS}")),
                },
                '\\' => {
                    let b = match chars.next() {
                        Some('n') => b'\n',
                        Some('t') => b'\t',
                        Some('r') => b'\r',
                        Some('0') => 0,
                        Some('\\') => b'\\',
                        Some(x) => return Err(format!("'\\{x}' is not an escape; use {TOKENS}")),
                        None => return Err(format!("it ends in a lone '\\'; use {TOKENS}")),
                    };
                    text.push(b);
                    continue;
                }
                c => {
                    let mut buf = [0; 4];
                    text.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    continue;
                }
            };
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(piece);
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Format(pieces))
    }

    /// `--value-only`: each value on a line of its own.
    pub fn value_only() -> Format {
        Format(vec![Piece::Value, Piece::Text(b"\n".to_vec())])
    }
}

/// How records are printed.
pub enum Output {
    /// `topic-partition@offset<TAB>key<TAB>value`, escaped, `null` for a null key or value.
    Line,
    /// One JSON object per record, exact.
    Json,
    /// A `--format`: `raw` writes record bytes as they are (else escaped); `null` is what a
    /// null key, value or header value prints as.
    Format {
        format: Format,
        raw: bool,
        null: &'static [u8],
    },
}

/// A key, value or header value for `--json`: a string when it is UTF-8, else
/// `{"base64": ...}`; `null` when absent. Exact either way.
pub fn json_bytes(b: Option<&[u8]>) -> serde_json::Value {
    match b {
        None => serde_json::Value::Null,
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => json!(s),
            Err(_) => json!({"base64": base64::engine::general_purpose::STANDARD.encode(b)}),
        },
    }
}

/// A key or value as the default line shows it: escaped, `null` when absent.
pub fn text(b: &Option<bytes::Bytes>) -> std::borrow::Cow<'_, str> {
    match b {
        None => "null".into(),
        Some(b) => terminal::escape_bytes(b),
    }
}

impl Output {
    /// Appends `m` as this output prints it to `out`.
    pub fn render(&self, m: &Message, out: &mut Vec<u8>) {
        match self {
            Output::Line => {
                let line = format!(
                    "{}-{}@{}\t{}\t{}\n",
                    terminal::esc(&m.topic),
                    m.partition,
                    m.offset,
                    text(&m.key),
                    text(&m.value)
                );
                out.extend_from_slice(line.as_bytes());
            }
            Output::Json => {
                let headers: Vec<_> = m
                    .headers
                    .iter()
                    .map(|h| json!([json_bytes(Some(&h.key)), json_bytes(h.value.as_deref())]))
                    .collect();
                let v = json!({"topic": &*m.topic, "partition": m.partition, "offset": m.offset,
                   "timestamp": m.timestamp, "key": json_bytes(m.key.as_deref()),
                   "value": json_bytes(m.value.as_deref()), "headers": headers});
                out.extend_from_slice(terminal::json(&v).as_bytes());
                out.push(b'\n');
            }
            Output::Format { format, raw, null } => {
                let bytes = |out: &mut Vec<u8>, b: Option<&[u8]>| match b {
                    None => out.extend_from_slice(null),
                    Some(b) if *raw => out.extend_from_slice(b),
                    Some(b) => out.extend_from_slice(terminal::escape_bytes(b).as_bytes()),
                };
                let len = |b: Option<&[u8]>| b.map_or(-1, |b| b.len() as i64);
                for piece in &format.0 {
                    match piece {
                        Piece::Text(t) => out.extend_from_slice(t),
                        Piece::Topic => bytes(out, Some(m.topic.as_bytes())),
                        Piece::Partition => {
                            out.extend_from_slice(m.partition.to_string().as_bytes())
                        }
                        Piece::Offset => out.extend_from_slice(m.offset.to_string().as_bytes()),
                        Piece::Timestamp => {
                            out.extend_from_slice(m.timestamp.to_string().as_bytes())
                        }
                        Piece::Key => bytes(out, m.key.as_deref()),
                        Piece::Value => bytes(out, m.value.as_deref()),
                        Piece::KeyLen => {
                            out.extend_from_slice(len(m.key.as_deref()).to_string().as_bytes())
                        }
                        Piece::ValueLen => {
                            out.extend_from_slice(len(m.value.as_deref()).to_string().as_bytes())
                        }
                        Piece::Headers => {
                            for (i, h) in m.headers.iter().enumerate() {
                                if i > 0 {
                                    out.push(b',');
                                }
                                bytes(out, Some(&h.key));
                                out.push(b'=');
                                bytes(out, h.value.as_deref());
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use kafkit::consumer::MessageHeader;

    fn message(key: Option<&[u8]>, value: Option<&[u8]>) -> Message {
        Message {
            topic: "orders".into(),
            partition: 2,
            offset: 41,
            timestamp: 1_700_000_000_000,
            key: key.map(Bytes::copy_from_slice),
            value: value.map(Bytes::copy_from_slice),
            leader_epoch: 0,
            headers: vec![
                MessageHeader {
                    key: Bytes::from_static(b"trace"),
                    value: Some(Bytes::from_static(b"abc")),
                },
                MessageHeader {
                    key: Bytes::from_static(b"gone"),
                    value: None,
                },
            ],
        }
    }

    fn render(o: &Output, m: &Message) -> Vec<u8> {
        let mut out = Vec::new();
        o.render(m, &mut out);
        out
    }

    fn format(f: &str, raw: bool, null: &'static [u8]) -> Output {
        Output::Format {
            format: Format::parse(f).unwrap(),
            raw,
            null,
        }
    }

    #[test]
    fn every_token_prints_its_field() {
        let m = message(Some(b"k1"), Some(b"v\xff1"));
        let o = format("%t|%p|%o|%T|%k|%s|%K|%S|%h|100%%\\t\\n", true, b"");
        assert_eq!(
            render(&o, &m),
            b"orders|2|41|1700000000000|k1|v\xff1|2|3|trace=abc,gone=|100%\t\n".to_vec()
        );
    }

    #[test]
    fn null_is_told_from_empty() {
        let null = message(None, None);
        let empty = message(Some(b""), Some(b""));
        let o = format("[%k][%s][%K][%S]", true, b"");
        assert_eq!(render(&o, &null), b"[][][-1][-1]");
        assert_eq!(render(&o, &empty), b"[][][0][0]");
        let z = format("[%k][%s]", true, b"NULL");
        assert_eq!(render(&z, &null), b"[NULL][NULL]");
        assert_eq!(render(&z, &empty), b"[][]");
        let j: serde_json::Value = serde_json::from_slice(&render(&Output::Json, &null)).unwrap();
        assert!(j["key"].is_null() && j["value"].is_null());
        let j: serde_json::Value = serde_json::from_slice(&render(&Output::Json, &empty)).unwrap();
        assert_eq!(j["value"], "");
    }

    #[test]
    fn escaped_formats_send_no_control_character() {
        let m = message(Some(b"\x1b[31m"), Some(b"a\nb\xff"));
        let o = format("%k %s\\n", false, b"");
        assert_eq!(render(&o, &m), b"\\x1b[31m a\\nb\\xff\n".to_vec());
        assert_eq!(
            render(
                &Output::Format {
                    format: Format::value_only(),
                    raw: true,
                    null: b""
                },
                &m
            ),
            b"a\nb\xff\n"
        );
    }

    #[test]
    fn json_is_lossless() {
        let m = message(Some(b"\xff\x00"), Some(b"ok"));
        let j: serde_json::Value = serde_json::from_slice(&render(&Output::Json, &m)).unwrap();
        assert_eq!(j["key"], json!({"base64": "/wA="}));
        assert_eq!(j["value"], "ok");
        assert_eq!(j["headers"], json!([["trace", "abc"], ["gone", null]]));
    }

    #[test]
    fn bad_formats_name_the_token() {
        assert!(Format::parse("%x").unwrap_err().contains("'%x'"));
        assert!(Format::parse("abc%").unwrap_err().contains("lone '%'"));
        assert!(Format::parse("\\q").unwrap_err().contains("'\\q'"));
        assert!(Format::parse("\\").unwrap_err().contains("lone '\\'"));
        assert_eq!(Format::parse("").unwrap(), Format(vec![]));
        assert_eq!(
            Format::parse("é%%").unwrap(),
            Format(vec![Piece::Text("é%".as_bytes().to_vec())])
        );
    }

    proptest::proptest! {
        #[test]
        fn any_format_parses_or_errs_without_panic(s in ".{0,40}") {
            let _ = Format::parse(&s);
        }
    }
}
