//! The primitives of Kafka's wire format, under the generated codec (`protocol::messages`).
//!
//! Every read checks its length against the bytes left before anything is reserved, so a
//! decoder is bounded by the frame it was given: an array announcing a billion elements in a
//! 20-byte frame is refused at once (each element takes at least one byte), a string longer
//! than what is left is refused before it is copied. `bytes` and `records` fields are slices
//! of the frame, not copies.
//!
//! The writer collects a request in pieces: small fields go into one growing buffer, large
//! `bytes`/`records` values (record batches) are kept as their own pieces, so a produce request
//! is framed without copying its batches.
//!
//! The one varint implementation of the crate lives here too (the record format uses it).

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};
use uuid::Uuid;

/// A message type of the protocol (a request, a response, a header or a data blob).
pub(crate) trait Message: Encode + Decode + Default {
    /// The schema's name, e.g. `FetchRequest`.
    const NAME: &'static str;
    /// The versions the schema defines, oldest to newest.
    const VERSIONS: (i16, i16);
    /// The newest version brokers offer without `unstable.api.versions.enable`.
    const STABLE_MAX: i16;
    /// Whether version `v` uses compact lengths and tagged fields.
    fn flexible(v: i16) -> bool;
}

/// A request, with the response it gets.
pub(crate) trait Request: Message + Send + Sync {
    /// The API key.
    const KEY: i16;
    /// The response message.
    type Response: Message + Send + 'static;

    /// The request header version for `v`: 2 when flexible (tagged fields), else 1.
    fn header_version(v: i16) -> i16 {
        if Self::flexible(v) {
            2
        } else {
            1
        }
    }

    /// The response header version for `v`: 1 when flexible, else 0. ApiVersions answers with
    /// header v0 at every version, so a client that asked too new a version can still read
    /// the broker's error (KIP-511).
    fn response_header_version(v: i16) -> i16 {
        if Self::flexible(v) && Self::KEY != 18 {
            1
        } else {
            0
        }
    }
}

/// Writes a message at a version.
pub(crate) trait Encode {
    fn encode(&self, w: &mut Writer, v: i16) -> Result<(), EncodeError>;
}

/// Reads a message at a version.
pub(crate) trait Decode: Sized {
    fn decode(r: &mut Reader, v: i16) -> Result<Self, DecodeError>;
}

/// Why bytes could not be decoded: what, in which field, at which byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError {
    pub(crate) what: String,
    /// Field names, innermost first (reversed when shown).
    path: Vec<&'static str>,
    pub(crate) offset: usize,
    /// Well formed, but its decoded form would take more memory than allowed: a large answer,
    /// not a broken one.
    pub(crate) too_large: bool,
}

impl DecodeError {
    fn new(what: impl Into<String>, offset: usize) -> Self {
        DecodeError {
            what: what.into(),
            path: Vec::new(),
            offset,
            too_large: false,
        }
    }

    /// Adds the field this error happened in (called on the way out).
    pub(crate) fn within(mut self, field: &'static str) -> Self {
        self.path.push(field);
        self
    }

