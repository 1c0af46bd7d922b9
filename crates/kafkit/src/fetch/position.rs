//! Where a partition is read from, and what a fetch asks of it.

use uuid::Uuid;

use crate::events::TopicPartition;

/// Where a partition is read from next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchPosition {
    /// Next offset to read.
    pub offset: i64,
    /// The leader epoch metadata knows (lets the broker detect a stale leader: FENCED_LEADER_EPOCH).
    pub current_leader_epoch: i32,
    /// The leader epoch of the record before `offset` (-1: unknown). The leader checks it
    /// against its log (Fetch v12+) and answers with a diverging epoch when the log was
    /// truncated under the consumer by an unclean leader election (KIP-320).
    pub last_fetched_epoch: i32,
}

/// A partition to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchTarget {
    /// Partition.
    pub partition: TopicPartition,
    /// Its topic id (Fetch v13+ names topics by id).
    pub topic_id: Uuid,
    /// Position.
    pub position: FetchPosition,
    /// Bytes of this partition to return at most.
    pub max_bytes: i32,
}
