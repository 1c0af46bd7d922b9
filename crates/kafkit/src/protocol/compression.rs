//! Record batch compression, in the formats the Java client writes and reads.
//!
//! Pure-Rust codecs only: gzip (miniz_oxide via flate2), snappy (xerial framing, as Java's
//! snappy-java writes it), lz4 (LZ4 frame, independent 64 KiB blocks, as Kafka's own
//! `KafkaLZ4BlockOutputStream`), zstd (structured-zstd compresses, at every level; ruzstd
//! decompresses). Decompression is bounded: a batch that would inflate past the limit is an
//! error, never unbounded memory.
//!
//! Levels (KIP-390) are described on [`CompressionLevels`]: gzip and zstd honour them; lz4
//! honours them with the opt-in `lz4-hc` feature (liblz4's HC compressor, C), and has one level,
//! its fast compressor, in the default pure-Rust build.
//!
//! One file: the codecs share the level rules and the bounded inflation; most of its
//! length is tests, kept beside the code they pin, frame by frame.

use std::io::{Read, Write};

use bytes::{Bytes, BytesMut};

use crate::error::{Error, ErrorKind, Result};

/// A record batch codec (attribute bits 0-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// No compression.
    #[default]
    None,
    /// gzip.
    Gzip,
    /// snappy.
    Snappy,
    /// lz4.
    Lz4,
    /// zstd.
    Zstd,
}

impl Compression {
    /// The attribute bits.
    pub fn code(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// From the attribute bits.
    pub fn from_code(code: u8) -> Result<Self> {
        Ok(match code {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            c => {
                return Err(Error::protocol(
                    "decode_record_batch",
                    format!("unknown compression codec {c} in a record batch"),
                ))
            }
        })
    }
}

impl std::str::FromStr for Compression {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Compression::None),
            "gzip" => Ok(Compression::Gzip),
            "snappy" => Ok(Compression::Snappy),
            "lz4" => Ok(Compression::Lz4),
            "zstd" => Ok(Compression::Zstd),
            _ => Err(Error::config(format!(
                "compression '{s}' is not one of none, gzip, snappy, lz4, zstd"
            ))),
        }
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        })
    }
}

impl Compression {
    /// The levels this codec takes, as the Java client validates them (KIP-390); `None` for
    /// `None` and `Snappy`, which have none. Gzip also takes -1, zlib's "default" (= 6).
    ///
    /// ```
    /// use kafkit::producer::Compression;
    /// assert_eq!(Compression::Zstd.level_range(), Some(-131072..=22));
    /// assert_eq!(Compression::Snappy.level_range(), None);
    /// ```
    pub fn level_range(self) -> Option<std::ops::RangeInclusive<i32>> {
        match self {
            Compression::None | Compression::Snappy => None,
            Compression::Gzip => Some(GZIP_MIN..=GZIP_MAX),
            Compression::Lz4 => Some(1..=17),
            Compression::Zstd => Some(ZSTD_MIN..=ZSTD_MAX),
        }
    }

    /// The level used when none is set: the Java client's default (gzip -1, which zlib takes
    /// as 6; lz4 9; zstd 3). `None` for codecs without levels.
    pub fn default_level(self) -> Option<i32> {
        match self {
            Compression::None | Compression::Snappy => None,
            Compression::Gzip => Some(GZIP_DEFAULT),
            Compression::Lz4 => Some(9),
            Compression::Zstd => Some(ZSTD_DEFAULT),
        }
    }

