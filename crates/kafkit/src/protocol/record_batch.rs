//! The v2 record batch (magic 2): encoded straight into one buffer, decoded lazily and without
//! a copy per record.
//!
//! Encoder and decoder share this file (~700 lines; tests in `record_batch_tests.rs`) because
//! they share the layout below and its varint helpers; a format change touches both.
//!
//! Layout (big-endian): baseOffset i64 | batchLength i32 | partitionLeaderEpoch i32 | magic i8 |
//! crc u32 (CRC-32C of everything after it) | attributes i16 | lastOffsetDelta i32 |
//! baseTimestamp i64 | maxTimestamp i64 | producerId i64 | producerEpoch i16 | baseSequence i32 |
//! recordCount i32 | records. Each record: length varint | attributes i8 | timestampDelta
//! varlong | offsetDelta varint | key (varint length, -1 = null) | value | headerCount varint |
//! headers (key varint length + UTF-8, value varint length, -1 = null).

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::compression::{compress_at, decompress, Compression};
use crate::error::{Error, Result};

/// Bytes of the batch header.
pub const HEADER_LEN: usize = 61;
const CRC_AT: usize = 17;
const ATTRIBUTES_AT: usize = 21;

const TRANSACTIONAL: i16 = 0x10;
const CONTROL: i16 = 0x20;
const LOG_APPEND_TIME: i16 = 0x08;

/// A record header to send. Duplicate keys are allowed and kept in order.
///
/// Keys are bytes on both sides: here a borrowed `&[u8]`, in a consumed
/// [`MessageHeader`](crate::consumer::MessageHeader) a `Bytes`. The protocol does not make a
/// key UTF-8 (the Java client writes and reads it as a UTF-8 string, other clients may not), so
/// kafkit passes keys through as they are; [`Header::new`] takes a `&str` as readily as bytes,
/// and [`MessageHeader::key_str`](crate::consumer::MessageHeader::key_str) reads a key as text.
///
/// ```
/// use kafkit::producer::Header;
/// let h = Header::new("content-type", "application/json");
/// assert_eq!(h.key_str(), Some("content-type"));
/// assert_eq!(h.value, Some(&b"application/json"[..]));
/// assert_eq!(Header::null(b"k").value, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// Key.
    pub key: &'a [u8],
    /// Value; `None` = null.
    pub value: Option<&'a [u8]>,
}

impl<'a> Header<'a> {
    /// A header from a key and a value, each anything bytes-like (`&str`, `&[u8]`,
    /// `&String`, `&Vec<u8>`, `&Bytes`, ...), borrowed.
    pub fn new<K, V>(key: &'a K, value: &'a V) -> Self
    where
        K: AsRef<[u8]> + ?Sized,
        V: AsRef<[u8]> + ?Sized,
    {
        Header {
            key: key.as_ref(),
            value: Some(value.as_ref()),
        }
    }

    /// A header with a null value.
    pub fn null<K: AsRef<[u8]> + ?Sized>(key: &'a K) -> Self {
        Header {
            key: key.as_ref(),
            value: None,
        }
    }

    /// The key as UTF-8, if it is.
    pub fn key_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.key).ok()
    }
}

/// Producer state stamped into a batch header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchParams {
    /// Producer id, -1 when not idempotent.
    pub producer_id: i64,
    /// Producer epoch, -1 when not idempotent.
    pub producer_epoch: i16,
    /// Sequence of the first record, -1 when not idempotent.
    pub base_sequence: i32,
    /// Part of a transaction.
    pub transactional: bool,
    /// A control batch (transaction markers).
    pub is_control: bool,
}

impl Default for BatchParams {
    fn default() -> Self {
        BatchParams {
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            transactional: false,
            is_control: false,
        }
    }
}

use super::wire::{put_uvarint as put_varint, uvarint_len as varint_len, zigzag32, zigzag64};

