//! `cooperative-sticky` (KIP-429, Java's CooperativeStickyAssignor): members keep what they
//! own as far as balance allows; the rest goes to the least-loaded subscriber. A partition
//! that moves away from a member that still owns it is left out of this round: its owner
//! revokes it, rejoins, and the next round hands it to its new owner, so no partition is ever
//! owned twice.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::Bytes;

use super::{
    empty_for, sorted, GroupMember, MemberAssignment, PartitionAssigner, RebalanceProtocol,
};
use crate::error::Result;
use crate::events::TopicPartition;

/// The cooperative sticky assignor.
#[derive(Debug, Clone, Copy, Default)]
pub struct CooperativeStickyAssigner;

impl PartitionAssigner for CooperativeStickyAssigner {
    fn name(&self) -> &str {
        "cooperative-sticky"
    }

    fn protocol(&self) -> RebalanceProtocol {
        RebalanceProtocol::Cooperative
    }

    /// The generation as 4 bytes, as the Java client writes it for leaders that predate the
    /// subscription's own generation field.
    fn user_data(&self, _owned: &[TopicPartition], generation: i32) -> Option<Bytes> {
        Some(Bytes::copy_from_slice(&generation.to_be_bytes()))
    }

    fn assign(
        &self,
        members: &[GroupMember],
        partitions: &BTreeMap<String, i32>,
    ) -> Result<BTreeMap<String, MemberAssignment>> {
        let order = sorted(members);
        let exists = |tp: &TopicPartition| {
            partitions
                .get(&tp.topic)
                .is_some_and(|&n| tp.partition >= 0 && tp.partition < n)
        };
        // Who owns what now: on conflicting claims the newest generation wins.
        let mut prev_owner: HashMap<TopicPartition, (i32, usize)> = HashMap::new();
        for (i, m) in order.iter().enumerate() {
            for tp in m.owned.iter().filter(|tp| exists(tp)) {
                let claim = (member_generation(m), i);
                match prev_owner.get(tp) {
                    Some(&(g, _)) if g >= claim.0 => {}
                    _ => {
                        prev_owner.insert(tp.clone(), claim);
                    }
                }
            }
        }
        // Start from what each member validly owns (still subscribed).
        let mut current: Vec<Vec<TopicPartition>> = vec![Vec::new(); order.len()];
        let mut taken: BTreeSet<TopicPartition> = BTreeSet::new();
        let mut owned_sorted: Vec<(&TopicPartition, usize)> =
            prev_owner.iter().map(|(tp, &(_, i))| (tp, i)).collect();
        owned_sorted.sort();
        for (tp, i) in owned_sorted {
            if order[i].topics.contains(&tp.topic) {
                current[i].push(tp.clone());
                taken.insert(tp.clone());
            }
        }
        // The rest, in order, to the least-loaded subscriber.
        for (topic, &count) in partitions {
            let eligible: Vec<usize> = (0..order.len())
                .filter(|&i| order[i].topics.contains(topic))
                .collect();
            if eligible.is_empty() {
                continue;
            }
            for p in 0..count.max(0) {
                let tp = TopicPartition::new(topic.clone(), p);
                if taken.contains(&tp) {
                    continue;
                }
                let i = *eligible
                    .iter()
                    .min_by_key(|&&i| (current[i].len(), i))
                    .expect("eligible is not empty");
                current[i].push(tp.clone());
                taken.insert(tp);
            }
        }
        rebalance(&order, &mut current);
        // Moved partitions wait one round while their old owner revokes them.
        let mut out = empty_for(members);
        for (i, m) in order.iter().enumerate() {
            let a = out
                .get_mut(&m.member_id)
                .expect("every member has an entry");
            a.partitions = current[i]
                .iter()
                .filter(|tp| prev_owner.get(*tp).is_none_or(|&(_, owner)| owner == i))
                .cloned()
                .collect();
            a.partitions.sort();
        }
        Ok(out)
    }
}

/// The generation a member's owned partitions come from: the subscription field, or the
/// 4-byte user data older Java clients send.
fn member_generation(m: &GroupMember) -> i32 {
    if m.generation >= 0 {
        return m.generation;
    }
    match m.user_data.as_deref() {
        Some(d) if d.len() >= 4 => i32::from_be_bytes([d[0], d[1], d[2], d[3]]),
        _ => -1,
    }
}

