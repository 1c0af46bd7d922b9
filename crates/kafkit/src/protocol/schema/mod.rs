//! The bounded pre-decoder: every response is walked against Kafka's own message schema before
//! the `kafka-protocol` crate decodes it.
//!
//! Why: `kafka-protocol` 0.18 reserves `Vec::with_capacity(n)` for an array with `n` read from
//! the wire before checking that `n` elements can fit in the bytes left
//! (`src/protocol/types.rs`, `Array` and `CompactArray` decoders; upstream
//! tychedelia/kafka-protocol-rs pull requests #152, #161, #200, unreleased). Seven hostile bytes
//! can ask for 137 GB, and a failed allocation aborts the process: no `catch_unwind` helps.
//!
//! The walk reads only lengths and tags. It refuses, before anything is allocated:
//! - an array, string or byte length larger than the bytes left (every array element takes at
//!   least one byte, so a longer length is never valid: the rule the Java client applies);
//! - a null where the schema does not allow one, a negative length other than -1;
//! - a tagged field whose value does not fill exactly the size it announces;
//! - bytes left over after the body (the peer and kafkit disagree on the layout).
//!
//! - a message whose decoded structs would take more memory than allowed (estimated from above
//!   while walking: a 5-byte group listing becomes a 150-byte struct).
//!
//! A walked frame then decodes within two bounds: the frame (at most the connection's
//! `max_response_size`) and its decoded form (at most as much again). The walk costs a pass
//! over the fields, not the bytes: a record set is skipped by its length.
//!
//! The tables in `generated.rs` come from Kafka's JSON message schemas (see
//! `crates/kafkit-schema-gen`); regenerate them with `scripts/gen-schemas`.

#[rustfmt::skip]
mod generated;

use std::fmt;

pub(crate) use generated::{
    response, CONSUMER_PROTOCOL_ASSIGNMENT, CONSUMER_PROTOCOL_SUBSCRIPTION, RESPONSE_HEADER,
};

/// Open upper bound of a version range ("3+").
pub(crate) const MAX: i16 = i16::MAX;

/// An inclusive version range; `V(1, 0)` is empty ("none").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct V(pub i16, pub i16);

impl V {
    const NONE: V = V(1, 0);

    fn has(self, v: i16) -> bool {
        self.0 <= v && v <= self.1
    }
}

/// A field's wire type.
#[derive(Debug)]
pub(crate) enum Ty {
    Bool,
    I8,
    I16,
    U16,
    I32,
    #[allow(dead_code)] // in Kafka's type system; no response uses it today
    U32,
    I64,
    F64,
    Uuid,
    Str,
    Bytes,
    Records,
    Struct(&'static [Field]),
    Array(&'static Ty),
}

impl Ty {
    /// An upper estimate of the bytes one value takes in kafka-protocol's decoded types (the
    /// structs are a few hundred bytes at most; each has a map of unknown tagged fields).
    fn inline_size(&self) -> usize {
        match self {
            Ty::Bool | Ty::I8 | Ty::I16 | Ty::U16 | Ty::I32 | Ty::U32 | Ty::I64 | Ty::F64 => 8,
            Ty::Uuid => 16,
            Ty::Str | Ty::Bytes | Ty::Records => 40,
            Ty::Array(_) => 24,
            Ty::Struct(fields) => 48 + fields.iter().map(|f| f.ty.inline_size()).sum::<usize>(),
        }
    }
}

/// One field of a message or struct.
#[derive(Debug)]
pub(crate) struct Field {
    name: &'static str,
    ty: Ty,
    versions: V,
    nullable: V,
    /// `-1` when the field is never tagged.
    tag: i64,
    tagged: V,
}

impl Field {
    pub(crate) const fn new(name: &'static str, ty: Ty, versions: V) -> Field {
        Field {
            name,
            ty,
            versions,
            nullable: V::NONE,
            tag: -1,
            tagged: V::NONE,
        }
    }

    pub(crate) const fn nullable(mut self, v: V) -> Field {
        self.nullable = v;
        self
    }

    pub(crate) const fn tagged(mut self, tag: u32, v: V) -> Field {
        self.tag = tag as i64;
        self.tagged = v;
        self
    }
}

/// A message schema: a response, the response header, or a consumer-protocol blob.
#[derive(Debug)]
pub(crate) struct Message {
    pub(crate) name: &'static str,
    pub(crate) valid: V,
    pub(crate) flexible: V,
    pub(crate) fields: &'static [Field],
}

/// Why a frame was refused: what, where (field path) and at which byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed {
    pub(crate) what: String,
    pub(crate) path: String,
    pub(crate) offset: usize,
    /// Well formed, but its decoded form would take more than the limit (`max_response_size`):
    /// a large answer, not a broken one.
    pub(crate) too_large: bool,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{} (at byte {})", self.what, self.offset)
        } else {
            write!(
                f,
                "{} in {} (at byte {})",
                self.what, self.path, self.offset
            )
        }
    }
}

