//! How `produce` reads records from stdin: bytes split at a record delimiter (`-D`, default a
//! newline), each split into key and value at a key delimiter (`-K`); or, with `--input json`,
//! one JSON object per line, the form `consume --json` prints.

use base64::Engine as _;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// A delimiter's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delim(pub Vec<u8>);

/// A delimiter as given on the command line, with `\n`, `\t`, `\r`, `\0`, `\\` and `\xNN`
/// escapes (clap calls it). It must not be empty.
pub fn delimiter(s: &str) -> Result<Delim, String> {
    let mut out = Vec::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let b = match chars.next() {
            Some('n') => b'\n',
            Some('t') => b'\t',
            Some('r') => b'\r',
            Some('0') => 0,
            Some('\\') => b'\\',
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                match u8::from_str_radix(&hex, 16) {
                    Ok(b) if hex.len() == 2 => b,
                    _ => return Err(format!("'\\x{hex}' needs two hex digits, e.g. \\x1e")),
                }
            }
            Some(x) => {
                return Err(format!(
                    "'\\{x}' is not an escape; use \\n \\t \\r \\0 \\\\ or \\xNN"
                ))
            }
            None => return Err("it ends in a lone '\\'; write \\\\ for a backslash".to_string()),
        };
        out.push(b);
    }
    if out.is_empty() {
        return Err("a delimiter cannot be empty".to_string());
    }
    Ok(Delim(out))
}

/// Reads records separated by a delimiter, each at most `max` bytes (memory stays bounded
/// when the delimiter never comes).
pub struct Splitter {
    delim: Vec<u8>,
    max: usize,
}

impl Splitter {
    /// Records separated by `delim` (not empty), each at most `max` bytes.
    pub fn new(delim: Vec<u8>, max: usize) -> Splitter {
        Splitter { delim, max }
    }

    /// Reads the next record into `rec` (its delimiter dropped); `false` at the end of input.
    /// The last record needs no delimiter after it; input ending in one has no empty record
    /// after it.
    pub async fn next<R: AsyncBufRead + Unpin>(
        &self,
        r: &mut R,
        rec: &mut Vec<u8>,
    ) -> Result<bool, String> {
        rec.clear();
        let Some(&last) = self.delim.last() else {
            return Err("a delimiter cannot be empty".to_string());
        };
        loop {
            let buf = r
                .fill_buf()
                .await
                .map_err(|e| format!("reading stdin: {e}"))?;
            if buf.is_empty() {
                return Ok(!rec.is_empty());
            }
            let (take, found) = match buf.iter().position(|b| *b == last) {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            rec.extend_from_slice(&buf[..take]);
            r.consume(take);
            if found && rec.ends_with(&self.delim) {
                rec.truncate(rec.len() - self.delim.len());
                if rec.len() > self.max {
                    return Err(self.too_large());
                }
                return Ok(true);
            }
            if rec.len() > self.max + self.delim.len() {
                return Err(self.too_large());
            }
        }
    }

    fn too_large(&self) -> String {
        format!(
            "a record of stdin is over {} bytes, the producer's max request size, and cannot be sent; check the record delimiter (-D, now {:?})",
            self.max,
            String::from_utf8_lossy(&self.delim)
        )
    }
}

/// `rec` split at the first `delim` into key and value; all value (no key) when it has none.
pub fn split_key<'a>(rec: &'a [u8], delim: &[u8]) -> (Option<&'a [u8]>, &'a [u8]) {
    if delim.is_empty() || rec.len() < delim.len() {
        return (None, rec);
    }
    match rec.windows(delim.len()).position(|w| w == delim) {
        Some(i) => (Some(&rec[..i]), &rec[i + delim.len()..]),
        None => (None, rec),
    }
}

/// A `-H key=value` header (clap calls it): split at the first `=`; the key must not be
/// empty.
pub fn header(s: &str) -> Result<(String, Vec<u8>), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.as_bytes().to_vec())),
        _ => Err(format!(
            "'{s}' is not key=value (e.g. -H trace-id=abc; the key cannot be empty)"
        )),
    }
}