    /// The Java client's name for this codec's level option (`compression.zstd.level`...).
    pub fn level_option(self) -> Option<&'static str> {
        match self {
            Compression::None | Compression::Snappy => None,
            Compression::Gzip => Some("compression.gzip.level"),
            Compression::Lz4 => Some("compression.lz4.level"),
            Compression::Zstd => Some("compression.zstd.level"),
        }
    }

    /// Checks `level` for this codec; the error names the option, the valid range and the fix.
    pub fn check_level(self, level: i32) -> Result<()> {
        let Some(range) = self.level_range() else {
            return Err(Error::config(format!(
                "compression level {level} was given for {self}, which has no levels; remove the level, or pick gzip, lz4 or zstd"
            )));
        };
        let gzip_default = self == Compression::Gzip && level == GZIP_DEFAULT;
        if range.contains(&level) || gzip_default {
            return Ok(());
        }
        let option = self.level_option().unwrap_or("compression level");
        let extra = if self == Compression::Gzip {
            " (or -1 for the default)"
        } else {
            ""
        };
        Err(Error::config(format!(
            "{option} {level} is out of range: {self} takes {}..={}{extra}; give a level in that range, or leave it unset for the default ({})",
            range.start(),
            range.end(),
            match self {
                Compression::Gzip => GZIP_DEFAULT_IS as i32,
                c => c.default_level().unwrap_or_default(),
            },
        )))
    }

    /// The level a batch is really compressed at, given the configured one (`None` = the
    /// default): gzip and zstd honour every level (gzip's -1 is 6, zstd's 0 is 3, as in zlib
    /// and zstd). lz4 does what the Java client does: the default (9) is LZ4's fast
    /// compressor, reported as level 1; with the `lz4-hc` feature any other level is liblz4's
    /// HC compressor at that level (1 is HC's 2, the same parameters, and 13 to 17 are HC's
    /// top, 12); without it, the pure-Rust build has the fast compressor only, so every lz4
    /// level is 1. `None` for codecs without levels.
    ///
    /// ```
    /// use kafkit::producer::Compression;
    /// assert_eq!(Compression::Gzip.effective_level(Some(9)), Some(9));
    /// assert_eq!(Compression::Gzip.effective_level(None), Some(6));
    /// assert_eq!(Compression::Zstd.effective_level(Some(19)), Some(19));
    /// assert_eq!(Compression::Zstd.effective_level(None), Some(3));
    /// // lz4's default is its fast compressor, in the Java client too.
    /// assert_eq!(Compression::Lz4.effective_level(Some(9)), Some(1));
    /// let hc = if cfg!(feature = "lz4-hc") { 12 } else { 1 };
    /// assert_eq!(Compression::Lz4.effective_level(Some(17)), Some(hc));
    /// ```
    pub fn effective_level(self, level: Option<i32>) -> Option<i32> {
        match self {
            Compression::None | Compression::Snappy => None,
            Compression::Gzip => Some(gzip_level(level) as i32),
            Compression::Lz4 => Some(lz4_hc_level(level).map_or(LZ4_FAST, |l| l as i32)),
            Compression::Zstd => Some(zstd_level(level)),
        }
    }
}

const GZIP_MIN: i32 = 1;
const GZIP_MAX: i32 = 9;
/// Java's `Deflater.DEFAULT_COMPRESSION`: zlib's default, level 6.
const GZIP_DEFAULT: i32 = -1;
const GZIP_DEFAULT_IS: u32 = 6;

/// The Java client's default lz4 level, at which it (and kafkit) use LZ4's fast compressor.
const LZ4_DEFAULT: i32 = 9;
/// How [`Compression::effective_level`] reports LZ4's fast compressor (the C library's level 1).
const LZ4_FAST: i32 = 1;

/// The liblz4 HC level for a configured lz4 level, or `None` for LZ4's fast compressor. As the
/// Java client (`Lz4BlockOutputStream`): its default level takes the fast compressor, every
/// other its HC compressor at that level, which liblz4 clamps to 12. Level 1 is sent as 2:
/// liblz4's HC levels 1 and 2 are the same parameters, and its frame API takes levels below 2
/// as the fast compressor. Without the `lz4-hc` feature there is no HC compressor: `None`.
fn lz4_hc_level(level: Option<i32>) -> Option<u32> {
    match level {
        Some(l) if cfg!(feature = "lz4-hc") && l != LZ4_DEFAULT => Some(l.clamp(2, 12) as u32),
        _ => None,
    }
}

const ZSTD_MIN: i32 = -131_072;
const ZSTD_MAX: i32 = 22;
const ZSTD_DEFAULT: i32 = 3;

/// The zstd level for a configured one: 0 is the default (3), as in zstd; out-of-range values
/// are clamped (validation refuses them first).
fn zstd_level(level: Option<i32>) -> i32 {
    match level {
        None | Some(0) => ZSTD_DEFAULT,
        Some(l) => l.clamp(ZSTD_MIN, ZSTD_MAX),
    }
}

