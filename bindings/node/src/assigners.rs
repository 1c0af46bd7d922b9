//! Classic assignors under the protocol names KafkaJS members use, so members of this package
//! share classic groups with KafkaJS members (a group's members must agree on a protocol name,
//! and KafkaJS calls round-robin `RoundRobinAssigner` where Java says `roundrobin`). Only the
//! elected leader assigns, so any correct round-robin assignment interoperates.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use kafkit::consumer::assignor::{
    GroupMember, MemberAssignment, PartitionAssigner, RebalanceProtocol, RoundRobinAssigner,
};
use kafkit::TopicPartition;

/// KafkaJS's protocol name for round-robin.
pub(crate) const KAFKAJS_ROUND_ROBIN: &str = "RoundRobinAssigner";

#[derive(Debug)]
struct Renamed {
    name: &'static str,
    inner: Arc<dyn PartitionAssigner>,
}

impl PartitionAssigner for Renamed {
    fn name(&self) -> &str {
        self.name
    }

    fn protocol(&self) -> RebalanceProtocol {
        self.inner.protocol()
    }

    fn user_data(&self, owned: &[TopicPartition], generation: i32) -> Option<Bytes> {
        self.inner.user_data(owned, generation)
    }

    fn assign(
        &self,
        members: &[GroupMember],
        partitions: &BTreeMap<String, i32>,
    ) -> kafkit::Result<BTreeMap<String, MemberAssignment>> {
        self.inner.assign(members, partitions)
    }
}

/// The assignor behind KafkaJS's `PartitionAssigners.roundRobin`.
pub(crate) fn kafkajs_round_robin() -> Arc<dyn PartitionAssigner> {
    Arc::new(Renamed {
        name: KAFKAJS_ROUND_ROBIN,
        inner: Arc::new(RoundRobinAssigner),
    })
}
