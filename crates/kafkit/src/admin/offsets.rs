//! List offsets: the earliest, the latest, the first at or after a timestamp, and the one of
//! the record with the largest timestamp (KIP-734), per partition, from each leader.

use std::collections::BTreeMap;

use crate::protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use crate::protocol::messages::ListOffsetsRequest;

use super::{topic_name, Admin};
use crate::cluster::TopicSelection;
use crate::error::{Error, ErrorKind, ResponseError, Result};
use crate::events::TopicPartition;

/// Which offset `list_offsets` looks up.
///
/// ```
/// use kafkit::admin::OffsetSpec;
/// assert_eq!("earliest".parse::<OffsetSpec>().unwrap(), OffsetSpec::Earliest);
/// assert_eq!("1700000000000".parse::<OffsetSpec>().unwrap(), OffsetSpec::Timestamp(1_700_000_000_000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The end offset (high watermark; last stable offset when read committed).
    Latest,
    /// The offset of the record with the largest timestamp (and that timestamp).
    MaxTimestamp,
    /// The first offset whose timestamp is at or after this one (ms since the epoch); the end
    /// offset (offset -1 from old brokers) when every record is older.
    Timestamp(i64),
}

impl OffsetSpec {
    fn wire(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::MaxTimestamp => -3,
            OffsetSpec::Timestamp(t) => t,
        }
    }
}

impl std::str::FromStr for OffsetSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "earliest" => Ok(OffsetSpec::Earliest),
            "latest" => Ok(OffsetSpec::Latest),
            "max-timestamp" | "max_timestamp" => Ok(OffsetSpec::MaxTimestamp),
            t => t.parse::<i64>().ok().filter(|t| *t >= 0).map(OffsetSpec::Timestamp).ok_or_else(|| {
                Error::config(format!(
                    "'{s}' is not an offset spec; use earliest, latest, max-timestamp or a timestamp in ms since the epoch"
                ))
            }),
        }
    }
}

/// One partition's answer.
///
/// ```no_run
/// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
/// use kafkit::{admin::OffsetSpec, TopicPartition};
/// let o = &admin.list_offsets(&[TopicPartition::new("orders", 0)], OffsetSpec::Latest, false).await?[0];
/// println!("{} ends at {}", o.partition, o.offset);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedOffset {
    /// Partition.
    pub partition: TopicPartition,
    /// The offset (-1 when there is none, e.g. a timestamp after every record on old brokers).
    pub offset: i64,
    /// The record's timestamp for timestamp lookups, -1 otherwise.
    pub timestamp: i64,
    /// Leader epoch of the offset, -1 if unknown.
    pub leader_epoch: i32,
}

impl Admin {
    /// The leader of each partition, topics' metadata refreshed first; a partition without one
    /// fails with `LEADER_NOT_AVAILABLE` (or `UNKNOWN_TOPIC_OR_PARTITION`), naming it.
    pub(crate) async fn leaders(
        &self,
        partitions: &[TopicPartition],
        operation: &'static str,
    ) -> Result<BTreeMap<i32, BTreeMap<String, Vec<i32>>>> {
        let mut topics: Vec<String> = partitions.iter().map(|tp| tp.topic.clone()).collect();
        topics.sort();
        topics.dedup();
        let snap = self
            .kafka
            .cluster()
            .refresh(TopicSelection::Names(topics))
            .await?;
        let mut out: BTreeMap<i32, BTreeMap<String, Vec<i32>>> = BTreeMap::new();
        for tp in partitions {
            let topic = snap.topic(&tp.topic).ok_or_else(|| {
                Error::new(
                    ErrorKind::Kafka(ResponseError::UnknownTopicOrPartition),
                    operation,
                    format!("topic '{}' does not exist", tp.topic),
                )
            })?;
            let p = topic.partition(tp.partition).ok_or_else(|| {
                Error::new(
                    ErrorKind::Kafka(ResponseError::UnknownTopicOrPartition),
                    operation,
                    format!(
                        "{tp}: topic '{}' has {} partitions",
                        tp.topic,
                        topic.partitions.len()
                    ),
                )
            })?;
            if p.leader < 0 {
                return Err(Error::new(
                    ErrorKind::Kafka(ResponseError::LeaderNotAvailable),
                    operation,
                    format!("{tp} has no leader now; retry once the cluster elects one"),
                ));
            }
            let parts = out
                .entry(p.leader)
                .or_default()
                .entry(tp.topic.clone())
                .or_default();
            if !parts.contains(&tp.partition) {
                parts.push(tp.partition);
            }
        }
        Ok(out)
    }

