//! Producer ids and epochs come from the cluster (InitProducerId): the producer asks for one
//! for idempotence and transactions, and the admin client asks for one to fence a
//! transactional id's producers.

use crate::protocol::messages::InitProducerIdRequest;

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