    /// The field path, outermost first, e.g. `Responses.Partitions.Records`.
    pub(crate) fn path(&self) -> String {
        let mut p: Vec<&str> = self.path.clone();
        p.reverse();
        p.join(".")
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{} at byte {}", self.what, self.offset)
        } else {
            write!(
                f,
                "{} in {} at byte {}",
                self.what,
                self.path(),
                self.offset
            )
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why a message could not be encoded at the version asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncodeError(pub(crate) String);

impl EncodeError {
    /// A field set to something other than its default at a version without the field.
    pub(crate) fn absent(field: &str, v: i16) -> Self {
        EncodeError(format!(
            "field {field} is set but version {v} does not have it (the broker is too old for this feature)"
        ))
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EncodeError {}

/// A cursor over received bytes; every read is checked against what is left, and what the
/// decoded structs take in memory against a budget.
pub(crate) struct Reader {
    buf: Bytes,
    pos: usize,
    /// Bytes the decoded form may still take (array elements and string copies; `bytes`
    /// fields are slices of the frame and cost nothing). Decoded, a 5-byte entry of four
    /// empty strings is a 100-byte struct: the budget keeps that factor from turning a
    /// frame within `max_response_size` into many times that much memory.
    budget: usize,
}

/// Arrays are grown as elements decode, never reserved past this from a wire length.
const MAX_PRESIZE: usize = 1024;

impl Reader {
    pub(crate) fn new(buf: Bytes) -> Self {
        Reader {
            buf,
            pos: 0,
            budget: usize::MAX,
        }
    }

    /// A reader whose decoded structs may take at most `max_decoded` bytes.
    pub(crate) fn with_budget(buf: Bytes, max_decoded: usize) -> Self {
        Reader {
            buf,
            pos: 0,
            budget: max_decoded,
        }
    }

    fn charge(&mut self, n: usize) -> Result<(), DecodeError> {
        match self.budget.checked_sub(n) {
            Some(left) => {
                self.budget = left;
                Ok(())
            }
            None => Err(DecodeError {
                too_large: true,
                ..self.err("its decoded form would take more memory than the limit allows")
            }),
        }
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Bytes read so far.
    pub(crate) fn offset(&self) -> usize {
        self.pos
    }

    fn err(&self, what: impl Into<String>) -> DecodeError {
        DecodeError::new(what, self.pos)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        if n > self.remaining() {
            return Err(self.err(format!(
                "{n} bytes needed, {} left (the message ends early)",
                self.remaining()
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// `n` bytes as a slice of the frame (no copy).
    pub(crate) fn slice(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        self.take(n)?;
        Ok(self.buf.slice(self.pos - n..self.pos))
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub(crate) fn bool(&mut self) -> Result<bool, DecodeError> {
        Ok(self.fixed::<1>()?[0] != 0)
    }
    pub(crate) fn i8(&mut self) -> Result<i8, DecodeError> {
        Ok(i8::from_be_bytes(self.fixed()?))
    }
    pub(crate) fn i16(&mut self) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.fixed()?))
    }
    #[allow(dead_code)] // in Kafka's type system; no message kafkit speaks has one today
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.fixed()?))
    }
    pub(crate) fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.fixed()?))
    }
    #[allow(dead_code)] // in Kafka's type system; no message kafkit speaks has one today
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.fixed()?))
    }
    pub(crate) fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.fixed()?))
    }
    pub(crate) fn f64(&mut self) -> Result<f64, DecodeError> {
        Ok(f64::from_be_bytes(self.fixed()?))
    }
    pub(crate) fn uuid(&mut self) -> Result<Uuid, DecodeError> {
        Ok(Uuid::from_bytes(self.fixed()?))
    }

    /// An unsigned varint of at most 32 bits.
    pub(crate) fn uvarint(&mut self) -> Result<u32, DecodeError> {
        let at = self.pos;
        let (v, n) =
            read_uvarint(&self.buf[self.pos..], 5).map_err(|what| DecodeError::new(what, at))?;
        self.pos += n;
        u32::try_from(v).map_err(|_| DecodeError::new("varint above 32 bits", at))
    }

    /// A length: compact (unsigned varint, 0 = null) or classic (`i16` for strings, `i32` for
    /// bytes and arrays, -1 = null). `None` is null; a null where the schema allows none, a
    /// negative length, or one past the bytes left is an error.
    fn len(
        &mut self,
        flex: bool,
        wide: bool,
        nullable: bool,
    ) -> Result<Option<usize>, DecodeError> {
        let at = self.pos;
        let n: i64 = if flex {
            i64::from(self.uvarint()?) - 1
        } else if wide {
            i64::from(self.i32()?)
        } else {
            i64::from(self.i16()?)
        };
        if n == -1 {
            return if nullable {
                Ok(None)
            } else {
                Err(DecodeError::new("null where the schema allows none", at))
            };
        }
        if n < 0 {
            return Err(DecodeError::new(format!("negative length {n}"), at));
        }
        let n = n as usize;
        if n > self.remaining() {
            return Err(DecodeError::new(
                format!("length {n} is past the {} bytes left", self.remaining()),
                at,
            ));
        }
        Ok(Some(n))
    }

    fn str_of(&mut self, n: usize) -> Result<String, DecodeError> {
        self.charge(n)?;
        let at = self.pos;
        let s = self.take(n)?;
        String::from_utf8(s.to_vec()).map_err(|_| DecodeError::new("string is not UTF-8", at))
    }

    pub(crate) fn string(&mut self, flex: bool) -> Result<String, DecodeError> {
        let n = self.len(flex, false, false)?.unwrap_or(0);
        self.str_of(n)
    }

    pub(crate) fn opt_string(
        &mut self,
        flex: bool,
        nullable: bool,
    ) -> Result<Option<String>, DecodeError> {
        match self.len(flex, false, nullable)? {
            None => Ok(None),
            Some(n) => self.str_of(n).map(Some),
        }
    }

    pub(crate) fn bytes(&mut self, flex: bool) -> Result<Bytes, DecodeError> {
        let n = self.len(flex, true, false)?.unwrap_or(0);
        self.slice(n)
    }

    pub(crate) fn opt_bytes(
        &mut self,
        flex: bool,
        nullable: bool,
    ) -> Result<Option<Bytes>, DecodeError> {
        match self.len(flex, true, nullable)? {
            None => Ok(None),
            Some(n) => self.slice(n).map(Some),
        }
    }

    fn elems<T>(
        &mut self,
        n: usize,
        mut each: impl FnMut(&mut Reader) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let mut out = Vec::with_capacity(n.min(MAX_PRESIZE));
        for i in 0..n {
            self.charge(std::mem::size_of::<T>())?;
            let before = self.pos;
            out.push(each(self)?);
            // An element of no bytes would let a length ask for memory the frame never paid for.
            if self.pos == before {
                return Err(DecodeError::new(
                    format!("array element {i} of {n} takes no bytes"),
                    before,
                ));
            }
        }
        Ok(out)
    }

    pub(crate) fn array<T>(
        &mut self,
        flex: bool,
        each: impl FnMut(&mut Reader) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let n = self.len(flex, true, false)?.unwrap_or(0);
        self.elems(n, each)
    }

    pub(crate) fn opt_array<T>(
        &mut self,
        flex: bool,
        nullable: bool,
        each: impl FnMut(&mut Reader) -> Result<T, DecodeError>,
    ) -> Result<Option<Vec<T>>, DecodeError> {
        match self.len(flex, true, nullable)? {
            None => Ok(None),
            Some(n) => self.elems(n, each).map(Some),
        }
    }

    /// A struct that may be null: in its nullable versions a marker byte (-1 null) comes first.
    pub(crate) fn opt_struct<T>(
        &mut self,
        nullable: bool,
        each: impl FnOnce(&mut Reader) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        if nullable && self.i8()? < 0 {
            return Ok(None);
        }
        each(self).map(Some)
    }

    /// The tagged fields at the end of a flexible struct: `known(tag, field)` decodes the
    /// tags this version knows (returning `false` for the others, which are skipped). A known
    /// field must fill exactly the size it announces.
    pub(crate) fn tagged(
        &mut self,
        mut known: impl FnMut(u32, &mut Reader) -> Result<bool, DecodeError>,
    ) -> Result<(), DecodeError> {
        let count = self.uvarint()?;
        for _ in 0..count {
            let tag = self.uvarint()?;
            let size = self.uvarint()? as usize;
            let at = self.pos;
            let bytes = self.slice(size).map_err(|e| e.within("tagged field"))?;
            let mut field = Reader::with_budget(bytes, self.budget);
            let result = known(tag, &mut field).map_err(|mut e| {
                e.offset += at;
                e
            })?;
            self.budget = field.budget;
            if result && field.remaining() != 0 {
                return Err(DecodeError::new(
                    format!(
                        "tagged field {tag} announces {size} bytes but its value takes {}",
                        field.offset()
                    ),
                    at,
                ));
            }
        }
        Ok(())
    }

    /// Tagged fields of a struct that knows none at this version.
    pub(crate) fn skip_tagged(&mut self) -> Result<(), DecodeError> {
        self.tagged(|_, _| Ok(false))
    }
}

