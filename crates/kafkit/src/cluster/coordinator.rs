//! Finding the group or transaction coordinator (FindCoordinator).

use kafka_protocol::messages::FindCoordinatorRequest;
use kafka_protocol::protocol::StrBytes;

use crate::error::{Error, Result};
use crate::Kafka;

/// What a coordinator coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoordinatorType {
    /// A consumer group.
    Group = 0,
    /// A transactional id.
    Transaction = 1,
}

/// The node id of the coordinator of `key`, with its address registered in the pool.
/// Retriable errors (COORDINATOR_NOT_AVAILABLE while `__consumer_offsets` is being created,
/// COORDINATOR_LOAD_IN_PROGRESS) are returned as such for the caller's retry loop.
pub async fn find_coordinator(kafka: &Kafka, kind: CoordinatorType, key: &str) -> Result<i32> {
    // Any broker can answer; a hung one must not hold the lookup (see first_answer).
    let (version, resp) = kafka
        .pool()
        .first_answer(|conn| async move {
            let version = conn.version::<FindCoordinatorRequest>()?;
            let mut req = FindCoordinatorRequest::default();
            req.key_type = kind as i8;
            if version >= 4 {
                req.coordinator_keys = vec![StrBytes::from_string(key.to_string())];
            } else {
                req.key = StrBytes::from_string(key.to_string());
            }
            Ok((version, conn.send_version(&req, version).await?))
        })
        .await
        .map_err(|e| e.during("find_coordinator"))?;
    let (code, message, node, host, port) = if version >= 4 {
        let c = resp.coordinators.into_iter().next().ok_or_else(|| {
            Error::protocol(
                "find_coordinator",
                "FindCoordinator response lists no coordinator",
            )
        })?;
        (c.error_code, c.error_message, c.node_id.0, c.host, c.port)
    } else {
        (
            resp.error_code,
            resp.error_message,
            resp.node_id.0,
            resp.host,
            resp.port,
        )
    };
    Error::check(code, "find_coordinator", || {
        format!(
            "no coordinator for {kind:?} '{key}' yet{}",
            message
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        )
    })?;
    if node < 0 || host.is_empty() || !(1..=65535).contains(&port) {
        return Err(Error::protocol(
            "find_coordinator",
            format!(
                "FindCoordinator returned an invalid coordinator: node {node} at {host}:{port}"
            ),
        ));
    }
    kafka.pool().set_brokers([(node, format!("{host}:{port}"))]);
    Ok(node)
}

/// `find_coordinator`, retried with the client's retry policy.
pub async fn find_coordinator_retrying(
    kafka: &Kafka,
    kind: CoordinatorType,
    key: &str,
) -> Result<i32> {
    kafka
        .config()
        .retry
        .run(|| find_coordinator(kafka, kind, key), |_| async {})
        .await
}