/// The zlib level for a gzip level (checked or not: out-of-range values are clamped, so a
/// level that skipped validation still compresses).
fn gzip_level(level: Option<i32>) -> u32 {
    match level {
        None | Some(GZIP_DEFAULT) => GZIP_DEFAULT_IS,
        Some(l) => l.clamp(GZIP_MIN, GZIP_MAX) as u32,
    }
}

/// A compression level per codec: KIP-390's `compression.gzip.level`,
/// `compression.lz4.level` and `compression.zstd.level`, with the Java client's ranges; unset
/// levels are the Java client's defaults ([`Compression::default_level`]). What each codec
/// does with a level:
///
/// | codec | Java option | range | default | what kafkit's codec does |
/// | --- | --- | --- | --- | --- |
/// | gzip | `compression.gzip.level` | 1..=9, or -1 | -1 (= 6) | every level, as zlib's (miniz_oxide) |
/// | zstd | `compression.zstd.level` | -131072..=22 | 3 | every level, as zstd's (structured-zstd; 0 = 3) |
/// | lz4 | `compression.lz4.level` | 1..=17 | 9 | as the Java client: 9 is LZ4's fast compressor (lz4_flex); with the `lz4-hc` feature every other level is liblz4's HC compressor at that level (13 to 17 are its top, 12); without it, the fast compressor at every level |
/// | snappy, none | none | none | none | no levels; setting one is an error |
///
/// A level outside its range is a configuration error naming the option, the range and the
/// fix. lz4's HC levels need C: no maintained pure-Rust crate has LZ4 HC, so they come with
/// the opt-in `lz4-hc` cargo feature (the `lz4` crate, liblz4 1.10), which writes Kafka's lz4
/// frame (independent 64 KiB blocks) as the fast path does. Without the feature the library is
/// pure Rust and an lz4 level within its range is accepted and compressed with the fast
/// compressor, the Java client's default: the batch is valid for every reader, only larger
/// than Java's at that level. [`Compression::effective_level`] says which level a batch gets. Levels 16 and up
/// of zstd are slow (about 2 MB/s at 19 on JSON records); measured sizes and speeds per level
/// are in `docs/benchmarks.md`.
///
/// ```
/// use kafkit::producer::{Compression, CompressionLevels, ProducerConfig};
/// let config = ProducerConfig::default()
///     .compression(Compression::Gzip)
///     .compression_level(Compression::Gzip, 9);
/// assert_eq!(config.compression_levels.get(Compression::Gzip), Some(9));
/// assert!(config.validate().is_ok());
///
/// let levels = CompressionLevels::default().with(Compression::Zstd, 23);
/// let e = levels.validate().unwrap_err().to_string();
/// assert!(e.contains("compression.zstd.level 23 is out of range"), "{e}");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CompressionLevels {
    /// Indexed by [`Compression::code`].
    levels: [Option<i32>; 5],
}

impl CompressionLevels {
    /// These levels with `codec`'s set to `level`.
    pub fn with(mut self, codec: Compression, level: i32) -> Self {
        self.set(codec, Some(level));
        self
    }

    /// Sets (`Some`) or clears (`None`, the default) `codec`'s level.
    pub fn set(&mut self, codec: Compression, level: Option<i32>) {
        self.levels[codec.code() as usize] = level;
    }

    /// `codec`'s level as set (`None`: the default).
    pub fn get(&self, codec: Compression) -> Option<i32> {
        self.levels[codec.code() as usize]
    }

    /// Checks every level set: each within its codec's range, none for a codec without levels.
    pub fn validate(&self) -> Result<()> {
        for code in 0..5u8 {
            let codec = Compression::from_code(code)?;
            if let Some(level) = self.get(codec) {
                codec.check_level(level)?;
            }
        }
        Ok(())
    }
}

fn codec_err(c: Compression, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::protocol("compression", format!("{c} codec: {e}")).with_source(e)
}

