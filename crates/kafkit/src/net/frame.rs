//! Kafka framing: a 4-byte big-endian length, then the message.
//!
//! The length is checked against a bound before anything is allocated, and the buffer grows
//! with the bytes that actually arrive, so a broken or hostile peer cannot make the client
//! allocate gigabytes (nor hold a large buffer by announcing a frame it never sends).

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::{Error, ErrorKind, Result};
use crate::protocol::messages::RequestHeader;
use crate::protocol::wire::{Encode, Request, Writer};

/// Encodes one request frame (length, header, body) in pieces: record batches and other large
/// byte values are pieces of their own, not copied.
pub(crate) fn encode_request<R: Request>(
    req: &R,
    version: i16,
    correlation_id: i32,
    client_id: &str,
) -> Result<Vec<Bytes>> {
    let header = RequestHeader {
        request_api_key: R::KEY,
        request_api_version: version,
        correlation_id,
        client_id: Some(client_id.to_string()),
    };
    let fail = |what: &str, e: String| {
        Error::protocol(
            "encode_request",
            format!("{} v{version} {what}: {e}", R::NAME),
        )
    };
    let mut w = Writer::framed();
    header
        .encode(&mut w, R::header_version(version))
        .map_err(|e| fail("header", e.to_string()))?;
    req.encode(&mut w, version)
        .map_err(|e| fail("body", e.to_string()))?;
    w.finish_framed().ok_or_else(|| {
        Error::new(
            ErrorKind::TooLarge,
            "encode_request",
            format!(
                "{} request exceeds the protocol's 2 GiB frame limit",
                R::NAME
            ),
        )
    })
}

/// Most a frame's buffer grows ahead of the bytes received: the length header alone never
/// allocates (a peer announcing 200 MB and sending nothing costs 64 KiB, not 200 MB).
const READ_CHUNK: usize = 64 * 1024;

/// Reads one frame body (without the length prefix). `Ok(None)` on a clean end of stream
/// before a new frame starts.
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    max_size: usize,
) -> Result<Option<Bytes>> {
    let mut len = [0u8; 4];
    match reader.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => {
            return Err(Error::new(ErrorKind::Connection, "read", e.to_string()).with_source(e))
        }
    }
    let len = i32::from_be_bytes(len);
    let len = check_frame_len(len, max_size)?;
    // Grown as bytes arrive (BytesMut doubles its capacity, so a large frame costs few copies).
    let mut body = BytesMut::with_capacity(len.min(READ_CHUNK));
    while body.len() < len {
        let want = (len - body.len()).min(READ_CHUNK);
        body.reserve(want);
        // `take` keeps the read inside this frame: the next frame's bytes stay in the socket.
        let n = (&mut *reader)
            .take(want as u64)
            .read_buf(&mut body)
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Connection,
                    "read",
                    format!("frame cut short after {} of {len} bytes: {e}", body.len()),
                )
                .with_source(e)
            })?;
        if n == 0 {
            return Err(Error::new(
                ErrorKind::Connection,
                "read",
                format!(
                    "frame cut short: the connection closed after {} of {len} bytes",
                    body.len()
                ),
            ));
        }
    }
    Ok(Some(body.freeze()))
}

/// Validates a frame length read from the wire.
pub fn check_frame_len(len: i32, max_size: usize) -> Result<usize> {
    if len < 4 {
        return Err(Error::protocol(
            "read",
            format!("frame length {len} is too small for a response header; the peer is not speaking the Kafka protocol (is this a Kafka listener, with the right security protocol?)"),
        ));
    }
    let len = len as usize;
    if len > max_size {
        // A TLS record starts 0x15 (alert) or 0x16 (handshake), then version 0x03 0x0N.
        let hint = if matches!(len >> 16, 0x1503 | 0x1603) {
            "these bytes are a TLS record, not a Kafka frame: the listener expects TLS; configure KafkaConfig::tls (security protocol SSL or SASL_SSL)".to_string()
        } else {
            format!(
                "{}, or check that this is a Kafka PLAINTEXT listener (a TLS listener answers with bytes that look like a huge length)",
                RAISE_MAX_RESPONSE_SIZE
            )
        };
        return Err(Error::new(
            ErrorKind::TooLarge,
            "read",
            format!(
                "response frame of {len} bytes exceeds max_response_size ({max_size} bytes); {hint}"
            ),
        ));
    }
    Ok(len)
}