fn bytes_len(b: Option<&[u8]>) -> usize {
    match b {
        None => 1,
        Some(b) => varint_len(zigzag32(b.len() as i32) as u64) + b.len(),
    }
}

fn put_bytes(buf: &mut BytesMut, b: Option<&[u8]>) {
    match b {
        None => put_varint(buf, zigzag32(-1) as u64),
        Some(b) => {
            put_varint(buf, zigzag32(b.len() as i32) as u64);
            buf.put_slice(b);
        }
    }
}

/// Builds one batch: records are appended into the buffer after a reserved header.
pub struct RecordBatchBuilder {
    buf: BytesMut,
    compression: Compression,
    /// The codec's level (`None`: its default).
    level: Option<i32>,
    count: i32,
    base_timestamp: i64,
    max_timestamp: i64,
}

impl RecordBatchBuilder {
    /// An empty batch.
    #[cfg_attr(not(test), allow(dead_code))] // read by tests and tools; the client does not need it
    pub fn new(compression: Compression) -> Self {
        Self::with_capacity(compression, 1024)
    }

    /// An empty batch with room for `bytes`.
    pub fn with_capacity(compression: Compression, bytes: usize) -> Self {
        let mut buf = BytesMut::with_capacity(bytes.max(HEADER_LEN));
        buf.put_bytes(0, HEADER_LEN);
        RecordBatchBuilder {
            buf,
            compression,
            level: None,
            count: 0,
            base_timestamp: 0,
            max_timestamp: -1,
        }
    }

    /// The same batch, compressed at `level` (`None`: the codec's default; KIP-390).
    pub fn with_level(mut self, level: Option<i32>) -> Self {
        self.level = level;
        self
    }

