//! `--exit-at-end` (kcat's `-e`): which partitions have reached the end they had when reading
//! them began. Reading without a group, the partitions are fixed; a group member's follow its
//! assignment, each partition's end taken when it is first seen assigned.

use std::collections::{BTreeMap, BTreeSet};

use kafkit::consumer::Consumer;
use kafkit::TopicPartition;

/// The partitions read, their ends, and those that have reached them.
#[derive(Debug, Default)]
pub struct Ends {
    ends: BTreeMap<TopicPartition, i64>,
    reached: BTreeSet<TopicPartition>,
    follow_assignment: bool,
}

impl Ends {
    /// For these partitions, read without joining a group: their ends now.
    pub async fn fixed(consumer: &Consumer, tps: &[TopicPartition]) -> kafkit::Result<Ends> {
        Ok(Ends {
            ends: consumer.end_offsets(tps).await?.into_iter().collect(),
            ..Ends::default()
        })
    }

    /// For a group member: the partitions come with its assignment, at each [`Ends::check`].
    pub fn following_assignment() -> Ends {
        Ends {
            follow_assignment: true,
            ..Ends::default()
        }
    }

    /// Notes a record printed from `tp` at `offset`.
    pub fn printed(&mut self, tp: &TopicPartition, offset: i64) {
        if self
            .ends
            .get(tp)
            .is_some_and(|end| offset.saturating_add(1) >= *end)
        {
            self.reached.insert(tp.clone());
        }
    }

    /// Follows the assignment (a group member), then notes the partitions whose position has
    /// reached their end: empty ones, those that started at their end, those whose last
    /// offsets are transaction markers.
    pub async fn check(&mut self, consumer: &Consumer) -> kafkit::Result<()> {
        if self.follow_assignment {
            let now: BTreeSet<TopicPartition> = consumer.assignment().await?.into_iter().collect();
            self.ends.retain(|tp, _| now.contains(tp));
            self.reached.retain(|tp| now.contains(tp));
            let new: Vec<TopicPartition> = now
                .into_iter()
                .filter(|tp| !self.ends.contains_key(tp))
                .collect();
            if !new.is_empty() {
                self.ends.extend(consumer.end_offsets(&new).await?);
            }
        }
        for (tp, end) in &self.ends {
            if !self.reached.contains(tp) && consumer.position(tp).await?.is_some_and(|p| p >= *end)
            {
                self.reached.insert(tp.clone());
            }
        }
        Ok(())
    }

    /// Whether there are partitions and every one has reached its end (a member with no
    /// partitions waits for some).
    pub fn all_reached(&self) -> bool {
        !self.ends.is_empty() && self.ends.keys().all(|tp| self.reached.contains(tp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_partition_must_reach_its_end() {
        let tp = |p| TopicPartition::new("t", p);
        let mut e = Ends {
            ends: BTreeMap::from([(tp(0), 3), (tp(1), 1)]),
            ..Ends::default()
        };
        assert!(!e.all_reached());
        e.printed(&tp(0), 1);
        e.printed(&tp(1), 0);
        assert!(!e.all_reached());
        e.printed(&tp(0), 2);
        assert!(e.all_reached());
        // A partition not read, and an offset at the edge of i64, change nothing or panic.
        e.printed(&tp(9), i64::MAX);
        assert!(e.all_reached());
        assert!(!Ends::following_assignment().all_reached());
    }
}
