//! What the CLI prints of text it did not write itself (anything a broker sent: record keys and
//! values, topic and group names, error and warning messages) goes through here, so no byte of
//! it reaches a terminal as a control sequence. Text output shows no record headers; `--json`
//! shows them exactly.
//!
//! Text output escapes, in each such piece:
//!
//! | Character | Shown as |
//! |---|---|
//! | TAB, LF, CR | `\t`, `\n`, `\r` |
//! | other C0 controls (U+0000-U+001F) and DEL (U+007F), e.g. BEL, ESC | `\x07`, `\x1b`, `\x7f` |
//! | C1 controls (U+0080-U+009F) | `\u{9b}` |
//! | bidirectional formatting (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), line and paragraph separators (U+2028, U+2029) | `\u{202e}` |
//! | a byte that is not UTF-8 (keys, values) | `\xff` |
//!
//! Everything else, backslashes included, is printed as it is: text output is for reading
//! (`\x1b` in it may be an escaped ESC or those four characters); `--json` is exact.
//!
//! JSON output is exact: serde_json escapes the C0 controls, and [`json`] also writes DEL, the
//! C1 controls and the other characters above as `\uXXXX` escapes, which decode to the same
//! string.

use std::borrow::Cow;
use std::fmt::{self, Display, Write as _};

/// The notation, as `kafkit --help` tells it.
pub const HELP: &str =
    "Text output escapes control characters in what brokers send (record keys and values, \
names, error and warning messages): \\t \\n \\r; \\xNN for the other C0 controls, DEL and bytes that \
are not UTF-8 (ESC is \\x1b, BEL \\x07); \\u{NN} for C1 controls and bidirectional formatting \
characters. --json output is exact (non-UTF-8 keys, values and headers as {\"base64\": ...}).";

/// Whether `c` is shown escaped.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// Writes `c` (an unsafe character) in its escaped form.
fn write_escaped(out: &mut impl fmt::Write, c: char) -> fmt::Result {
    match c {
        '\t' => out.write_str("\\t"),
        '\n' => out.write_str("\\n"),
        '\r' => out.write_str("\\r"),
        c if (c as u32) < 0x80 => write!(out, "\\x{:02x}", c as u32),
        c => write!(out, "\\u{{{:x}}}", c as u32),
    }
}

/// Writes `s` with its unsafe characters escaped.
fn write_str_escaped(out: &mut impl fmt::Write, s: &str) -> fmt::Result {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if unsafe_char(c) {
            out.write_str(&s[start..i])?;
            write_escaped(out, c)?;
            start = i + c.len_utf8();
        }
    }
    out.write_str(&s[start..])
}

/// `s` as text output shows it: unchanged (borrowed) unless it holds a character to escape.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    // Writing to a String cannot fail.
    let _ = write_str_escaped(&mut out, s);
    Cow::Owned(out)
}

/// Bytes (a record's key, value or header) as text output shows them: UTF-8 escaped as
/// [`escape`] does, each byte that is not UTF-8 as `\xNN`.
pub fn escape_bytes(b: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(b) {
        return escape(s);
    }
    let mut out = String::with_capacity(b.len() + 8);
    for chunk in b.utf8_chunks() {
        let _ = write_str_escaped(&mut out, chunk.valid());
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    Cow::Owned(out)
}

/// A value whose `Display` text is escaped as [`escape`] does (no copy: each piece is escaped
/// as it is written). Wrap every argument of a text-output line the CLI did not write itself.
pub struct Esc<T>(pub T);

/// [`Esc`]: `println!("deleted topic {}", esc(&name))`.
pub fn esc<T: Display>(t: T) -> Esc<T> {
    Esc(t)
}

impl<T: Display> Display for Esc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Escaping<'a, 'b>(&'a mut fmt::Formatter<'b>);
        impl fmt::Write for Escaping<'_, '_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                write_str_escaped(self.0, s)
            }
        }
        write!(Escaping(f), "{}", self.0)
    }
}

