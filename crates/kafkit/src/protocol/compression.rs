//! Record batch compression, in the formats the Java client writes and reads.
//!
//! Pure-Rust codecs only: gzip (miniz_oxide via flate2), snappy (xerial framing, as Java's
//! snappy-java writes it), lz4 (LZ4 frame, independent 64 KiB blocks, as Kafka's own
//! `KafkaLZ4BlockOutputStream`), zstd (ruzstd). Decompression is bounded: a batch that would
//! inflate past the limit is an error, never unbounded memory.

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

fn codec_err(c: Compression, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::protocol("compression", format!("{c} codec: {e}")).with_source(e)
}

fn codec_msg(c: Compression, what: &str) -> Error {
    Error::protocol("compression", format!("{c} codec: {what}"))
}

/// The magic that starts xerial-framed snappy (what snappy-java's SnappyOutputStream writes).
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
/// snappy-java's default block size.
const XERIAL_BLOCK: usize = 32 * 1024;

/// Compresses `input`, appending to `out`.
pub fn compress(c: Compression, input: &[u8], out: &mut BytesMut) -> Result<()> {
    match c {
        Compression::None => out.extend_from_slice(input),
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(
                Vec::with_capacity(input.len() / 2),
                flate2::Compression::fast(),
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
            let v = ruzstd::encoding::compress_to_vec(
                input,
                ruzstd::encoding::CompressionLevel::Fastest,
            );
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
}