    /// An upper bound of the bytes one record takes in a batch (its deltas are at most 10 and
    /// 5 bytes), for batch-size and request-size checks before appending.
    pub fn record_size(key: Option<&[u8]>, value: Option<&[u8]>, headers: &[Header<'_>]) -> usize {
        let body = 1 + 10 + 5 + bytes_len(key) + bytes_len(value) + headers_len(headers);
        varint_len(zigzag32(body as i32) as u64) + body
    }

    /// Appends a record.
    pub fn append(
        &mut self,
        timestamp_ms: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header<'_>],
    ) {
        if self.count == 0 {
            self.base_timestamp = timestamp_ms;
        }
        self.max_timestamp = self.max_timestamp.max(timestamp_ms);
        let ts_delta = zigzag64(timestamp_ms.wrapping_sub(self.base_timestamp));
        let off_delta = zigzag32(self.count) as u64;
        // The length prefix comes first, so the body size is computed before writing it.
        let body = 1
            + varint_len(ts_delta)
            + varint_len(off_delta)
            + bytes_len(key)
            + bytes_len(value)
            + headers_len(headers);
        let buf = &mut self.buf;
        buf.reserve(body + 5);
        put_varint(buf, zigzag32(body as i32) as u64);
        buf.put_u8(0);
        put_varint(buf, ts_delta);
        put_varint(buf, off_delta);
        put_bytes(buf, key);
        put_bytes(buf, value);
        put_varint(buf, zigzag32(headers.len() as i32) as u64);
        for h in headers {
            put_bytes(buf, Some(h.key));
            put_bytes(buf, h.value);
        }
        self.count += 1;
    }

    /// Bytes so far, header included, before compression.
    pub fn size_estimate(&self) -> usize {
        self.buf.len()
    }

    /// Finishes the batch: writes the header (and compresses the records). The builder is left
    /// empty. Uncompressed batches are handed out without a copy.
    pub fn build(&mut self, p: BatchParams) -> Result<Bytes> {
        let mut buf = if self.compression == Compression::None {
            std::mem::replace(&mut self.buf, BytesMut::new())
        } else {
            let mut out = BytesMut::with_capacity(self.buf.len() / 2 + HEADER_LEN);
            out.put_bytes(0, HEADER_LEN);
            compress_at(
                self.compression,
                self.level,
                &self.buf[HEADER_LEN..],
                &mut out,
            )?;
            out
        };
        let len = buf.len();
        let batch_length = i32::try_from(len - 12)
            .map_err(|_| Error::protocol("encode_record_batch", "batch larger than 2 GiB"))?;
        let mut attributes = self.compression.code() as i16;
        if p.transactional {
            attributes |= TRANSACTIONAL;
        }
        if p.is_control {
            attributes |= CONTROL;
        }
        let mut h = &mut buf[..HEADER_LEN];
        h.put_i64(0);
        h.put_i32(batch_length);
        h.put_i32(-1);
        h.put_i8(2);
        h.put_u32(0);
        h.put_i16(attributes);
        h.put_i32(self.count.saturating_sub(1));
        h.put_i64(self.base_timestamp);
        h.put_i64(if self.count == 0 {
            -1
        } else {
            self.max_timestamp
        });
        h.put_i64(p.producer_id);
        h.put_i16(p.producer_epoch);
        h.put_i32(p.base_sequence);
        h.put_i32(self.count);
        let crc = crc32c::crc32c(&buf[ATTRIBUTES_AT..]);
        buf[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
        self.clear();
        Ok(buf.freeze())
    }

    /// Empties the builder for reuse.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.buf.put_bytes(0, HEADER_LEN);
        self.count = 0;
        self.base_timestamp = 0;
        self.max_timestamp = -1;
    }
}

fn headers_len(headers: &[Header<'_>]) -> usize {
    varint_len(zigzag32(headers.len() as i32) as u64)
        + headers
            .iter()
            .map(|h| bytes_len(Some(h.key)) + bytes_len(h.value))
            .sum::<usize>()
}

// ---- decoding ------------------------------------------------------------------------------

fn corrupt(msg: impl Into<String>) -> Error {
    Error::protocol("decode_record_batch", msg)
}

/// The batches in a `records` field (a Fetch response's), decoded lazily. The first corrupt
/// batch ends the iteration with its error: a bad CRC (unless CRC checks are off), a magic
/// other than 2, a length shorter than the header, or offsets that go backwards.
pub struct BatchIter {
    data: Bytes,
    max_decompressed: usize,
    check_crcs: bool,
    /// Last offset of the batch before (offsets only grow along a partition's log).
    prev_last: Option<i64>,
    done: bool,
}

impl BatchIter {
    /// Iterates `data`; compressed batches may inflate to at most `max_decompressed` bytes
    /// (see [`RecordBatch::records_within`] for a limit per batch).
    pub fn new(data: Bytes, max_decompressed: usize) -> Self {
        BatchIter {
            data,
            max_decompressed,
            check_crcs: true,
            prev_last: None,
            done: false,
        }
    }

    /// Skips the CRC check (Java's `check.crcs=false`): for a disk or network path already
    /// checked end to end. Every other check stays.
    pub fn check_crcs(mut self, on: bool) -> Self {
        self.check_crcs = on;
        self
    }

    fn fail(&mut self, msg: String) -> Option<Result<RecordBatch>> {
        self.done = true;
        Some(Err(corrupt(msg)))
    }
}

impl Iterator for BatchIter {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.data.len() < 17 {
            return None;
        }
        let base = be_i64(&self.data, 0);
        let batch_length = be_i32(&self.data, 8);
        let magic = self.data[16] as i8;
        if magic != 2 {
            return self.fail(format!(
                "record batch at offset {base} has magic {magic}: only the v2 format (Kafka 0.11+) is supported; the topic holds legacy message sets or corrupt data"
            ));
        }
        if batch_length < (HEADER_LEN - 12) as i32 {
            return self.fail(format!(
                "record batch at offset {base} has length {batch_length}, shorter than its header"
            ));
        }
        let total = 12 + batch_length as usize;
        if self.data.len() < total {
            // The broker cut the last batch at max_bytes: not an error, it comes next fetch.
            self.done = true;
            return None;
        }
        let raw = self.data.split_to(total);
        let result = RecordBatch::parse(raw, self.max_decompressed, self.check_crcs);
        match &result {
            Ok(b) => {
                // Offset deltas grow from 0 to the last one: no room for more records.
                if b.record_count() as i64 > b.last_offset_delta() as i64 + 1 {
                    return self.fail(format!(
                        "record batch at offset {base} declares {} records but a last offset delta of {}",
                        b.record_count(),
                        b.last_offset_delta()
                    ));
                }
                if let Some(prev) = self.prev_last.filter(|p| base <= *p) {
                    return self.fail(format!(
                        "record batch at offset {base} follows one that ends at offset {prev}: offsets go backwards"
                    ));
                }
                self.prev_last = Some(b.last_offset());
            }
            Err(_) => self.done = true,
        }
        Some(result)
    }
}

/// One decoded batch header, with its records still encoded.
#[derive(Debug, Clone)]
pub struct RecordBatch {
    raw: Bytes,
    attributes: i16,
    #[cfg_attr(not(any(test, feature = "fuzzing")), allow(dead_code))]
    max_decompressed: usize,
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(x)
}

fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl RecordBatch {
    fn parse(raw: Bytes, max_decompressed: usize, check_crc: bool) -> Result<RecordBatch> {
        let attributes = i16::from_be_bytes([raw[21], raw[22]]);
        let batch = RecordBatch {
            raw,
            attributes,
            max_decompressed,
        };
        if !check_crc {
            return Ok(batch);
        }
        let raw = &batch.raw;
        let stored = u32::from_be_bytes([
            raw[CRC_AT],
            raw[CRC_AT + 1],
            raw[CRC_AT + 2],
            raw[CRC_AT + 3],
        ]);
        let actual = crc32c::crc32c(&raw[ATTRIBUTES_AT..]);
        if stored != actual {
            return Err(corrupt(format!(
                "record batch at offset {} fails its CRC (stored {stored:#x}, computed {actual:#x})",
                be_i64(raw, 0)
            )));
        }
        Ok(batch)
    }

    /// Offset of the first record.
    pub fn base_offset(&self) -> i64 {
        be_i64(&self.raw, 0)
    }

    /// Offset of the last record (`base_offset + lastOffsetDelta`).
    pub fn last_offset(&self) -> i64 {
        self.base_offset()
            .saturating_add(self.last_offset_delta() as i64)
    }

    fn last_offset_delta(&self) -> i32 {
        be_i32(&self.raw, 23)
    }

    /// Bytes of the whole batch, header included, as it came.
    pub fn wire_len(&self) -> usize {
        self.raw.len()
    }

    /// Leader epoch when the batch was written.
    pub fn partition_leader_epoch(&self) -> i32 {
        be_i32(&self.raw, 12)
    }

    /// The codec.
    pub fn compression(&self) -> Result<Compression> {
        Compression::from_code((self.attributes & 0x07) as u8)
    }

    /// Part of a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL != 0
    }