impl std::error::Error for Malformed {}

/// Walks a response frame (header and body, no length prefix) of `api_key` at `version`,
/// whose header has `header_version`.
pub(crate) fn check_response(
    api_key: i16,
    version: i16,
    header_version: i16,
    frame: &[u8],
    max_decoded: usize,
) -> Result<(), Malformed> {
    let Some(msg) = response(api_key) else {
        return Err(Malformed {
            what: format!("kafkit has no schema for API key {api_key}"),
            path: String::new(),
            offset: 0,
            too_large: false,
        });
    };
    let header = walk(&RESPONSE_HEADER, header_version, frame, true)?;
    walk_within(msg, version, &frame[header..], false, max_decoded).map_err(|mut m| {
        m.offset += header;
        m
    })?;
    Ok(())
}

/// Walks `bytes` as `msg` at `version`; returns the bytes the message took. With
/// `allow_trailing`, bytes after the message are the caller's (a frame's body after its
/// header; a newer blob version that extends the layout).
pub(crate) fn walk(
    msg: &Message,
    version: i16,
    bytes: &[u8],
    allow_trailing: bool,
) -> Result<usize, Malformed> {
    walk_within(msg, version, bytes, allow_trailing, usize::MAX)
}

/// [`walk`], refusing a message whose decoded form would take more than `max_decoded` bytes
/// (short elements, such as group listings of a few bytes each, decode to structs of a few
/// hundred bytes: without this a large frame could still ask for gigabytes).
pub(crate) fn walk_within(
    msg: &Message,
    version: i16,
    bytes: &[u8],
    allow_trailing: bool,
    max_decoded: usize,
) -> Result<usize, Malformed> {
    let mut w = Walker {
        buf: bytes,
        pos: 0,
        version,
        flexible: msg.flexible.has(version),
        decoded: 0,
        path: Vec::new(),
    };
    if !msg.valid.has(version) {
        return Err(w.fail(format!(
            "{} has no version {version} (valid: {}..{})",
            msg.name, msg.valid.0, msg.valid.1
        )));
    }
    w.fields(msg.fields)?;
    if w.decoded > max_decoded {
        return Err(Malformed {
            what: format!(
                "{} v{version} would decode to about {} bytes, more than the {max_decoded} allowed (max_response_size)",
                msg.name, w.decoded
            ),
            path: String::new(),
            offset: w.pos,
            too_large: true,
        });
    }
    if !allow_trailing && w.pos != bytes.len() {
        return Err(w.fail(format!(
            "{} trailing bytes after the {} v{version} body",
            bytes.len() - w.pos,
            msg.name
        )));
    }
    Ok(w.pos)
}

struct Walker<'a> {
    buf: &'a [u8],
    pos: usize,
    version: i16,
    flexible: bool,
    /// Bytes the decoded message will take in memory, estimated from above (array elements).
    decoded: usize,
    /// Field names from the message down to the current field, for error messages.
    path: Vec<&'static str>,
}