/// Whether the fatal error line may be coloured: stderr is a terminal and `NO_COLOR` is unset
/// (<https://no-color.org>).
pub fn stderr_colour() -> bool {
    use std::io::IsTerminal as _;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The line a fatal error is printed as: `kafkit: ` and the error, escaped (so one line),
/// the prefix in bold red when `colour`.
pub fn error_line(e: &impl Display, colour: bool) -> String {
    if colour {
        format!("\x1b[1;31mkafkit:\x1b[0m {}", esc(e))
    } else {
        format!("kafkit: {}", esc(e))
    }
}

/// `v` as compact JSON, exact (it decodes to `v`) and with no terminal control character in it.
pub fn json(v: &serde_json::Value) -> String {
    json_safe(v.to_string())
}

/// As [`json`], indented.
pub fn json_pretty(v: &serde_json::Value) -> String {
    json_safe(serde_json::to_string_pretty(v).unwrap_or_default())
}

/// serde_json escapes the C0 controls in strings (a raw one in its output is the layout's own
/// whitespace) but leaves DEL, the C1 controls and the other unsafe characters raw (JSON allows
/// them in strings); those can only be inside strings, where `\uXXXX` means the same character.
fn json_safe(s: String) -> String {
    let escaped = |c: char| unsafe_char(c) && c as u32 >= 0x7f;
    if !s.chars().any(escaped) {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if escaped(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Stderr for the library's log (`KAFKIT_LOG`): each line the formatter writes is escaped as
/// [`escape_bytes`] does (its fields carry broker text: error messages, names), its final
/// newline kept. The formatter must not color its output (`with_ansi(false)`): its own escape
/// sequences would be shown escaped too.
pub struct LogWriter;

impl LogWriter {
    /// Writes `buf` (one formatted event) to `out`, escaped.
    fn write_escaped(out: &mut impl std::io::Write, buf: &[u8]) -> std::io::Result<()> {
        let (line, newline) = match buf.strip_suffix(b"\n") {
            Some(line) => (line, true),
            None => (buf, false),
        };
        out.write_all(escape_bytes(line).as_bytes())?;
        if newline {
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Self::write_escaped(&mut std::io::stderr().lock(), buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Whether `s` holds a byte or character a terminal may act on.
    fn has_control(s: &str) -> bool {
        s.chars().any(unsafe_char)
    }

    #[test]
    fn controls_are_shown_escaped() {
        assert_eq!(escape("plain text, ünïcödé ✓"), "plain text, ünïcödé ✓");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        assert_eq!(escape("\x1b[31mred\x07"), "\\x1b[31mred\\x07");
        assert_eq!(escape("a\tb\nc\rd"), "a\\tb\\nc\\rd");
        assert_eq!(escape("\0\x7f"), "\\x00\\x7f");
        assert_eq!(escape("\u{9b}2J\u{85}"), "\\u{9b}2J\\u{85}");
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(escape("x\u{2028}y"), "x\\u{2028}y");
        // Backslashes are left alone: text output is for reading, --json is exact.
        assert_eq!(escape("C:\\dir"), "C:\\dir");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_shown_as_hex() {
        assert_eq!(escape_bytes(b"ok"), "ok");
        assert_eq!(escape_bytes(b"\xff\xfeab\x1b"), "\\xff\\xfeab\\x1b");
        // A lone C1 byte is not UTF-8; the encoded character is.
        assert_eq!(escape_bytes(b"\x9b"), "\\x9b");
        assert_eq!(escape_bytes("\u{9b}".as_bytes()), "\\u{9b}");
        assert_eq!(escape_bytes(b"caf\xc3\xa9 \xc3"), "café \\xc3");
    }

    #[test]
    fn the_display_wrapper_escapes_what_it_wraps() {
        let e = kafkit::Error::new(
            kafkit::ErrorKind::Config,
            "test",
            "topic '\x1b]0;owned\x07' is bad",
        );
        let shown = format!("kafkit: {}", esc(&e));
        assert!(!has_control(&shown), "{shown:?}");
        assert!(shown.contains("\\x1b]0;owned\\x07"), "{shown}");
        assert_eq!(format!("{}", esc("a\nb")), "a\\nb");
    }

    #[test]
    fn a_fatal_error_is_one_line_coloured_only_when_asked() {
        let e = kafkit::Error::new(kafkit::ErrorKind::Config, "test", "two\nlines \x1b[2J");
        let plain = error_line(&e, false);
        assert!(
            plain.starts_with("kafkit: ") && !plain.contains('\n'),
            "{plain}"
        );
        assert!(!has_control(&plain), "{plain:?}");
        let coloured = error_line(&e, true);
        assert!(
            coloured.starts_with("\x1b[1;31mkafkit:\x1b[0m "),
            "{coloured:?}"
        );
        assert!(!coloured.contains('\n'));
        // The only escape sequences are the colour's own.
        assert_eq!(coloured.matches('\x1b').count(), 2, "{coloured:?}");
    }

    #[test]
    fn json_is_exact_and_has_no_controls() {
        let v = serde_json::json!({"k": "\x1b\x07\x7f\u{9b}\u{202e}\n\"\\ é"});
        let text = json(&v);
        assert!(!has_control(&text), "{text:?}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), v);
        let pretty = json_pretty(&v);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&pretty).unwrap(),
            v
        );
        assert!(
            !pretty.chars().any(|c| unsafe_char(c) && c != '\n'),
            "{pretty:?}"
        );
    }

    #[test]
    fn log_lines_are_escaped_but_for_their_newline() {
        let mut out = Vec::new();
        LogWriter::write_escaped(&mut out, b"ERROR group=g\x1b]0;t\x07 error=a\nb\n").unwrap();
        assert_eq!(out, b"ERROR group=g\\x1b]0;t\\x07 error=a\\nb\n");
    }

    proptest! {
        #[test]
        fn escaped_text_has_no_control_character(s in any::<String>()) {
            let shown = escape(&s);
            prop_assert!(!has_control(&shown), "{:?}", shown);
            prop_assert!(!shown.bytes().any(|b| b < 0x20 || b == 0x7f));
            let wrapped = esc(&s).to_string();
            prop_assert_eq!(&wrapped, &*shown);
            // Nothing safe is changed.
            if !has_control(&s) {
                prop_assert_eq!(&*shown, s.as_str());
            }
        }

        #[test]
        fn escaped_bytes_have_no_control_character(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let shown = escape_bytes(&b);
            prop_assert!(!has_control(&shown), "{:?}", shown);
            prop_assert!(!shown.bytes().any(|b| b < 0x20 || b == 0x7f));
        }

        #[test]
        fn json_round_trips_without_control_characters(s in any::<String>(), b in proptest::collection::vec(any::<u8>(), 0..32)) {
            let v = serde_json::json!({"s": s, "lossy": String::from_utf8_lossy(&b)});
            let text = json(&v);
            prop_assert!(!has_control(&text), "{:?}", text);
            prop_assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), v);
        }
    }
}