    /// A control batch (transaction markers).
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL != 0
    }

    /// Timestamps are the broker's (LogAppendTime).
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & LOG_APPEND_TIME != 0
    }

    /// Timestamp of the first record.
    pub fn base_timestamp(&self) -> i64 {
        be_i64(&self.raw, 27)
    }

    /// Largest timestamp in the batch.
    pub fn max_timestamp(&self) -> i64 {
        be_i64(&self.raw, 35)
    }

    /// Producer id (-1 if none).
    pub fn producer_id(&self) -> i64 {
        be_i64(&self.raw, 43)
    }

    /// Producer epoch.
    #[cfg_attr(not(test), allow(dead_code))] // read by tests and tools; the client does not need it
    pub fn producer_epoch(&self) -> i16 {
        i16::from_be_bytes([self.raw[51], self.raw[52]])
    }

    /// Sequence of the first record.
    #[cfg_attr(not(test), allow(dead_code))] // read by tests and tools; the client does not need it
    pub fn base_sequence(&self) -> i32 {
        be_i32(&self.raw, 53)
    }

    /// Records the header announces.
    pub fn record_count(&self) -> i32 {
        be_i32(&self.raw, 57)
    }

    /// The records, decoded as iterated. Compressed batches are inflated once, here.
    #[cfg_attr(not(any(test, feature = "fuzzing")), allow(dead_code))]
    pub fn records(&self) -> Result<Records> {
        self.records_within(self.max_decompressed)
    }

    /// The records, a compressed batch inflating to at most `max_inflated` bytes (an error of
    /// kind [`TooLarge`](crate::ErrorKind::TooLarge) past it, never more memory). A record
    /// count below zero is corrupt data.
    pub fn records_within(&self, max_inflated: usize) -> Result<Records> {
        let count = self.record_count();
        if count < 0 {
            return Err(corrupt(format!(
                "record batch at offset {} declares {count} records",
                self.base_offset()
            )));
        }
        let body = self.raw.slice(HEADER_LEN..);
        let compressed = self.compression()? != Compression::None;
        let data = match self.compression()? {
            Compression::None => body,
            c => decompress(c, &body, max_inflated)?,
        };
        Ok(Records {
            buffer_len: data.len(),
            compressed,
            data,
            remaining: count,
            count,
            base_offset: self.base_offset(),
            last_offset_delta: self.last_offset_delta(),
            prev_delta: -1,
            base_timestamp: self.base_timestamp(),
            log_append_time: self.is_log_append_time().then(|| self.max_timestamp()),
            header_room: max_inflated,
            failed: false,
        })
    }
}