/// A request being encoded: small fields in one buffer, large byte values as pieces of their
/// own (no copy).
#[derive(Default)]
pub(crate) struct Writer {
    pieces: Vec<Bytes>,
    buf: BytesMut,
    /// A framed writer's first piece, kept writable until its length prefix is known.
    head: Option<BytesMut>,
    framed: bool,
}

/// Byte values at least this long are sent as their own piece rather than copied.
const OWN_PIECE: usize = 1024;

impl Writer {
    pub(crate) fn new() -> Self {
        Writer::default()
    }

    /// A writer for a whole frame: a 4-byte length prefix, filled in by
    /// [`finish_framed`](Self::finish_framed).
    pub(crate) fn framed() -> Self {
        let mut w = Writer::default();
        w.framed = true;
        w.buf.extend_from_slice(&[0; 4]);
        w
    }

    /// The frame's pieces with its length prefix set; `None` past the protocol's 2 GiB.
    pub(crate) fn finish_framed(mut self) -> Option<Vec<Bytes>> {
        let len = i32::try_from(self.len() - 4).ok()?.to_be_bytes();
        match self.head.as_mut() {
            Some(head) => head[..4].copy_from_slice(&len),
            None => self.buf[..4].copy_from_slice(&len),
        }
        Some(self.finish())
    }

