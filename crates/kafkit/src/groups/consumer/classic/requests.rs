//! The four classic group requests, built from the member's state.

use std::collections::BTreeSet;

use crate::protocol::messages::join_group_request::JoinGroupRequestProtocol;
use crate::protocol::messages::leave_group_request::MemberIdentity;
use crate::protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use crate::protocol::messages::{
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    LeaveGroupResponse, SyncGroupRequest, SyncGroupResponse,
};
use bytes::Bytes;

use super::wire::{encode_subscription, MemberSubscription};
use super::ClassicConfig;
use crate::events::TopicPartition;

/// Embedded protocol type of consumer groups.
pub const PROTOCOL_TYPE: &str = "consumer";

/// Which request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassicKind {
    /// JoinGroup.
    Join,
    /// SyncGroup.
    Sync,
    /// Heartbeat.
    Heartbeat,
    /// LeaveGroup.
    Leave,
}

/// A request for the coordinator.
#[derive(Debug, Clone)]
pub enum ClassicRequest {
    /// JoinGroup (may wait up to the rebalance timeout for its answer).
    Join(JoinGroupRequest),
    /// SyncGroup.
    Sync(SyncGroupRequest),
    /// Heartbeat.
    Heartbeat(HeartbeatRequest),
    /// LeaveGroup.
    Leave(LeaveGroupRequest),
}

impl ClassicRequest {
    /// Which request this is.
    pub fn kind(&self) -> ClassicKind {
        match self {
            ClassicRequest::Join(_) => ClassicKind::Join,
            ClassicRequest::Sync(_) => ClassicKind::Sync,
            ClassicRequest::Heartbeat(_) => ClassicKind::Heartbeat,
            ClassicRequest::Leave(_) => ClassicKind::Leave,
        }
    }
}

/// The coordinator's answer.
#[derive(Debug, Clone)]
pub enum ClassicResponse {
    /// JoinGroup.
    Join(JoinGroupResponse),
    /// SyncGroup.
    Sync(SyncGroupResponse),
    /// Heartbeat.
    Heartbeat(HeartbeatResponse),
    /// LeaveGroup.
    Leave(LeaveGroupResponse),
}

fn s(v: &str) -> String {
    v.to_string()
}

fn millis(d: std::time::Duration) -> i32 {
    d.as_millis().min(i32::MAX as u128) as i32
}

pub(super) fn join(
    cfg: &ClassicConfig,
    member_id: &str,
    topics: &BTreeSet<String>,
    owned: &BTreeSet<TopicPartition>,
    generation: i32,
) -> ClassicRequest {
    let owned_list: Vec<TopicPartition> = owned.iter().cloned().collect();
    let mut req = JoinGroupRequest::default();
    req.group_id = s(&cfg.group_id);
    req.session_timeout_ms = millis(cfg.session_timeout);
    req.rebalance_timeout_ms = millis(cfg.rebalance_timeout);
    req.member_id = s(member_id);
    req.group_instance_id = cfg.instance_id.as_deref().map(s);
    req.protocol_type = s(PROTOCOL_TYPE);
    req.protocols = cfg
        .assigners
        .iter()
        .map(|a| {
            let mut p = JoinGroupRequestProtocol::default();
            p.name = s(a.name());
            p.metadata = encode_subscription(&MemberSubscription {
                topics: topics.iter().cloned().collect(),
                user_data: a.user_data(&owned_list, generation),
                owned: owned_list.clone(),
                generation,
                rack_id: cfg.rack_id.clone(),
            });
            p
        })
        .collect();
    ClassicRequest::Join(req)
}

pub(super) fn sync(
    cfg: &ClassicConfig,
    member_id: &str,
    generation: i32,
    protocol: Option<&str>,
    assignments: Vec<(String, Bytes)>,
) -> ClassicRequest {
    let mut req = SyncGroupRequest::default();
    req.group_id = s(&cfg.group_id);
    req.generation_id = generation;
    req.member_id = s(member_id);
    req.group_instance_id = cfg.instance_id.as_deref().map(s);
    req.protocol_type = Some(s(PROTOCOL_TYPE));
    req.protocol_name = protocol.map(s);
    req.assignments = assignments
        .into_iter()
        .map(|(id, bytes)| {
            let mut a = SyncGroupRequestAssignment::default();
            a.member_id = s(&id);
            a.assignment = bytes;
            a
        })
        .collect();
    ClassicRequest::Sync(req)
}

pub(super) fn heartbeat(cfg: &ClassicConfig, member_id: &str, generation: i32) -> ClassicRequest {
    let mut req = HeartbeatRequest::default();
    req.group_id = s(&cfg.group_id);
    req.generation_id = generation;
    req.member_id = s(member_id);
    req.group_instance_id = cfg.instance_id.as_deref().map(s);
    ClassicRequest::Heartbeat(req)
}

pub(super) fn leave(cfg: &ClassicConfig, member_id: &str) -> ClassicRequest {
    let mut req = LeaveGroupRequest::default();
    req.group_id = s(&cfg.group_id);
    // v3+ lists the members; the sender moves it to `member_id` for v0-2.
    let mut m = MemberIdentity::default();
    m.member_id = s(member_id);
    m.group_instance_id = cfg.instance_id.as_deref().map(s);
    m.reason = Some(s("the consumer is closing"));
    req.members = vec![m];
    ClassicRequest::Leave(req)
}