/// A decoded record; key, value and headers share the batch's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Offset.
    pub offset: i64,
    /// Timestamp, ms since the epoch.
    pub timestamp: i64,
    /// Key.
    pub key: Option<Bytes>,
    /// Value.
    pub value: Option<Bytes>,
    /// Headers in order, duplicates kept.
    pub headers: Vec<RecordHeader>,
}

/// A decoded header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHeader {
    /// Key (UTF-8 bytes, kept raw).
    pub key: Bytes,
    /// Value.
    pub value: Option<Bytes>,
}

/// A transaction marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(any(test, feature = "fuzzing")), allow(dead_code))]
pub enum ControlRecord {
    /// The transaction aborted.
    Abort,
    /// The transaction committed.
    Commit,
}

/// The marker a control record carries (key: version i16, type i16). The consumer tells
/// commit from abort by the broker's aborted-transaction list; this decodes the marker itself
/// (fuzzed, tested).
#[cfg_attr(not(any(test, feature = "fuzzing")), allow(dead_code))]
pub fn control_record(r: &Record) -> Option<ControlRecord> {
    let key = r.key.as_ref()?;
    if key.len() < 4 {
        return None;
    }
    match i16::from_be_bytes([key[2], key[3]]) {
        0 => Some(ControlRecord::Abort),
        1 => Some(ControlRecord::Commit),
        _ => None,
    }
}

/// Iterator over a batch's records. A batch whose records do not match its header (fewer or
/// more than its count, offsets not growing or past its last offset delta) yields an error.
pub struct Records {
    data: Bytes,
    /// Bytes of the buffer the records slice: the inflated one of a compressed batch.
    buffer_len: usize,
    compressed: bool,
    remaining: i32,
    count: i32,
    base_offset: i64,
    last_offset_delta: i32,
    /// Offset delta of the record before (-1 before the first).
    prev_delta: i32,
    base_timestamp: i64,
    log_append_time: Option<i64>,
    /// Bytes the decoded headers of this batch may still take. An empty header is 2 bytes on
    /// the wire and a `RecordHeader` 64 in memory, so without this bound a small compressed
    /// batch could decode to 32 times its inflate limit (gigabytes) in headers alone.
    header_room: usize,
    failed: bool,
}