    /// Sets aside what `buf` holds, before a large value becomes a piece of its own.
    fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let piece = self.buf.split();
        if self.framed && self.head.is_none() {
            self.head = Some(piece);
        } else {
            self.pieces.push(piece.freeze());
        }
    }

    /// Bytes written so far.
    pub(crate) fn len(&self) -> usize {
        self.head.as_ref().map_or(0, |h| h.len())
            + self.pieces.iter().map(Bytes::len).sum::<usize>()
            + self.buf.len()
    }

    /// The pieces, in order.
    pub(crate) fn finish(mut self) -> Vec<Bytes> {
        let mut out = Vec::with_capacity(self.pieces.len() + 2);
        if let Some(head) = self.head.take() {
            out.push(head.freeze());
        }
        out.append(&mut self.pieces);
        if !self.buf.is_empty() {
            out.push(self.buf.freeze());
        }
        out
    }

    /// Everything as one buffer (copies the large pieces; for small messages and tests).
    pub(crate) fn into_bytes(self) -> Bytes {
        let pieces = self.finish();
        if pieces.len() == 1 {
            return pieces.into_iter().next().unwrap_or_default();
        }
        let mut out = BytesMut::with_capacity(pieces.iter().map(Bytes::len).sum());
        for p in pieces {
            out.extend_from_slice(&p);
        }
        out.freeze()
    }

    pub(crate) fn bool(&mut self, b: bool) {
        self.buf.put_u8(b as u8);
    }
    pub(crate) fn i8(&mut self, n: i8) {
        self.buf.put_i8(n);
    }
    pub(crate) fn i16(&mut self, n: i16) {
        self.buf.put_i16(n);
    }
    #[allow(dead_code)] // in Kafka's type system; no message kafkit speaks has one today
    pub(crate) fn u16(&mut self, n: u16) {
        self.buf.put_u16(n);
    }
    pub(crate) fn i32(&mut self, n: i32) {
        self.buf.put_i32(n);
    }
    #[allow(dead_code)] // in Kafka's type system; no message kafkit speaks has one today
    pub(crate) fn u32(&mut self, n: u32) {
        self.buf.put_u32(n);
    }
    pub(crate) fn i64(&mut self, n: i64) {
        self.buf.put_i64(n);
    }
    pub(crate) fn f64(&mut self, n: f64) {
        self.buf.put_f64(n);
    }
    pub(crate) fn uuid(&mut self, u: &Uuid) {
        self.buf.put_slice(u.as_bytes());
    }
    pub(crate) fn uvarint(&mut self, n: u32) {
        put_uvarint(&mut self.buf, u64::from(n));
    }

    fn len_prefix(&mut self, n: Option<usize>, flex: bool, wide: bool) -> Result<(), EncodeError> {
        let too_long = || EncodeError(format!("a length of {n:?} does not fit the protocol"));
        match (n, flex) {
            (None, true) => self.uvarint(0),
            (None, false) if wide => self.i32(-1),
            (None, false) => self.i16(-1),
            (Some(n), true) => self.uvarint(u32::try_from(n + 1).map_err(|_| too_long())?),
            (Some(n), false) if wide => self.i32(i32::try_from(n).map_err(|_| too_long())?),
            (Some(n), false) => self.i16(i16::try_from(n).map_err(|_| too_long())?),
        }
        Ok(())
    }

    pub(crate) fn string(&mut self, s: &str, flex: bool) -> Result<(), EncodeError> {
        self.len_prefix(Some(s.len()), flex, false)?;
        self.buf.put_slice(s.as_bytes());
        Ok(())
    }

    pub(crate) fn opt_string(
        &mut self,
        s: Option<&str>,
        flex: bool,
        nullable: bool,
        field: &str,
    ) -> Result<(), EncodeError> {
        match s {
            Some(s) => self.string(s, flex),
            None if nullable => self.len_prefix(None, flex, false),
            None => Err(not_nullable(field)),
        }
    }

    pub(crate) fn bytes(&mut self, b: &Bytes, flex: bool) -> Result<(), EncodeError> {
        self.len_prefix(Some(b.len()), flex, true)?;
        if b.len() >= OWN_PIECE {
            self.flush();
            self.pieces.push(b.clone());
        } else {
            self.buf.put_slice(b);
        }
        Ok(())
    }

    pub(crate) fn opt_bytes(
        &mut self,
        b: Option<&Bytes>,
        flex: bool,
        nullable: bool,
        field: &str,
    ) -> Result<(), EncodeError> {
        match b {
            Some(b) => self.bytes(b, flex),
            None if nullable => self.len_prefix(None, flex, true),
            None => Err(not_nullable(field)),
        }
    }

    pub(crate) fn array_len(&mut self, n: usize, flex: bool) -> Result<(), EncodeError> {
        self.len_prefix(Some(n), flex, true)
    }

    pub(crate) fn null_array(
        &mut self,
        flex: bool,
        nullable: bool,
        field: &str,
    ) -> Result<(), EncodeError> {
        if !nullable {
            return Err(not_nullable(field));
        }
        self.len_prefix(None, flex, true)
    }

    pub(crate) fn null_struct(&mut self, nullable: bool, field: &str) -> Result<(), EncodeError> {
        if !nullable {
            return Err(not_nullable(field));
        }
        self.i8(-1);
        Ok(())
    }

    /// One tagged field: its tag, its size, then what `value` writes.
    pub(crate) fn tagged(
        &mut self,
        tag: u32,
        value: impl FnOnce(&mut Writer) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let mut inner = Writer::new();
        value(&mut inner)?;
        let bytes = inner.into_bytes();
        self.uvarint(tag);
        self.uvarint(
            u32::try_from(bytes.len()).map_err(|_| EncodeError("tagged field too long".into()))?,
        );
        self.buf.put_slice(&bytes);
        Ok(())
    }
}