/// LZ4 HC at liblz4 level `level` into the frame Kafka's `Lz4BlockOutputStream` writes (and
/// lz4_flex writes above): independent 64 KiB blocks, no block or content checksum, no content
/// size; an incompressible block is stored raw, as both do.
#[cfg(feature = "lz4-hc")]
fn lz4_hc(level: u32, input: &[u8], out: &mut BytesMut) -> Result<()> {
    let c = Compression::Lz4;
    let mut enc = lz4::EncoderBuilder::new()
        .level(level)
        .block_size(lz4::BlockSize::Max64KB)
        .block_mode(lz4::BlockMode::Independent)
        .block_checksum(lz4::liblz4::BlockChecksum::NoBlockChecksum)
        .checksum(lz4::ContentChecksum::NoChecksum)
        .build(Vec::with_capacity(input.len() / 2))
        .map_err(|e| codec_err(c, e))?;
    enc.write_all(input).map_err(|e| codec_err(c, e))?;
    let (v, done) = enc.finish();
    done.map_err(|e| codec_err(c, e))?;
    out.extend_from_slice(&v);
    Ok(())
}

fn codec_msg(c: Compression, what: &str) -> Error {
    Error::protocol("compression", format!("{c} codec: {what}"))
}

/// The magic that starts xerial-framed snappy (what snappy-java's SnappyOutputStream writes).
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
/// snappy-java's default block size.
const XERIAL_BLOCK: usize = 32 * 1024;

/// Compresses `input` at the codec's default level, appending to `out`.
pub fn compress(c: Compression, input: &[u8], out: &mut BytesMut) -> Result<()> {
    compress_at(c, None, input, out)
}

/// Compresses `input` at `level` (`None`: the codec's default; see
/// [`Compression::effective_level`] for what each codec honours), appending to `out`.
pub fn compress_at(
    c: Compression,
    level: Option<i32>,
    input: &[u8],
    out: &mut BytesMut,
) -> Result<()> {
    match c {
        Compression::None => out.extend_from_slice(input),
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(
                Vec::with_capacity(input.len() / 2),
                flate2::Compression::new(gzip_level(level)),
            );
            enc.write_all(input).map_err(|e| codec_err(c, e))?;
            out.extend_from_slice(&enc.finish().map_err(|e| codec_err(c, e))?);
        }
        Compression::Snappy => {
            out.extend_from_slice(&XERIAL_MAGIC);
            out.extend_from_slice(&1i32.to_be_bytes()); // version
            out.extend_from_slice(&1i32.to_be_bytes()); // compatible version
            let mut enc = snap::raw::Encoder::new();
            let mut block = Vec::new();
            for chunk in input.chunks(XERIAL_BLOCK) {
                block.resize(snap::raw::max_compress_len(chunk.len()), 0);
                let n = enc
                    .compress(chunk, &mut block)
                    .map_err(|e| codec_err(c, e))?;
                out.extend_from_slice(&(n as i32).to_be_bytes());
                out.extend_from_slice(&block[..n]);
            }
        }
        Compression::Lz4 => {
            #[cfg(feature = "lz4-hc")]
            if let Some(hc) = lz4_hc_level(level) {
                return lz4_hc(hc, input, out);
            }
            // LZ4's fast compressor (lz4_flex, pure Rust): the default level, and every level
            // without the `lz4-hc` feature.
            let mut info = lz4_flex::frame::FrameInfo::new();
            info.block_size = lz4_flex::frame::BlockSize::Max64KB;
            info.block_mode = lz4_flex::frame::BlockMode::Independent;
            let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(
                info,
                Vec::with_capacity(input.len() / 2),
            );
            enc.write_all(input).map_err(|e| codec_err(c, e))?;
            out.extend_from_slice(&enc.finish().map_err(|e| codec_err(c, e))?);
        }
        Compression::Zstd => {
            // structured-zstd: every zstd level, in pure Rust (ruzstd 0.9's encoder has only
            // its `Fastest`). ruzstd stays the decoder. The encoder is young: a panic in it
            // fails this batch with an error instead of the producer's sender task.
            let level = zstd_level(level);
            let v = std::panic::catch_unwind(|| {
                structured_zstd::encoding::compress_slice_to_vec(
                    input,
                    structured_zstd::encoding::CompressionLevel::from_level(level),
                )
            })
            .map_err(|_| {
                codec_msg(
                    c,
                    &format!("the encoder panicked at level {level} on {} bytes (a bug in structured-zstd); use another level or codec", input.len()),
                )
            })?;
            out.extend_from_slice(&v);
        }
    }
    Ok(())
}

