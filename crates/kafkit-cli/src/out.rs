//! Writes to stdout that end quietly when stdout is closed (`kafkit ... | head -1`): Rust
//! ignores SIGPIPE, so `println!` would panic there instead.

use std::io::Write as _;

/// `println!` for output that is a command's last step: a closed stdout ends the process
/// quietly (exit 0), as SIGPIPE ends the C tools, where `println!` would panic.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::line_or_exit(&format!($($arg)*))
    };
}

/// Writes `line` and a newline; a closed stdout ends the process quietly, another write
/// error ends it with the error.
pub fn line_or_exit(line: &str) {
    match self::line(line) {
        Ok(true) => {}
        Ok(false) => std::process::exit(0),
        Err(e) => {
            eprintln!("kafkit: {e}");
            std::process::exit(1)
        }
    }
}

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