fn not_nullable(field: &str) -> EncodeError {
    EncodeError(format!(
        "field {field} is null, which this version does not allow"
    ))
}

/// Reads an unsigned LEB128 varint of at most `max_bytes` bytes: `(value, bytes read)`.
pub(crate) fn read_uvarint(buf: &[u8], max_bytes: usize) -> Result<(u64, usize), &'static str> {
    let mut value = 0u64;
    for (i, &b) in buf.iter().take(max_bytes).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    if buf.len() < max_bytes {
        Err("varint cut short (the message ends early)")
    } else {
        Err("varint longer than its type allows")
    }
}

/// Reads a zigzag varlong (the record format's signed 64-bit varint).
pub(crate) fn read_varlong(buf: &[u8]) -> Result<(i64, usize), &'static str> {
    let (v, n) = read_uvarint(buf, 10)?;
    Ok((((v >> 1) as i64) ^ -((v & 1) as i64), n))
}

/// Writes an unsigned LEB128 varint.
pub(crate) fn put_uvarint(buf: &mut impl BufMut, mut n: u64) {
    while n >= 0x80 {
        buf.put_u8((n as u8) | 0x80);
        n >>= 7;
    }
    buf.put_u8(n as u8);
}

/// Bytes [`put_uvarint`] writes for `n`.
pub(crate) fn uvarint_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// The zigzag form of a signed 32-bit varint (small magnitudes stay short).
pub(crate) fn zigzag32(n: i32) -> u32 {
    ((n << 1) ^ (n >> 31)) as u32
}

/// The zigzag form of a signed 64-bit varint.
pub(crate) fn zigzag64(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

/// Encodes `msg` at `v` as one buffer.
pub(crate) fn encode_to_bytes<M: Encode>(msg: &M, v: i16) -> Result<Bytes, EncodeError> {
    let mut w = Writer::new();
    msg.encode(&mut w, v)?;
    Ok(w.into_bytes())
}

/// Decodes `M` at `v` from all of `bytes`: bytes left over are an error (the peer and kafkit
/// disagree on the layout).
#[cfg(test)]
pub(crate) fn decode_all<M: Decode>(bytes: Bytes, v: i16) -> Result<M, DecodeError> {
    let mut r = Reader::new(bytes);
    let m = M::decode(&mut r, v)?;
    if r.remaining() != 0 {
        return Err(DecodeError::new(
            format!("{} bytes left over after the message", r.remaining()),
            r.offset(),
        ));
    }
    Ok(m)
}

#[cfg(test)]
pub(crate) use super::sample::{Sample, SampleGen};