/// Moves partitions from the most to the least loaded members until no move narrows the
/// spread (each move lowers the sum of squared loads, so this ends). Partitions given out
/// last move first, so owned ones stay where they are when they can.
fn rebalance(order: &[&GroupMember], current: &mut [Vec<TopicPartition>]) {
    let bound = current.iter().map(Vec::len).sum::<usize>() * order.len() + 1;
    for _ in 0..bound {
        let mut moved = false;
        let mut by_load: Vec<usize> = (0..order.len()).collect();
        by_load.sort_by_key(|&i| std::cmp::Reverse((current[i].len(), std::cmp::Reverse(i))));
        'from: for &from in &by_load {
            for k in (0..current[from].len()).rev() {
                let topic = &current[from][k].topic;
                let to = (0..order.len())
                    .filter(|&j| j != from && order[j].topics.contains(topic))
                    .filter(|&j| current[j].len() + 1 < current[from].len())
                    .min_by_key(|&j| (current[j].len(), j));
                if let Some(to) = to {
                    let tp = current[from].remove(k);
                    current[to].push(tp);
                    moved = true;
                    break 'from;
                }
            }
        }
        if !moved {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_complete_and_disjoint, counts, member};
    use super::*;
    use proptest::prelude::*;

    fn owning(id: &str, topics: &[&str], owned: &[(&str, i32)], generation: i32) -> GroupMember {
        let mut m = member(id, topics);
        m.owned = owned
            .iter()
            .map(|(t, p)| TopicPartition::new(*t, *p))
            .collect();
        m.generation = generation;
        m
    }

    #[test]
    fn a_joiner_waits_for_partitions_their_owners_still_hold() {
        let ms = vec![
            owning("a", &["t"], &[("t", 0), ("t", 1), ("t", 2)], 3),
            owning("b", &["t"], &[("t", 3), ("t", 4), ("t", 5)], 3),
            member("c", &["t"]),
        ];
        let parts = counts(&[("t", 6)]);
        let out = CooperativeStickyAssigner.assign(&ms, &parts).unwrap();
        // a and b each give one up; c gets nothing this round.
        assert_eq!(out["a"].partitions.len(), 2);
        assert_eq!(out["b"].partitions.len(), 2);
        assert!(out["c"].partitions.is_empty());
        // The next round (a and b no longer own what they gave up) completes it.
        let ms2 = vec![
            owning(
                "a",
                &["t"],
                &out["a"]
                    .partitions
                    .iter()
                    .map(|t| ("t", t.partition))
                    .collect::<Vec<_>>(),
                4,
            ),
            owning(
                "b",
                &["t"],
                &out["b"]
                    .partitions
                    .iter()
                    .map(|t| ("t", t.partition))
                    .collect::<Vec<_>>(),
                4,
            ),
            member("c", &["t"]),
        ];
        let out2 = CooperativeStickyAssigner.assign(&ms2, &parts).unwrap();
        assert_complete_and_disjoint(&ms2, &parts, &out2);
        assert_eq!(
            out2["a"].partitions, out["a"].partitions,
            "a keeps what it kept"
        );
        assert_eq!(out2["c"].partitions.len(), 2);
    }

    #[test]
    fn the_newest_generation_wins_a_conflicting_claim() {
        let ms = vec![
            owning("a", &["t"], &[("t", 0)], 1),
            owning("b", &["t"], &[("t", 0)], 2),
        ];
        let out = CooperativeStickyAssigner
            .assign(&ms, &counts(&[("t", 2)]))
            .unwrap();
        assert_eq!(out["b"].partitions, vec![TopicPartition::new("t", 0)]);
    }

    #[test]
    fn java_user_data_carries_the_generation() {
        let mut m = member("a", &["t"]);
        m.user_data = CooperativeStickyAssigner.user_data(&[], 7);
        assert_eq!(member_generation(&m), 7);
    }

    proptest! {
        /// From any prior ownership (overlaps included), two rounds give a complete, disjoint,
        /// balanced assignment, and nobody is handed a partition another member still owns.
        #[test]
        fn two_rounds_converge(n in 1..40i32, m in 1..7usize,
                               prior in proptest::collection::vec((0..8usize, 0..40i32), 0..40)) {
            let parts = counts(&[("t", n)]);
            let mut ms: Vec<GroupMember> = (0..m).map(|i| member(&format!("m{i}"), &["t"])).collect();
            for (who, p) in prior {
                if who < m && p < n {
                    ms[who].owned.push(TopicPartition::new("t", p));
                    ms[who].generation = 1;
                }
            }
            let out = CooperativeStickyAssigner.assign(&ms, &parts).unwrap();
            for mem in &ms {
                for tp in &out[&mem.member_id].partitions {
                    for other in ms.iter().filter(|o| o.member_id != mem.member_id) {
                        if other.owned.contains(tp) {
                            // Only allowed if `mem` also claimed it (a conflict it won).
                            prop_assert!(mem.owned.contains(tp));
                        }
                    }
                }
            }
            for mem in ms.iter_mut() {
                mem.owned = out[&mem.member_id].partitions.clone();
                mem.generation = 2;
            }
            let out2 = CooperativeStickyAssigner.assign(&ms, &parts).unwrap();
            assert_complete_and_disjoint(&ms, &parts, &out2);
            let sizes: Vec<usize> = out2.values().map(|a| a.partitions.len()).collect();
            prop_assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
            for mem in &ms {
                for tp in &mem.owned {
                    // Stickiness: a second round moves nothing already balanced.
                    prop_assert!(out2[&mem.member_id].partitions.contains(tp));
                }
            }
        }
    }
}