impl Walker<'_> {
    fn fail(&self, what: String) -> Malformed {
        Malformed {
            what,
            path: self.path.join("."),
            offset: self.pos,
            too_large: false,
        }
    }

    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&[u8], Malformed> {
        if n > self.left() {
            return Err(self.fail(format!("needs {n} bytes but only {} are left", self.left())));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn i8(&mut self) -> Result<i8, Malformed> {
        Ok(self.take(1)?[0] as i8)
    }

    fn i16(&mut self) -> Result<i16, Malformed> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Result<i32, Malformed> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// An unsigned varint of at most 5 bytes (a longer one is refused, where kafka-protocol
    /// would silently stop after five).
    fn uvarint(&mut self) -> Result<u32, Malformed> {
        let mut v: u32 = 0;
        for i in 0..5 {
            let b = self.take(1)?[0];
            v |= ((b & 0x7f) as u32).wrapping_shl(7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(self.fail("varint longer than 5 bytes".to_string()))
    }

    /// A length of a string (`short`), bytes or array: `None` for null.
    fn length(&mut self, short: bool, nullable: bool) -> Result<Option<usize>, Malformed> {
        let n: i64 = if self.flexible {
            self.uvarint()? as i64 - 1
        } else if short {
            self.i16()? as i64
        } else {
            self.i32()? as i64
        };
        match n {
            -1 if nullable => Ok(None),
            -1 => Err(self.fail("null where the schema allows none".to_string())),
            n if n < -1 => Err(self.fail(format!("negative length {n}"))),
            n if n as u64 > self.left() as u64 => Err(self.fail(format!(
                "length {n} is larger than the {} bytes left",
                self.left()
            ))),
            n => Ok(Some(n as usize)),
        }
    }

    fn fields(&mut self, fields: &'static [Field]) -> Result<(), Malformed> {
        let v = self.version;
        for f in fields {
            if f.versions.has(v) && !f.tagged.has(v) {
                self.path.push(f.name);
                self.value(&f.ty, f.nullable.has(v))?;
                self.path.pop();
            }
        }
        if self.flexible {
            self.tagged_fields(fields)?;
        }
        Ok(())
    }

    fn tagged_fields(&mut self, fields: &'static [Field]) -> Result<(), Malformed> {
        let count = self.uvarint()? as usize;
        // Each tagged field takes at least two bytes (tag and size).
        if count > self.left() / 2 {
            return Err(self.fail(format!(
                "{count} tagged fields cannot fit in the {} bytes left",
                self.left()
            )));
        }
        let v = self.version;
        for _ in 0..count {
            let tag = self.uvarint()? as i64;
            let size = self.uvarint()? as usize;
            if size > self.left() {
                return Err(self.fail(format!(
                    "tagged field {tag} of {size} bytes is larger than the {} bytes left",
                    self.left()
                )));
            }
            let known = fields
                .iter()
                .find(|f| f.tag == tag && f.tagged.has(v) && f.versions.has(v));
            match known {
                Some(f) => {
                    // kafka-protocol decodes a known tag from the stream and ignores its size;
                    // a value that does not fill the size exactly would misalign it.
                    let end = self.pos + size;
                    self.path.push(f.name);
                    self.value(&f.ty, f.nullable.has(v))?;
                    if self.pos != end {
                        return Err(self.fail(format!(
                            "tagged field {tag} announces {size} bytes but its value takes {}",
                            self.pos as i64 - (end - size) as i64
                        )));
                    }
                    self.path.pop();
                }
                None => {
                    self.take(size)?;
                }
            }
        }
        Ok(())
    }

    fn value(&mut self, ty: &'static Ty, nullable: bool) -> Result<(), Malformed> {
        match ty {
            Ty::Bool | Ty::I8 => self.skip(1),
            Ty::I16 | Ty::U16 => self.skip(2),
            Ty::I32 | Ty::U32 => self.skip(4),
            Ty::I64 | Ty::F64 => self.skip(8),
            Ty::Uuid => self.skip(16),
            Ty::Str => {
                if let Some(n) = self.length(true, nullable)? {
                    self.take(n)?;
                }
                Ok(())
            }
            Ty::Bytes | Ty::Records => {
                if let Some(n) = self.length(false, nullable)? {
                    self.take(n)?;
                }
                Ok(())
            }
            Ty::Struct(fields) => {
                // A nullable struct has a presence byte: 1 present, anything else null (as
                // kafka-protocol's OptionStruct reads it).
                if nullable && self.i8()? != 1 {
                    return Ok(());
                }
                self.fields(fields)
            }
            Ty::Array(elem) => {
                if let Some(n) = self.length(false, nullable)? {
                    self.decoded = self
                        .decoded
                        .saturating_add(n.saturating_mul(elem.inline_size()));
                    for _ in 0..n {
                        self.value(elem, false)?;
                    }
                }
                Ok(())
            }
        }
    }

    fn skip(&mut self, n: usize) -> Result<(), Malformed> {
        self.take(n).map(drop)
    }
}

#[cfg(test)]
mod tests;