/// One record of `--input json`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct JsonRecord {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    pub partition: Option<i32>,
    pub timestamp: Option<i64>,
}

/// A key, value or header value of `--input json`: a string, `{"base64": "..."}` or null.
fn json_bytes(v: &serde_json::Value, what: &str) -> Result<Option<Vec<u8>>, String> {
    match v {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) => Ok(Some(s.as_bytes().to_vec())),
        serde_json::Value::Object(o) if o.len() == 1 && o.contains_key("base64") => {
            let b64 = o["base64"]
                .as_str()
                .ok_or_else(|| format!("{what}: \"base64\" must be a string"))?;
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map(Some)
                .map_err(|e| format!("{what}: \"base64\" is not base64: {e}"))
        }
        _ => Err(format!(
            "{what} must be a string, {{\"base64\": \"...\"}} or null"
        )),
    }
}

/// Parses one line of `--input json`: an object with any of `key`, `value`, `headers` (a
/// list of `[key, value]` pairs, or an object), `partition` and `timestamp`; other fields
/// (`topic`, `offset`, as `consume --json` prints them) are ignored.
pub fn json_record(line: &[u8]) -> Result<JsonRecord, String> {
    let v: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let serde_json::Value::Object(o) = v else {
        return Err("not a JSON object".to_string());
    };
    let null = serde_json::Value::Null;
    let mut r = JsonRecord {
        key: json_bytes(o.get("key").unwrap_or(&null), "key")?,
        value: json_bytes(o.get("value").unwrap_or(&null), "value")?,
        ..JsonRecord::default()
    };
    let header_key = |k: &serde_json::Value| -> Result<String, String> {
        let bytes = json_bytes(k, "a header key")?.ok_or("a header key cannot be null")?;
        String::from_utf8(bytes).map_err(|_| "a header key must be UTF-8 to be sent".to_string())
    };
    match o.get("headers") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Array(pairs)) => {
            for pair in pairs {
                match pair.as_array().map(Vec::as_slice) {
                    Some([k, v]) => r
                        .headers
                        .push((header_key(k)?, json_bytes(v, "a header value")?)),
                    _ => return Err("each header must be a [key, value] pair".to_string()),
                }
            }
        }
        Some(serde_json::Value::Object(map)) => {
            for (k, v) in map {
                r.headers
                    .push((k.clone(), json_bytes(v, "a header value")?));
            }
        }
        Some(_) => {
            return Err("headers must be a list of [key, value] pairs or an object".to_string())
        }
    }
    let int = |name: &str| -> Result<Option<i64>, String> {
        match o.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| format!("{name} must be a whole number")),
        }
    };
    r.partition = match int("partition")? {
        None => None,
        Some(p) => Some(
            i32::try_from(p)
                .ok()
                .filter(|p| *p >= 0)
                .ok_or_else(|| format!("partition {p} must be 0 or more"))?,
        ),
    };
    r.timestamp = match int("timestamp")? {
        Some(t) if t < 0 => {
            return Err(format!(
                "timestamp {t} must be 0 or more (ms since the epoch)"
            ))
        }
        t => t,
    };
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn split(input: &[u8], delim: &[u8], max: usize) -> Result<Vec<Vec<u8>>, String> {
        let s = Splitter::new(delim.to_vec(), max);
        let mut r = input;
        let mut out = Vec::new();
        let mut rec = Vec::new();
        while s.next(&mut r, &mut rec).await? {
            out.push(rec.clone());
        }
        Ok(out)
    }

    #[tokio::test]
    async fn records_split_at_any_delimiter() {
        assert_eq!(
            split(b"a\nb\xff\n\nc", b"\n", 100).await.unwrap(),
            vec![b"a".to_vec(), b"b\xff".to_vec(), vec![], b"c".to_vec()]
        );
        assert_eq!(
            split(b"a\n", b"\n", 100).await.unwrap(),
            vec![b"a".to_vec()]
        );
        assert_eq!(split(b"", b"\n", 100).await.unwrap(), Vec::<Vec<u8>>::new());
        assert_eq!(
            split(b"x;;y\n;;z;", b";;", 100).await.unwrap(),
            vec![b"x".to_vec(), b"y\n".to_vec(), b"z;".to_vec()]
        );
        assert_eq!(
            split(b"1\x002\x00", b"\0", 100).await.unwrap(),
            vec![b"1".to_vec(), b"2".to_vec()]
        );
    }

    #[tokio::test]
    async fn a_record_over_the_limit_is_an_error_not_a_growing_buffer() {
        let e = split(&[b'x'; 1000], b"\n", 100).await.unwrap_err();
        assert!(e.contains("over 100 bytes") && e.contains("-D"), "{e}");
        assert!(split(&[b'x'; 100], b"\n", 100).await.is_ok());
    }

    #[test]
    fn keys_split_at_the_first_delimiter() {
        assert_eq!(split_key(b"k:v:w", b":"), (Some(&b"k"[..]), &b"v:w"[..]));
        assert_eq!(split_key(b"novalue", b":"), (None, &b"novalue"[..]));
        assert_eq!(split_key(b":v", b":"), (Some(&b""[..]), &b"v"[..]));
        assert_eq!(split_key(b"k::v", b"::"), (Some(&b"k"[..]), &b"v"[..]));
        assert_eq!(split_key(b"", b"::"), (None, &b""[..]));
    }

    #[test]
    fn delimiters_take_escapes() {
        assert_eq!(delimiter("\\n").unwrap().0, b"\n");
        assert_eq!(delimiter("\\t").unwrap().0, b"\t");
        assert_eq!(delimiter("\\x1e").unwrap().0, b"\x1e");
        assert_eq!(delimiter("||").unwrap().0, b"||");
        assert_eq!(delimiter("\\0").unwrap().0, b"\0");
        for bad in ["", "\\", "\\q", "\\x", "\\x1", "\\xzz"] {
            assert!(delimiter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn headers_are_key_equals_value() {
        assert_eq!(header("a=b=c").unwrap(), ("a".to_string(), b"b=c".to_vec()));
        assert_eq!(header("a=").unwrap(), ("a".to_string(), vec![]));
        assert!(header("=v").is_err());
        assert!(header("novalue").unwrap_err().contains("key=value"));
    }

    #[test]
    fn json_lines_read_what_consume_json_prints() {
        let r = json_record(br#"{"topic":"t","partition":1,"offset":5,"timestamp":7,"key":{"base64":"/wA="},"value":"v","headers":[["h",{"base64":"/w=="}],["n",null]]}"#).unwrap();
        assert_eq!(r.key, Some(vec![0xff, 0]));
        assert_eq!(r.value, Some(b"v".to_vec()));
        assert_eq!(
            r.headers,
            vec![("h".to_string(), Some(vec![0xff])), ("n".to_string(), None)]
        );
        assert_eq!((r.partition, r.timestamp), (Some(1), Some(7)));
        let r = json_record(br#"{"value":null,"headers":{"a":"b"}}"#).unwrap();
        assert_eq!(r.value, None);
        assert_eq!(r.headers, vec![("a".to_string(), Some(b"b".to_vec()))]);
        for bad in [
            &br#"[1]"#[..],
            br#"{"value":5}"#,
            br#"{"value":{"base64":"!!"}}"#,
            br#"{"partition":-1}"#,
            br#"{"partition":99999999999}"#,
            br#"{"timestamp":"now"}"#,
            br#"{"headers":[["k"]]}"#,
            br#"{"headers":[[{"base64":"/w=="},"v"]]}"#,
            b"not json",
        ] {
            assert!(
                json_record(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn any_argument_or_line_parses_or_errs_without_panic(s in ".{0,30}", b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let _ = delimiter(&s);
            let _ = header(&s);
            let _ = json_record(s.as_bytes());
            let _ = json_record(&b);
            let _ = split_key(&b, s.as_bytes());
        }
    }
}
