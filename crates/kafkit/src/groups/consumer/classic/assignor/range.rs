//! `range` (Java's RangeAssignor): per topic, consecutive partition ranges to the members
//! subscribed to it in member order; the first `n % m` members get one extra.

use std::collections::BTreeMap;

use super::{empty_for, sorted, GroupMember, MemberAssignment, PartitionAssigner};
use crate::error::Result;
use crate::events::TopicPartition;

/// The range assignor.
#[derive(Debug, Clone, Copy, Default)]
pub struct RangeAssigner;

impl PartitionAssigner for RangeAssigner {
    fn name(&self) -> &str {
        "range"
    }

    fn assign(
        &self,
        members: &[GroupMember],
        partitions: &BTreeMap<String, i32>,
    ) -> Result<BTreeMap<String, MemberAssignment>> {
        let mut out = empty_for(members);
        let order = sorted(members);
        for (topic, &count) in partitions {
            let subs: Vec<&&GroupMember> =
                order.iter().filter(|m| m.topics.contains(topic)).collect();
            if subs.is_empty() || count <= 0 {
                continue;
            }
            let m = subs.len() as i32;
            let (each, extra) = (count / m, count % m);
            for (i, member) in subs.iter().enumerate() {
                let i = i as i32;
                let start = each * i + i.min(extra);
                let len = each + i32::from(i < extra);
                let a = out
                    .get_mut(&member.member_id)
                    .expect("every member has an entry");
                a.partitions
                    .extend((start..start + len).map(|p| TopicPartition::new(topic.clone(), p)));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_complete_and_disjoint, counts, member};
    use super::*;

    #[test]
    fn ranges_follow_member_order_with_extras_first() {
        let ms = vec![
            member("b", &["t"]),
            member("a", &["t"]),
            member("c", &["t", "u"]),
        ];
        let parts = counts(&[("t", 7), ("u", 2)]);
        let out = RangeAssigner.assign(&ms, &parts).unwrap();
        let ps = |id: &str| -> Vec<String> {
            out[id].partitions.iter().map(|t| t.to_string()).collect()
        };
        assert_eq!(ps("a"), ["t-0", "t-1", "t-2"]);
        assert_eq!(ps("b"), ["t-3", "t-4"]);
        assert_eq!(ps("c"), ["t-5", "t-6", "u-0", "u-1"]);
        assert_complete_and_disjoint(&ms, &parts, &out);
    }
}

#[cfg(test)]
mod props {
    use super::super::tests::{assert_complete_and_disjoint, counts, member};
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn complete_and_disjoint_with_mixed_subscriptions(
            subs in proptest::collection::vec((any::<bool>(), any::<bool>()), 1..8),
            nt in 0..20i32, nu in 0..20i32) {
            let ms: Vec<_> = subs.iter().enumerate().map(|(i, (t, u))| {
                let mut topics = vec![];
                if *t { topics.push("t"); }
                if *u { topics.push("u"); }
                member(&format!("m{i}"), &topics)
            }).collect();
            let parts = counts(&[("t", nt), ("u", nu)]);
            let out = RangeAssigner.assign(&ms, &parts).unwrap();
            assert_complete_and_disjoint(&ms, &parts, &out);
        }
    }
}
