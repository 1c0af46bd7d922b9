//! Writes to stdout that end quietly when stdout is closed (`kafkit ... | head -1`): Rust
//! ignores SIGPIPE, so `println!` would panic there instead.

use std::io::Write as _;

/// Writes `bytes` and flushes; `Ok(false)` when stdout is closed, so the caller can stop
/// printing (and, for a consumer, stop reading) without an error.
pub fn write(bytes: &[u8]) -> kafkit::Result<bool> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(kafkit::Error::new(
            kafkit::ErrorKind::Config,
            "stdout",
            format!("writing to stdout: {e}"),
        )),
    }
}

/// Writes `line` and a newline, as [`write`].
pub fn line(line: &str) -> kafkit::Result<bool> {
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    write(&buf)
}
