//! Producer id and epoch (idempotence), and re-stamping batches after an epoch change.

use crate::protocol::messages::InitProducerIdRequest;
use bytes::{Bytes, BytesMut};

use crate::error::{Error, Result};
use crate::net::Connection;

/// The producer's identity for idempotence: `(-1, -1)` until InitProducerId answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProducerIdentity {
    pub id: i64,
    pub epoch: i16,
}

impl ProducerIdentity {
    pub const NONE: ProducerIdentity = ProducerIdentity { id: -1, epoch: -1 };
}

/// Asks for a producer id (or, with `current`, a bumped epoch of it; KIP-360).
pub(crate) async fn init_producer_id(
    conn: &Connection,
    transactional_id: Option<&str>,
    transaction_timeout_ms: i32,
    current: ProducerIdentity,
) -> Result<ProducerIdentity> {
    let version = conn.version::<InitProducerIdRequest>()?;
    let mut req = InitProducerIdRequest::default();
    req.transactional_id = transactional_id.map(|t| t.to_string());
    req.transaction_timeout_ms = transaction_timeout_ms;
    if version >= 3 {
        req.producer_id = current.id;
        req.producer_epoch = current.epoch;
    }
    let resp = conn
        .send_version(&req, version)
        .await
        .map_err(|e| e.during("init_producer_id"))?;
    Error::check(resp.error_code, "init_producer_id", || {
        match resp.error_code {
        53 => "not authorized to use this transactional id; grant WRITE on the String resource".into(),
        31 => "not authorized for idempotent writes; grant IDEMPOTENT_WRITE on the cluster, or turn idempotence off".into(),
        _ => "the broker refused a producer id".into(),
    }
    })?;
    Ok(ProducerIdentity {
        id: resp.producer_id,
        epoch: resp.producer_epoch,
    })
}

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
