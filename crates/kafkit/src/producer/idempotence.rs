//! Producer id and epoch (idempotence), and re-stamping batches after an epoch change.

use bytes::{Bytes, BytesMut};

use crate::error::{Error, Result};

pub(crate) use crate::cluster::producer_id::{init_producer_id, ProducerIdentity};

const CRC_OFFSET: usize = 17;
const ATTRIBUTES_OFFSET: usize = 21;
const PRODUCER_ID_OFFSET: usize = 43;
const HEADER_LEN: usize = 61;

/// A copy of an encoded batch with a new producer id, epoch and base sequence (and its CRC
/// recomputed). Rare: only after an epoch bump.
pub(crate) fn restamp(
    batch: &Bytes,
    producer_id: i64,
    epoch: i16,
    base_sequence: i32,
) -> Result<Bytes> {
    if batch.len() < HEADER_LEN {
        return Err(Error::protocol(
            "produce",
            "encoded batch shorter than its header",
        ));
    }
    let mut b = BytesMut::from(&batch[..]);
    b[PRODUCER_ID_OFFSET..PRODUCER_ID_OFFSET + 8].copy_from_slice(&producer_id.to_be_bytes());
    b[PRODUCER_ID_OFFSET + 8..PRODUCER_ID_OFFSET + 10].copy_from_slice(&epoch.to_be_bytes());
    b[PRODUCER_ID_OFFSET + 10..PRODUCER_ID_OFFSET + 14]
        .copy_from_slice(&base_sequence.to_be_bytes());
    let crc = crc32c::crc32c(&b[ATTRIBUTES_OFFSET..]);
    b[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    Ok(b.freeze())
}
