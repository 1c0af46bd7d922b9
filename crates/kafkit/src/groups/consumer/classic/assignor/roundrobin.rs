//! `roundrobin` (Java's RoundRobinAssignor, KafkaJS's default): every partition, sorted by
//! topic then number, goes to the next member in member order that subscribes to its topic.

use std::collections::BTreeMap;

use super::{empty_for, sorted, GroupMember, MemberAssignment, PartitionAssigner};
use crate::error::Result;
use crate::events::TopicPartition;

/// The round-robin assignor.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoundRobinAssigner;

impl PartitionAssigner for RoundRobinAssigner {
    fn name(&self) -> &str {
        "roundrobin"
    }

    fn assign(
        &self,
        members: &[GroupMember],
        partitions: &BTreeMap<String, i32>,
    ) -> Result<BTreeMap<String, MemberAssignment>> {
        let mut out = empty_for(members);
        let order = sorted(members);
        if order.is_empty() {
            return Ok(out);
        }
        let mut next = 0usize;
        for (topic, &count) in partitions {
            if !order.iter().any(|m| m.topics.contains(topic)) {
                continue;
            }
            for p in 0..count.max(0) {
                // Some member subscribes, so this ends within one turn of the circle.
                while !order[next % order.len()].topics.contains(topic) {
                    next += 1;
                }
                let id = &order[next % order.len()].member_id;
                next += 1;
                out.get_mut(id)
                    .expect("every member has an entry")
                    .partitions
                    .push(TopicPartition::new(topic.clone(), p));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_complete_and_disjoint, counts, member};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn partitions_go_round_skipping_non_subscribers() {
        let ms = vec![
            member("a", &["t", "u"]),
            member("b", &["t"]),
            member("c", &["u"]),
        ];
        let parts = counts(&[("t", 3), ("u", 3)]);
        let out = RoundRobinAssigner.assign(&ms, &parts).unwrap();
        let ps = |id: &str| -> Vec<String> {
            out[id].partitions.iter().map(|t| t.to_string()).collect()
        };
        assert_eq!(ps("a"), ["t-0", "t-2", "u-1"]);
        assert_eq!(ps("b"), ["t-1"]);
        assert_eq!(ps("c"), ["u-0", "u-2"]);
    }

    proptest! {
        #[test]
        fn complete_disjoint_and_balanced_for_one_topic(n in 0..60i32, m in 1..9usize) {
            let ms: Vec<_> = (0..m).map(|i| member(&format!("m{i:02}"), &["t"])).collect();
            let parts = counts(&[("t", n)]);
            let out = RoundRobinAssigner.assign(&ms, &parts).unwrap();
            assert_complete_and_disjoint(&ms, &parts, &out);
            let sizes: Vec<usize> = out.values().map(|a| a.partitions.len()).collect();
            prop_assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
        }
    }
}
