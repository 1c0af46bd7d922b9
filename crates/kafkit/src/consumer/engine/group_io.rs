//! Sending the group protocols' requests on the coordinator connection, each at the version
//! the broker offers, with the fields that version lacks left out (the encoder refuses them).

use std::time::Duration;

use crate::protocol::messages::{
    ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, HeartbeatRequest,
    JoinGroupRequest, LeaveGroupRequest, SyncGroupRequest,
};

use crate::error::{Error, ErrorKind, Result};
use crate::groups::consumer::classic::{ClassicRequest, ClassicResponse};
use crate::net::Connection;

pub(super) async fn send_classic(
    conn: &Connection,
    req: ClassicRequest,
    timeout: Duration,
) -> Result<ClassicResponse> {
    // Fields newer than the negotiated version are left out (the encoder refuses them).
    Ok(match req {
        ClassicRequest::Join(mut r) => {
            let v = conn.version::<JoinGroupRequest>()?;
            if v < 5 {
                r.group_instance_id = None;
            }
            if v < 8 {
                r.reason = None;
            }
            ClassicResponse::Join(conn.send_timeout(&r, v, timeout).await?)
        }
        ClassicRequest::Sync(mut r) => {
            let v = conn.version::<SyncGroupRequest>()?;
            if v < 3 {
                r.group_instance_id = None;
            }
            if v < 5 {
                r.protocol_type = None;
                r.protocol_name = None;
            }
            ClassicResponse::Sync(conn.send_timeout(&r, v, timeout).await?)
        }
        ClassicRequest::Heartbeat(mut r) => {
            let v = conn.version::<HeartbeatRequest>()?;
            if v < 3 {
                r.group_instance_id = None;
            }
            ClassicResponse::Heartbeat(conn.send_timeout(&r, v, timeout).await?)
        }
        ClassicRequest::Leave(mut r) => {
            let v = conn.version::<LeaveGroupRequest>()?;
            // v0-2 name one member directly, v3+ list members.
            if v < 3 {
                if let Some(m) = r.members.pop() {
                    r.member_id = m.member_id;
                }
                r.members.clear();
            } else {
                r.member_id = Default::default();
                if v < 5 {
                    for m in &mut r.members {
                        m.reason = None;
                    }
                }
            }
            ClassicResponse::Leave(conn.send_timeout(&r, v, timeout).await?)
        }
    })
}

pub(super) async fn send_heartbeat(
    conn: &Connection,
    req: &ConsumerGroupHeartbeatRequest,
    timeout: Duration,
) -> Result<ConsumerGroupHeartbeatResponse> {
    let version = conn.version::<ConsumerGroupHeartbeatRequest>()?;
    conn.send_timeout(req, version, timeout).await
}

/// The broker must speak ConsumerGroupHeartbeat v1 (Kafka 4.0+).
pub(crate) fn check_consumer_protocol(conn: &Connection) -> Result<()> {
    let key = 68;
    match conn.api_versions().range(key) {
        Some((_, max)) if max >= 1 => Ok(()),
        other => Err(Error::new(
            ErrorKind::Unsupported,
            "subscribe",
            format!(
                "the broker at {} does not support the consumer group protocol (KIP-848){}; use group protocol 'classic', or upgrade to Apache Kafka 4.0+ with group.coordinator.rebalance.protocols including 'consumer'",
                conn.addr(),
                match other {
                    Some((min, max)) => format!(" (it offers ConsumerGroupHeartbeat v{min}-v{max}, kafkit needs v1)"),
                    None => String::new(),
                }
            ),
        )),
    }
}
