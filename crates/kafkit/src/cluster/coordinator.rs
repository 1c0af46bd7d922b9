//! Finding the group or transaction coordinator (FindCoordinator).

use crate::protocol::messages::FindCoordinatorRequest;

use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};
use crate::net::{BrokerPool, Connection, Lane};
use crate::retry::RetryPolicy;

/// How long a coordinator that recently stopped answering gets to answer again before the
/// cluster is asked anew. While the cluster fails a hung broker over (the controller fences it
/// after `broker.session.timeout.ms`), every broker still names it; waiting out a full connect
/// timeout per answer made members find the new coordinator seconds late, after their session
/// had run out there. A live broker answers ApiVersions in milliseconds.
const SUSPECT_COORDINATOR_TRY: Duration = Duration::from_millis(500);

/// The wait before asking for a coordinator again (it moved, is loading, or stopped answering):
/// it grows from 100 ms but stays under a second, as the Java client's `retry.backoff.max.ms`,
/// so the new coordinator is used soon after the cluster has moved it. (The client-wide retry
/// policy grows to 30 s: after a coordinator kill, transactions waited up to 10 s past the
/// failover.)
pub(crate) const COORDINATOR_BACKOFF: RetryPolicy = RetryPolicy {
    max_retry_time: Duration::from_secs(1),
    initial_retry_time: Duration::from_millis(100),
    factor: 0.2,
    multiplier: 2.0,
    retries: 0,
};

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
pub(crate) async fn find_coordinator(
    pool: &BrokerPool,
    kind: CoordinatorType,
    key: &str,
) -> Result<i32> {
    // Any broker can answer; a hung one must not hold the lookup (see first_answer).
    let (version, resp) = pool
        .first_answer(|conn| async move {
            let version = conn.version::<FindCoordinatorRequest>()?;
            let mut req = FindCoordinatorRequest::default();
            req.key_type = kind as i8;
            if version >= 4 {
                req.coordinator_keys = vec![key.to_string()];
            } else {
                req.key = key.to_string();
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
        (c.error_code, c.error_message, c.node_id, c.host, c.port)
    } else {
        (
            resp.error_code,
            resp.error_message,
            resp.node_id,
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
    pool.set_brokers([(node, format!("{host}:{port}"))]);
    Ok(node)
}

/// Finds the coordinator of `key` and connects to it on `lane`.
///
/// A coordinator that recently timed out gets [`SUSPECT_COORDINATOR_TRY`] to answer; otherwise
/// this returns a retriable timeout so that the caller asks the cluster again (the answer
/// changes once the cluster has failed the broker over).
pub(crate) async fn connect_coordinator(
    pool: &BrokerPool,
    kind: CoordinatorType,
    key: &str,
    lane: Lane,
) -> Result<(i32, Connection)> {
    let node = find_coordinator(pool, kind, key).await?;
    if !pool.node_is_suspect(node) {
        return Ok((node, pool.get(node, lane).await?));
    }
    match tokio::time::timeout(SUSPECT_COORDINATOR_TRY, pool.get(node, lane)).await {
        Ok(conn) => Ok((node, conn?)),
        Err(_) => Err(Error::new(
            ErrorKind::Timeout(SUSPECT_COORDINATOR_TRY),
            "connect",
            format!(
                "the cluster names broker {node} as the {kind:?} coordinator of '{key}', but it recently stopped answering; asking again (it is probably being failed over)"
            ),
        )),
    }
}

/// `find_coordinator`, retried with the client's retry policy.
pub(crate) async fn find_coordinator_retrying(
    pool: &BrokerPool,
    retry: &RetryPolicy,
    kind: CoordinatorType,
    key: &str,
) -> Result<i32> {
    retry
        .run(|| find_coordinator(pool, kind, key), |_| async {})
        .await
}
