//! Cluster metadata: brokers, topics, partitions, leaders, topic ids.

pub mod coordinator;
pub mod metadata;
pub(crate) mod producer_id;
mod wait;

pub use coordinator::CoordinatorType;
pub use metadata::{
    BrokerInfo, Cluster, ClusterMetadata, PartitionInfo, TopicInfo, TopicSelection,
};
pub(crate) use wait::TopicWait;
