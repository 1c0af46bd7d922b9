//! Cluster metadata: brokers, topics, partitions, leaders, topic ids.

pub mod metadata;

pub use metadata::{BrokerInfo, Cluster, ClusterMetadata, PartitionInfo, TopicInfo, TopicSelection};