fn get_varlong(b: &mut Bytes) -> Result<i64> {
    let (v, n) = super::wire::read_varlong(b).map_err(|what| corrupt(format!("record {what}")))?;
    b.advance(n);
    Ok(v)
}

fn get_varint(b: &mut Bytes) -> Result<i32> {
    let v = get_varlong(b)?;
    i32::try_from(v).map_err(|_| corrupt("varint out of 32-bit range"))
}

fn get_nullable(b: &mut Bytes) -> Result<Option<Bytes>> {
    let len = get_varint(b)?;
    if len < 0 {
        return Ok(None);
    }
    let len = len as usize;
    if b.len() < len {
        return Err(corrupt("record field longer than the record"));
    }
    Ok(Some(b.split_to(len)))
}

impl Records {
    /// Bytes every record of this batch keeps alive while any of them is held: the inflated
    /// buffer of a compressed batch (its records are slices of it), the batch's body otherwise.
    pub fn buffer_len(&self) -> usize {
        self.buffer_len
    }

    /// Whether the records slice a buffer inflated for this batch alone (not the response's).
    pub fn is_compressed(&self) -> bool {
        self.compressed
    }

    fn parse_one(&mut self) -> Result<Record> {
        let len = get_varint(&mut self.data)?;
        if len < 0 || self.data.len() < len as usize {
            return Err(corrupt(format!(
                "record length {len} does not fit the batch"
            )));
        }
        let mut r = self.data.split_to(len as usize);
        if !r.has_remaining() {
            return Err(corrupt("empty record"));
        }
        r.advance(1); // attributes, unused
        let ts_delta = get_varlong(&mut r)?;
        let off_delta = get_varint(&mut r)?;
        if off_delta <= self.prev_delta || off_delta > self.last_offset_delta {
            return Err(corrupt(format!(
                "record batch at offset {}: a record's offset delta {off_delta} does not follow {} within the batch's last delta {}",
                self.base_offset, self.prev_delta, self.last_offset_delta
            )));
        }
        self.prev_delta = off_delta;
        let key = get_nullable(&mut r)?;
        let value = get_nullable(&mut r)?;
        let n = get_varint(&mut r)?;
        if n < 0 || n as usize > r.len() {
            return Err(corrupt(format!("header count {n} does not fit the record")));
        }
        let need = n as usize * std::mem::size_of::<RecordHeader>();
        if need > self.header_room {
            return Err(corrupt(format!(
                "record with {n} headers: the batch's headers would decode to more memory than its inflate bound allows"
            )));
        }
        self.header_room -= need;
        let mut headers = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let key = get_nullable(&mut r)?.ok_or_else(|| corrupt("null header key"))?;
            let value = get_nullable(&mut r)?;
            headers.push(RecordHeader { key, value });
        }
        Ok(Record {
            offset: self.base_offset.saturating_add(off_delta as i64),
            timestamp: self
                .log_append_time
                .unwrap_or_else(|| self.base_timestamp.saturating_add(ts_delta)),
            key,
            value,
            headers,
        })
    }
}

impl Iterator for Records {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.remaining <= 0 && self.data.is_empty() {
            return None;
        }
        if self.remaining <= 0 || self.data.is_empty() {
            // Java's "Incorrect declared batch size" check, both ways.
            self.failed = true;
            let held = if self.data.is_empty() {
                "holds fewer"
            } else {
                "holds more bytes than"
            };
            return Some(Err(corrupt(format!(
                "record batch at offset {} declares {} records but {held} that",
                self.base_offset, self.count
            ))));
        }
        self.remaining -= 1;
        let r = self.parse_one();
        self.failed = r.is_err();
        Some(r)
    }
}

#[cfg(test)]
#[path = "record_batch_tests.rs"]
mod tests;
