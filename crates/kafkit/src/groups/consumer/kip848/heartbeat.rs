//! Building ConsumerGroupHeartbeat requests: full on join and after any error, incremental
//! (only what changed since the last heartbeat sent) otherwise.

use std::collections::BTreeSet;

use crate::protocol::messages::consumer_group_heartbeat_request::TopicPartitions;
use crate::protocol::messages::ConsumerGroupHeartbeatRequest;
use uuid::Uuid;

use super::{Kip848Config, Subscription};

/// Epoch sentinel: join (or rejoin).
pub const JOIN_EPOCH: i32 = 0;
/// Epoch sentinel: leave the group.
pub const LEAVE_EPOCH: i32 = -1;
/// Epoch sentinel: a static member leaving for a while (it will come back with its instance id).
pub const STATIC_LEAVE_EPOCH: i32 = -2;

/// What the last heartbeat carried, field by field (null fields mean "unchanged").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SentFields {
    pub rebalance_timeout_ms: Option<i32>,
    pub subscription: Option<Subscription>,
    pub server_assignor: Option<String>,
    pub rack_id: Option<String>,
    pub owned: Option<BTreeSet<(Uuid, i32)>>,
}

fn s(v: &str) -> String {
    v.to_string()
}

fn topic_partitions(owned: &BTreeSet<(Uuid, i32)>) -> Vec<TopicPartitions> {
    let mut out: Vec<TopicPartitions> = Vec::new();
    for (id, p) in owned {
        match out.last_mut() {
            Some(t) if t.topic_id == *id => t.partitions.push(*p),
            _ => {
                let mut t = TopicPartitions::default();
                t.topic_id = *id;
                t.partitions = vec![*p];
                out.push(t);
            }
        }
    }
    out
}

/// Builds a heartbeat. `sent = None` makes it full. Returns the request and the fields now sent.
pub(crate) fn build(
    cfg: &Kip848Config,
    epoch: i32,
    subscription: &Subscription,
    owned: &BTreeSet<(Uuid, i32)>,
    sent: Option<&SentFields>,
) -> (ConsumerGroupHeartbeatRequest, SentFields) {
    let full = sent.is_none() || epoch == JOIN_EPOCH;
    let prev = sent.cloned().unwrap_or_default();
    let mut req = ConsumerGroupHeartbeatRequest::default();
    req.group_id = s(&cfg.group_id);
    req.member_id = s(&cfg.member_id);
    req.member_epoch = epoch;
    // Sent on every heartbeat: the broker uses it to find static members.
    req.instance_id = cfg.instance_id.as_deref().map(s);

    let timeout = cfg.rebalance_timeout.as_millis().min(i32::MAX as u128) as i32;
    req.rebalance_timeout_ms = if full || prev.rebalance_timeout_ms != Some(timeout) {
        timeout
    } else {
        -1
    };

    if full || prev.rack_id != cfg.rack_id {
        req.rack_id = cfg.rack_id.as_deref().map(s);
    }
    if full || prev.server_assignor != cfg.server_assignor {
        req.server_assignor = cfg.server_assignor.as_deref().map(s);
    }
    if full || prev.subscription.as_ref() != Some(subscription) {
        match subscription {
            Subscription::Topics(names) => {
                req.subscribed_topic_names = Some(names.iter().map(|n| s(n)).collect());
                if matches!(prev.subscription, Some(Subscription::Pattern(_))) {
                    req.subscribed_topic_regex = Some(String::from(""));
                }
            }
            Subscription::Pattern(p) => {
                req.subscribed_topic_regex = Some(s(p));
                if full || matches!(prev.subscription, Some(Subscription::Topics(_))) {
                    req.subscribed_topic_names = Some(Vec::new());
                }
            }
        }
    }
    // A join carries an empty owned set; afterwards the owned set is sent whenever it changed,
    // as `[]` rather than null when empty (a lost response must not leave the broker guessing).
    if epoch == JOIN_EPOCH {
        req.topic_partitions = Some(Vec::new());
    } else if full || prev.owned.as_ref() != Some(owned) {
        req.topic_partitions = Some(topic_partitions(owned));
    }
    let now_sent = SentFields {
        rebalance_timeout_ms: Some(timeout),
        subscription: Some(subscription.clone()),
        server_assignor: cfg.server_assignor.clone(),
        rack_id: cfg.rack_id.clone(),
        owned: Some(if epoch == JOIN_EPOCH {
            BTreeSet::new()
        } else {
            owned.clone()
        }),
    };
    (req, now_sent)
}

/// The leave heartbeat: only the ids and the leave epoch.
pub(crate) fn leave(cfg: &Kip848Config) -> ConsumerGroupHeartbeatRequest {
    let mut req = ConsumerGroupHeartbeatRequest::default();
    req.group_id = s(&cfg.group_id);
    req.member_id = s(&cfg.member_id);
    req.member_epoch = if cfg.instance_id.is_some() {
        STATIC_LEAVE_EPOCH
    } else {
        LEAVE_EPOCH
    };
    req.instance_id = cfg.instance_id.as_deref().map(s);
    req.rebalance_timeout_ms = -1;
    req
}