/// Reads `reader` to its end, failing if it yields more than `max` bytes. The buffer never
/// holds more than `max + 1` bytes of capacity (`read_to_end` doubles it: up to twice the
/// limit), and gives back what it did not use, so what it keeps is what it holds.
fn read_bounded(c: Compression, mut reader: impl Read, max: usize) -> Result<Bytes> {
    const FIRST: usize = 64 * 1024;
    let cap = max.saturating_add(1);
    let mut out: Vec<u8> = Vec::new();
    loop {
        if out.len() == out.capacity() {
            if out.len() >= cap {
                return Err(too_large(c, max));
            }
            let grow = out.capacity().max(FIRST).min(cap - out.len());
            out.reserve_exact(grow);
        }
        // Zeroed a chunk at a time: zeroing all the spare room before each read would cost
        // the whole capacity per read.
        let start = out.len();
        let room = (out.capacity() - start).min(256 * 1024);
        out.resize(start + room, 0);
        match reader.read(&mut out[start..]) {
            Ok(0) => {
                out.truncate(start);
                break;
            }
            Ok(n) => out.truncate(start + n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => out.truncate(start),
            Err(e) => return Err(codec_err(c, e)),
        }
    }
    if out.len() > max {
        return Err(too_large(c, max));
    }
    out.shrink_to_fit();
    Ok(Bytes::from(out))
}

fn too_large(c: Compression, max: usize) -> Error {
    Error::new(
        ErrorKind::TooLarge,
        "compression",
        format!("a {c}-compressed batch inflates past {max} bytes; refusing it (corrupt data or a decompression bomb)"),
    )
}

/// Decompresses `input`, producing at most `max_output` bytes.
pub fn decompress(c: Compression, input: &[u8], max_output: usize) -> Result<Bytes> {
    match c {
        Compression::None => {
            if input.len() > max_output {
                return Err(too_large(c, max_output));
            }
            Ok(Bytes::copy_from_slice(input))
        }
        Compression::Gzip => read_bounded(c, flate2::read::GzDecoder::new(input), max_output),
        Compression::Snappy => snappy_decompress(input, max_output),
        Compression::Lz4 => read_bounded(c, lz4_flex::frame::FrameDecoder::new(input), max_output),
        Compression::Zstd => {
            let dec =
                ruzstd::decoding::StreamingDecoder::new(input).map_err(|e| codec_err(c, e))?;
            read_bounded(c, dec, max_output)
        }
    }
}

fn snappy_decompress(input: &[u8], max: usize) -> Result<Bytes> {
    let c = Compression::Snappy;
    let mut dec = snap::raw::Decoder::new();
    let raw_block = |dec: &mut snap::raw::Decoder, block: &[u8], out: &mut Vec<u8>| -> Result<()> {
        let n = snap::raw::decompress_len(block).map_err(|e| codec_err(c, e))?;
        if out.len() + n > max {
            return Err(too_large(c, max));
        }
        let start = out.len();
        out.resize(start + n, 0);
        dec.decompress(block, &mut out[start..])
            .map_err(|e| codec_err(c, e))?;
        Ok(())
    };
    let mut out = Vec::new();
    if input.len() >= 16 && input[..8] == XERIAL_MAGIC {
        let mut rest = &input[16..];
        while !rest.is_empty() {
            if rest.len() < 4 {
                return Err(codec_msg(c, "truncated xerial block length"));
            }
            let len = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
            let len =
                usize::try_from(len).map_err(|_| codec_msg(c, "negative xerial block length"))?;
            rest = &rest[4..];
            if rest.len() < len {
                return Err(codec_msg(c, "truncated xerial block"));
            }
            raw_block(&mut dec, &rest[..len], &mut out)?;
            rest = &rest[len..];
        }
    } else {
        raw_block(&mut dec, input, &mut out)?;
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    #[test]
    fn round_trips_every_codec() {
        let data: Vec<u8> = (0..300_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for c in ALL {
            let mut out = BytesMut::new();
            compress(c, &data, &mut out).unwrap();
            let back = decompress(c, &out, data.len()).unwrap();
            assert_eq!(&back[..], &data[..], "{c}");
            assert!(
                decompress(c, &out, data.len() - 1).is_err(),
                "{c} must be bounded"
            );
        }
    }

    #[test]
    fn empty_input_round_trips() {
        for c in ALL {
            let mut out = BytesMut::new();
            compress(c, &[], &mut out).unwrap();
            assert!(decompress(c, &out, 10).unwrap().is_empty(), "{c}");
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for c in ALL {
            for garbage in [
                &b""[..],
                b"\x00\x01\x02",
                &[0xffu8; 100][..],
                &XERIAL_MAGIC[..],
            ] {
                let _ = decompress(c, garbage, 1 << 20);
            }
        }
    }

    #[test]
    fn a_bomb_is_refused() {
        let zeros = vec![0u8; 10 << 20];
        for c in [
            Compression::Gzip,
            Compression::Lz4,
            Compression::Zstd,
            Compression::Snappy,
        ] {
            let mut out = BytesMut::new();
            compress(c, &zeros, &mut out).unwrap();
            let e = decompress(c, &out, 1 << 20).unwrap_err();
            assert_eq!(e.kind(), &ErrorKind::TooLarge, "{c}");
        }
    }

    #[test]
    fn parses_names() {
        assert_eq!("LZ4".parse::<Compression>().unwrap(), Compression::Lz4);
        assert!("brotli"
            .parse::<Compression>()
            .unwrap_err()
            .to_string()
            .contains("zstd"));
    }

    /// JSON-like records, as a producer batches them: repeated keys, varied values.
    fn json_records(n: usize) -> Vec<u8> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut v = Vec::new();
        for i in 0..n {
            let (a, b, c) = (next(), next(), next());
            v.extend_from_slice(
                format!(
                    r#"{{"id":{i},"trace":"{:016x}","user":"user-{}","event":"{}","page":"/items/{}","price":{}.{:02},"ts":{},"ok":{}}}"#,
                    a,
                    b % 5000,
                    ["click", "view", "buy", "search"][(c % 4) as usize],
                    c % 20_000,
                    b % 500,
                    c % 100,
                    1_700_000_000_000u64 + i as u64 * 13 + a % 1000,
                    a % 3 == 0
                )
                .as_bytes(),
            );
        }
        v
    }

    #[test]
    fn every_level_of_every_codec_round_trips() {
        let data = json_records(2_000);
        for c in ALL {
            let levels: Vec<Option<i32>> = match c.level_range() {
                None => vec![None],
                Some(r) => {
                    let (lo, hi) = (*r.start(), *r.end());
                    // Every level of gzip and lz4; zstd's ends, its negative and positive
                    // levels and the default (its range is 131,095 levels wide).
                    let mut l: Vec<Option<i32>> = if hi - lo < 30 {
                        (lo..=hi).map(Some).collect()
                    } else {
                        [lo, -5, -1, 0, 1, 2, 3, 10, 19, hi].map(Some).to_vec()
                    };
                    l.push(None);
                    if c == Compression::Gzip {
                        l.push(Some(-1));
                    }
                    l
                }
            };
            for level in levels {
                let mut out = BytesMut::new();
                compress_at(c, level, &data, &mut out).unwrap();
                let back = decompress(c, &out, data.len()).unwrap();
                assert_eq!(&back[..], &data[..], "{c} at {level:?}");
                // zstd's most negative levels barely compress, as in zstd.
                if c != Compression::None && level.is_none_or(|l| l > -100) {
                    assert!(
                        out.len() < data.len() / 2,
                        "{c} at {level:?}: {} bytes",
                        out.len()
                    );
                }
            }
        }
    }

    #[test]
    fn zstd_levels_change_the_output() {
        let data = json_records(2_000);
        let size = |level: Option<i32>| {
            let mut out = BytesMut::new();
            compress_at(Compression::Zstd, level, &data, &mut out).unwrap();
            assert_eq!(
                &decompress(Compression::Zstd, &out, data.len()).unwrap()[..],
                &data[..]
            );
            out.len()
        };
        let (fast, one, three, high) = (size(Some(-5)), size(Some(1)), size(None), size(Some(19)));
        assert!(high < one && one < fast, "-5 {fast}, 1 {one}, 19 {high}");
        assert_eq!(size(Some(3)), three, "unset is the Java default, 3");
        assert_eq!(size(Some(0)), three, "0 is zstd's default, 3");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Any bytes at any zstd level (up to 12: the slow levels are covered above) come
        /// back through the decoder, ruzstd, as they went in.
        #[test]
        fn zstd_round_trips_any_bytes_at_any_level(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20_000),
            repeat in 1usize..4,
            level in -131_072i32..=12,
        ) {
            let data: Vec<u8> = data.iter().copied().cycle().take(data.len() * repeat).collect();
            let mut out = BytesMut::new();
            compress_at(Compression::Zstd, Some(level), &data, &mut out).unwrap();
            let back = decompress(Compression::Zstd, &out, data.len()).unwrap();
            proptest::prop_assert_eq!(&back[..], &data[..]);
        }
    }

    /// The frame liblz4's HC path writes is the one Kafka's `Lz4BlockOutputStream` and
    /// lz4_flex write (magic, FLG 0x60: version 1, independent blocks, no checksums or content
    /// size; BD 0x40: 64 KiB blocks; its header checksum), so every Kafka reader takes it; it is
    /// smaller at HC levels and the default stays the fast compressor's bytes.
    #[cfg(feature = "lz4-hc")]
    #[test]
    fn lz4_hc_levels_write_kafkas_frame_and_fewer_bytes() {
        let data = json_records(4_000);
        let size_at = |level: Option<i32>| {
            let mut out = BytesMut::new();
            compress_at(Compression::Lz4, level, &data, &mut out).unwrap();
            let back = decompress(Compression::Lz4, &out, data.len()).unwrap();
            assert_eq!(&back[..], &data[..], "lz4 at {level:?}");
            out
        };
        let fast = size_at(None);
        let header = [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82];
        assert_eq!(fast[..7], header, "lz4_flex's frame header");
        assert_eq!(
            size_at(Some(9)),
            fast,
            "Java's default level is the fast compressor"
        );
        let (hc1, hc6, hc12) = (size_at(Some(1)), size_at(Some(6)), size_at(Some(12)));
        for hc in [&hc1, &hc6, &hc12] {
            assert_eq!(hc[..7], header, "liblz4's frame header");
            assert_eq!(
                hc[hc.len() - 4..],
                [0, 0, 0, 0],
                "the end mark, no content checksum"
            );
        }
        assert!(
            hc6.len() < fast.len(),
            "HC 6 ({}) vs fast ({})",
            hc6.len(),
            fast.len()
        );
        assert!(
            hc12.len() <= hc6.len(),
            "HC 12 ({}) vs HC 6 ({})",
            hc12.len(),
            hc6.len()
        );
        assert_eq!(size_at(Some(17)), hc12, "liblz4's top level is 12");
        assert_eq!(size_at(Some(2)), hc1, "HC levels 1 and 2 are one");
        // Incompressible input: blocks stored raw (high bit of the block size), read back.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let noise: Vec<u8> = (0..200_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let mut out = BytesMut::new();
        compress_at(Compression::Lz4, Some(12), &noise, &mut out).unwrap();
        assert_ne!(out[10] & 0x80, 0, "the first block is stored raw");
        let back = decompress(Compression::Lz4, &out, noise.len()).unwrap();
        assert_eq!(&back[..], &noise[..]);
    }

    #[test]
    fn gzip_levels_change_the_output_and_9_is_smallest() {
        let data = json_records(5_000);
        let size = |level| {
            let mut out = BytesMut::new();
            compress_at(Compression::Gzip, Some(level), &data, &mut out).unwrap();
            out.len()
        };
        let (one, six, nine) = (size(1), size(6), size(9));
        assert!(six < one, "level 6 ({six}) must beat level 1 ({one})");
        assert!(
            nine <= six,
            "level 9 ({nine}) must not lose to level 6 ({six})"
        );
        assert_eq!(size(-1), six, "-1 is zlib's default, 6");
        let mut default = BytesMut::new();
        compress(Compression::Gzip, &data, &mut default).unwrap();
        assert_eq!(default.len(), six, "unset is the Java default, 6");
    }

    #[test]
    fn ranges_and_defaults_follow_the_java_client() {
        use Compression::*;
        assert_eq!(Gzip.level_range(), Some(1..=9));
        assert_eq!(Lz4.level_range(), Some(1..=17));
        assert_eq!(Zstd.level_range(), Some(-131_072..=22));
        assert_eq!(
            (None.level_range(), Snappy.level_range()),
            (Option::None, Option::None)
        );
        assert_eq!(
            [Gzip, Lz4, Zstd].map(Compression::default_level),
            [Some(-1), Some(9), Some(3)]
        );
        for c in [Gzip, Lz4, Zstd] {
            let d = c.default_level().unwrap();
            c.check_level(d).unwrap();
        }
        assert_eq!(Zstd.level_option(), Some("compression.zstd.level"));
        // What each codec really does.
        assert_eq!(Gzip.effective_level(Some(-1)), Some(6));
        assert_eq!(Gzip.effective_level(Some(3)), Some(3));
        assert_eq!(Lz4.effective_level(Some(9)), Some(1));
        assert_eq!(Lz4.effective_level(Option::None), Some(1));
        if cfg!(feature = "lz4-hc") {
            assert_eq!(Lz4.effective_level(Some(17)), Some(12));
            assert_eq!(Lz4.effective_level(Some(1)), Some(2));
            assert_eq!(Lz4.effective_level(Some(8)), Some(8));
        } else {
            assert_eq!(Lz4.effective_level(Some(17)), Some(1));
        }
        assert_eq!(Zstd.effective_level(Option::None), Some(3));
        assert_eq!(Zstd.effective_level(Some(0)), Some(3));
        assert_eq!(Zstd.effective_level(Some(-5)), Some(-5));
        assert_eq!(Snappy.effective_level(Some(3)), Option::None);
    }

    #[test]
    fn out_of_range_levels_name_the_option_the_range_and_the_fix() {
        use Compression::*;
        for (c, bad) in [
            (Gzip, 0),
            (Gzip, 10),
            (Gzip, -2),
            (Lz4, 0),
            (Lz4, 18),
            (Zstd, 23),
            (Zstd, -131_073),
        ] {
            let e = c.check_level(bad).unwrap_err();
            assert_eq!(e.kind(), &ErrorKind::Config, "{c} {bad}");
            let m = e.to_string();
            let range = c.level_range().unwrap();
            assert!(m.contains(c.level_option().unwrap()), "{m}");
            assert!(
                m.contains(&format!("{}..={}", range.start(), range.end())),
                "{m}"
            );
            assert!(m.contains("give a level in that range"), "{m}");
            assert!(m.contains(&format!(" {bad} ")), "{m}");
        }
        let e = Snappy.check_level(1).unwrap_err().to_string();
        assert!(e.contains("snappy, which has no levels"), "{e}");
        for (c, ok) in [
            (Gzip, 1),
            (Gzip, 9),
            (Gzip, -1),
            (Lz4, 1),
            (Lz4, 17),
            (Zstd, -131_072),
            (Zstd, 22),
            (Zstd, 0),
        ] {
            c.check_level(ok).unwrap();
        }
    }

    #[test]
    fn levels_are_kept_per_codec() {
        let mut l = CompressionLevels::default()
            .with(Compression::Gzip, 9)
            .with(Compression::Zstd, -3);
        assert_eq!(l.get(Compression::Gzip), Some(9));
        assert_eq!(l.get(Compression::Zstd), Some(-3));
        assert_eq!(l.get(Compression::Lz4), None);
        l.validate().unwrap();
        l.set(Compression::Gzip, None);
        assert_eq!(l.get(Compression::Gzip), None);
        let e = l
            .with(Compression::Lz4, 99)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("compression.lz4.level 99"), "{e}");
        let e = l
            .with(Compression::Snappy, 1)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("snappy"), "{e}");
    }
}