    /// The offset `spec` names on each partition, asked of its leader, sorted by partition.
    /// `read_committed` makes `Latest` the last stable offset (before open transactions).
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// use kafkit::{admin::OffsetSpec, TopicPartition};
    /// let an_hour_ago = 1_700_000_000_000;
    /// for o in admin
    ///     .list_offsets(&[TopicPartition::new("orders", 0)], OffsetSpec::Timestamp(an_hour_ago), false)
    ///     .await?
    /// {
    ///     println!("{}: {}", o.partition, o.offset);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_offsets(
        &self,
        partitions: &[TopicPartition],
        spec: OffsetSpec,
        read_committed: bool,
    ) -> Result<Vec<ListedOffset>> {
        if let OffsetSpec::Timestamp(t) = spec {
            if t < 0 {
                return Err(Error::config(format!(
                    "timestamp {t} is negative; give ms since the epoch (or use Earliest/Latest)"
                )));
            }
        }
        let mut out = Vec::with_capacity(partitions.len());
        for (leader, topics) in self.leaders(partitions, "list_offsets").await? {
            let conn = self.broker(leader).await?;
            let mut req = ListOffsetsRequest::default();
            req.replica_id = -1;
            req.isolation_level = i8::from(read_committed);
            req.timeout_ms = self.timeout_ms();
            req.topics = topics
                .iter()
                .map(|(t, parts)| {
                    let mut lt = ListOffsetsTopic::default();
                    lt.name = topic_name(t);
                    lt.partitions = parts
                        .iter()
                        .map(|p| {
                            let mut lp = ListOffsetsPartition::default();
                            lp.partition_index = *p;
                            lp.current_leader_epoch = -1;
                            lp.timestamp = spec.wire();
                            lp
                        })
                        .collect();
                    lt
                })
                .collect();
            let version = conn.version::<ListOffsetsRequest>()?;
            if spec == OffsetSpec::MaxTimestamp && version < 7 {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "list_offsets",
                    format!("broker {leader} answers ListOffsets up to v{version}; the max-timestamp lookup needs v7 (Kafka 3.0+)"),
                ));
            }
            let resp = conn
                .send_version(&req, version)
                .await
                .map_err(|e| e.during("list_offsets"))?;
            for t in resp.topics {
                for p in t.partitions {
                    let tp = TopicPartition::new(t.name.to_string(), p.partition_index);
                    if let Some(e) = Error::from_code(p.error_code, "list_offsets", tp.to_string())
                    {
                        if e.needs_metadata_refresh() {
                            self.kafka.cluster().invalidate();
                        }
                        return Err(e);
                    }
                    out.push(ListedOffset {
                        partition: tp,
                        offset: p.offset,
                        timestamp: p.timestamp,
                        leader_epoch: p.leader_epoch,
                    });
                }
            }
        }
        out.sort_by(|a, b| a.partition.cmp(&b.partition));
        Ok(out)
    }

    /// Every partition of `topic`, for calls that take partitions.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// use kafkit::admin::OffsetSpec;
    /// let parts = admin.partitions_of("orders").await?;
    /// let ends = admin.list_offsets(&parts, OffsetSpec::Latest, false).await?;
    /// # Ok(()) }
    /// ```
    pub async fn partitions_of(&self, topic: &str) -> Result<Vec<TopicPartition>> {
        let meta = self.describe_topics(&[topic]).await?;
        let mut out: Vec<TopicPartition> = meta
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(|p| TopicPartition::new(t.name.clone(), p.partition))
            })
            .collect();
        out.sort();
        Ok(out)
    }
}
