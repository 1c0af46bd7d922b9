//! Client-side partition assignors of the classic protocol. The group leader runs the one the
//! group agreed on and hands each member its share through SyncGroup. Built in, with the Java
//! client's names and algorithms so mixed groups agree: `range`, `roundrobin` (KafkaJS's
//! default) and `cooperative-sticky` (KIP-429). Implement [`PartitionAssigner`] for your own.

mod range;
mod roundrobin;
mod sticky;

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

pub use range::RangeAssigner;
pub use roundrobin::RoundRobinAssigner;
pub use sticky::CooperativeStickyAssigner;

pub use super::wire::MemberAssignment;
use crate::error::{Error, Result};
use crate::events::TopicPartition;

/// How members give up partitions in a rebalance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebalanceProtocol {
    /// Every member revokes everything before joining (range, round-robin).
    Eager,
    /// Members keep their partitions across the join; only moved ones are revoked, then the
    /// group rebalances once more to hand them out (KIP-429).
    Cooperative,
}

/// One member as the leader sees it.
#[derive(Debug, Clone)]
pub struct GroupMember {
    /// Member id.
    pub member_id: String,
    /// Static membership id, if any.
    pub instance_id: Option<String>,
    /// Topics it subscribes to.
    pub topics: Vec<String>,
    /// Partitions it owns now (sent by cooperative members).
    pub owned: Vec<TopicPartition>,
    /// Generation of `owned` (-1 unknown).
    pub generation: i32,
    /// What its assignor put in its subscription.
    pub user_data: Option<Bytes>,
    /// Its rack.
    pub rack_id: Option<String>,
}

impl GroupMember {
    /// Java's member order: static members by instance id first, then by member id.
    fn sort_key(&self) -> (bool, &str, &str) {
        (
            self.instance_id.is_none(),
            self.instance_id.as_deref().unwrap_or(""),
            &self.member_id,
        )
    }
}

/// Members in Java's order.
fn sorted(members: &[GroupMember]) -> Vec<&GroupMember> {
    let mut v: Vec<&GroupMember> = members.iter().collect();
    v.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    v
}

/// A partition assignor for classic groups (KafkaJS's `partitionAssigners`).
pub trait PartitionAssigner: Send + Sync + std::fmt::Debug {
    /// The protocol name members agree on (`range`, `roundrobin`, ...).
    fn name(&self) -> &str;

    /// Eager (the default) or cooperative.
    fn protocol(&self) -> RebalanceProtocol {
        RebalanceProtocol::Eager
    }

    /// Data this member puts in its subscription for the leader's assignor.
    fn user_data(&self, _owned: &[TopicPartition], _generation: i32) -> Option<Bytes> {
        None
    }

    /// Shares `partitions` (topic -> partition count, for every subscribed topic that exists)
    /// among `members`. Returns an assignment per member id; members left out get nothing.
    fn assign(
        &self,
        members: &[GroupMember],
        partitions: &BTreeMap<String, i32>,
    ) -> Result<BTreeMap<String, MemberAssignment>>;
}

/// The built-in assigner called `name`.
pub fn builtin(name: &str) -> Result<Arc<dyn PartitionAssigner>> {
    match name {
        "range" => Ok(Arc::new(RangeAssigner)),
        "roundrobin" | "round-robin" | "RoundRobinAssigner" => Ok(Arc::new(RoundRobinAssigner)),
        "cooperative-sticky" => Ok(Arc::new(CooperativeStickyAssigner)),
        other => Err(Error::config(format!(
            "unknown partition assigner '{other}'; use 'range', 'roundrobin', 'cooperative-sticky', or register your own with ConsumerConfig::partition_assigner"
        ))),
    }
}

/// Starts every member with an empty assignment, so each gets an answer.
fn empty_for(members: &[GroupMember]) -> BTreeMap<String, MemberAssignment> {
    members
        .iter()
        .map(|m| (m.member_id.clone(), MemberAssignment::default()))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::BTreeSet;

    pub(crate) fn member(id: &str, topics: &[&str]) -> GroupMember {
        GroupMember {
            member_id: id.into(),
            instance_id: None,
            topics: topics.iter().map(|t| t.to_string()).collect(),
            owned: vec![],
            generation: -1,
            user_data: None,
            rack_id: None,
        }
    }

    pub(crate) fn counts(spec: &[(&str, i32)]) -> BTreeMap<String, i32> {
        spec.iter().map(|(t, n)| (t.to_string(), *n)).collect()
    }

    /// Every partition of a topic someone subscribes to goes to exactly one member that
    /// subscribes to it.
    pub(crate) fn assert_complete_and_disjoint(
        members: &[GroupMember],
        parts: &BTreeMap<String, i32>,
        out: &BTreeMap<String, MemberAssignment>,
    ) {
        let mut seen = BTreeSet::new();
        for m in members {
            for tp in &out[&m.member_id].partitions {
                assert!(
                    m.topics.contains(&tp.topic),
                    "{tp} given to a non-subscriber"
                );
                assert!(seen.insert(tp.clone()), "{tp} given twice");
            }
        }
        for (t, n) in parts {
            if members.iter().any(|m| m.topics.contains(t)) {
                for p in 0..*n {
                    assert!(
                        seen.contains(&TopicPartition::new(t.clone(), p)),
                        "{t}-{p} unassigned"
                    );
                }
            }
        }
    }

    #[test]
    fn unknown_names_are_config_errors() {
        let e = builtin("sticky-ish").unwrap_err();
        assert!(
            e.to_string()
                .contains("'range', 'roundrobin', 'cooperative-sticky'"),
            "{e}"
        );
        assert_eq!(builtin("roundrobin").unwrap().name(), "roundrobin");
    }
}