/// The correlation id at the start of a response frame (left in place for the header decoder).
pub fn peek_correlation_id(frame: &Bytes) -> Result<i32> {
    if frame.len() < 4 {
        return Err(Error::protocol(
            "read",
            "response frame shorter than its correlation id",
        ));
    }
    Ok(i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]))
}

/// How to accept larger responses, for the errors that refuse one.
pub(crate) const RAISE_MAX_RESPONSE_SIZE: &str =
    "raise the limit with KafkaConfig::max_response_size (CLI --max-response-size BYTES) if responses this large are expected";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::messages::ApiVersionsRequest;

    #[tokio::test]
    async fn rejects_frames_over_the_bound_before_allocating() {
        let data: &[u8] = &[0x7f, 0xff, 0xff, 0xff, 1, 2, 3];
        let mut r = data;
        let err = read_frame(&mut r, 1024).await.unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::TooLarge);
        // The limit, and the options that raise it.
        for part in [
            "max_response_size (1024 bytes)",
            "KafkaConfig::max_response_size",
            "--max-response-size",
        ] {
            assert!(err.to_string().contains(part), "{part}: {err}");
        }
    }

    #[tokio::test]
    async fn rejects_negative_and_tiny_lengths() {
        for len in [-1i32, 0, 3, i32::MIN] {
            let bytes = len.to_be_bytes();
            let mut r: &[u8] = &bytes;
            let err = read_frame(&mut r, 1024).await.unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::Protocol, "len {len}");
        }
    }

    #[tokio::test]
    async fn truncated_body_is_a_connection_error() {
        let data: &[u8] = &[0, 0, 0, 10, 0, 0, 0, 1, 9];
        let mut r = data;
        let err = read_frame(&mut r, 1024).await.unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Connection);
    }

    #[tokio::test]
    async fn a_large_length_with_few_bytes_is_cut_short_not_allocated() {
        let mut data = (200_000_000i32).to_be_bytes().to_vec();
        data.extend_from_slice(&[0, 0, 0, 1, 2, 3]);
        let mut r: &[u8] = &data;
        let err = read_frame(&mut r, 256 << 20).await.unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Connection);
        assert!(
            err.message().contains("after 6 of 200000000 bytes"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn frames_larger_than_a_chunk_stop_at_their_end() {
        let big: Vec<u8> = (0..3 * READ_CHUNK + 17).map(|i| i as u8).collect();
        let mut data = (big.len() as i32).to_be_bytes().to_vec();
        data.extend_from_slice(&big);
        data.extend_from_slice(&[0, 0, 0, 4, 9, 9, 9, 9]);
        let mut r: &[u8] = &data;
        assert_eq!(read_frame(&mut r, 1 << 20).await.unwrap().unwrap(), big);
        assert_eq!(
            &read_frame(&mut r, 1 << 20).await.unwrap().unwrap()[..],
            &[9; 4]
        );
        assert!(read_frame(&mut r, 1 << 20).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn tls_bytes_are_named_as_tls() {
        // A TLS alert record: type 21, version 3.3, length 2.
        let data: &[u8] = &[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];
        let mut r = data;
        let err = read_frame(&mut r, 256 << 20).await.unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::TooLarge);
        assert!(err.message().contains("TLS record"), "{err}");
        // The TLS hint alone: raising the limit would not help.
        assert!(!err.message().contains("--max-response-size"), "{err}");
    }

    #[tokio::test]
    async fn clean_eof_and_partial_length() {
        let mut r: &[u8] = &[];
        assert!(read_frame(&mut r, 1024).await.unwrap().is_none());
        let mut r: &[u8] = &[0, 0];
        assert!(read_frame(&mut r, 1024).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn reads_a_frame_and_its_correlation_id() {
        let data: &[u8] = &[0, 0, 0, 6, 0, 0, 0, 42, 7, 8];
        let mut r = data;
        let f = read_frame(&mut r, 1024).await.unwrap().unwrap();
        assert_eq!(peek_correlation_id(&f).unwrap(), 42);
        assert_eq!(&f[4..], &[7, 8]);
    }

    #[test]
    fn encodes_length_prefix_matching_body() {
        let pieces = encode_request(&ApiVersionsRequest::default(), 3, 7, "kafkit").unwrap();
        let buf: Vec<u8> = pieces.concat();
        let len = i32::from_be_bytes(buf[..4].try_into().unwrap()) as usize;
        assert_eq!(len, buf.len() - 4);
        // api key 18, version 3, correlation id 7
        assert_eq!(&buf[4..12], &[0, 18, 0, 3, 0, 0, 0, 7]);
    }
}
