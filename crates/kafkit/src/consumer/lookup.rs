//! Offset lookups a consumer offers: the log's beginning and end, the offsets for times
//! (ListOffsets, under the consumer's isolation level), and a group's committed offsets
//! (OffsetFetch, read-only).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::config::IsolationLevel;
use super::Consumer;
use crate::cluster::coordinator::connect_coordinator;
use crate::cluster::CoordinatorType;
use crate::error::{Error, Result};
use crate::events::TopicPartition;
use crate::groups::offsets::{self, Committer};
use crate::net::Lane;

impl Consumer {
    /// The earliest offset of each partition.
    ///
    /// ```no_run
    /// # async fn demo(consumer: kafkit::consumer::Consumer) -> kafkit::Result<()> {
    /// let tp = kafkit::TopicPartition::new("orders", 0);
    /// let first = consumer.beginning_offsets(&[tp.clone()]).await?[&tp];
    /// # Ok(()) }
    /// ```
    pub async fn beginning_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, i64>> {
        list(self, partitions, offsets::EARLIEST).await
    }

    /// The offset after the last record of each partition: the high watermark, or under
    /// `read_committed` (the default) the last stable offset, below any open transaction.
    ///
    /// ```no_run
    /// # async fn demo(consumer: kafkit::consumer::Consumer) -> kafkit::Result<()> {
    /// let tp = kafkit::TopicPartition::new("orders", 0);
    /// let ends = consumer.end_offsets(&[tp.clone()]).await?;
    /// println!("orders-0 ends at {}", ends[&tp]);
    /// # Ok(()) }
    /// ```
    pub async fn end_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, i64>> {
        list(self, partitions, offsets::LATEST).await
    }

    /// For each partition, its first record with a timestamp at or after the given one (ms
    /// since the epoch): that record's offset and timestamp (Java's `OffsetAndTimestamp`);
    /// `None` when it has no such record.
    ///
    /// ```no_run
    /// # async fn demo(consumer: kafkit::consumer::Consumer) -> kafkit::Result<()> {
    /// let tp = kafkit::TopicPartition::new("orders", 0);
    /// let found = consumer.offsets_for_times(&[(tp.clone(), 1_700_000_000_000)]).await?;
    /// if let Some(at) = found[&tp] {
    ///     println!("first record since then: offset {}, written at {}", at.offset, at.timestamp);
    ///     consumer.seek(tp, at.offset)?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn offsets_for_times(
        &self,
        times: &[(TopicPartition, i64)],
    ) -> Result<HashMap<TopicPartition, Option<OffsetAndTimestamp>>> {
        if let Some((tp, t)) = times.iter().find(|(_, t)| *t < 0) {
            return Err(Error::config(format!(
                "offsets_for_times needs timestamps in ms since the epoch (got {t} for {tp})"
            )));
        }
        let mut by_time: BTreeMap<i64, Vec<TopicPartition>> = BTreeMap::new();
        for (tp, t) in times {
            by_time.entry(*t).or_default().push(tp.clone());
        }
        let mut out = HashMap::new();
        for (t, tps) in by_time {
            let found = list_found(self, &tps, t).await?;
            out.extend(
                found
                    .into_iter()
                    .map(|(tp, f)| (tp, OffsetAndTimestamp::from_found(f))),
            );
        }
        Ok(out)
    }

    /// The offsets committed for these partitions in this consumer's group (`None`: nothing
    /// committed), read-only. A consumer of assigned partitions reads the group its config
    /// names; one without a group has none to read.
    ///
    /// ```no_run
    /// # async fn demo(kafka: kafkit::Kafka) -> kafkit::Result<()> {
    /// use kafkit::consumer::ConsumerConfig;
    /// // Reads where group "billing" stands, without joining it.
    /// let consumer = kafka.assigned_consumer(ConsumerConfig::new("billing").auto_commit(false))?;
    /// let tp = kafkit::TopicPartition::new("orders", 0);
    /// let committed = consumer.committed(&[tp.clone()]).await?;
    /// println!("billing is at {:?} on orders-0", committed[&tp]);
    /// # Ok(()) }
    /// ```
    pub async fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, Option<i64>>> {
        let group = &self.inner.config.group_id;
        if group.is_empty() {
            return Err(Error::config(
                "committed needs a group to read: this consumer has none (make it with ConsumerConfig::new(group))",
            ));
        }
        let kafka = &self.inner.kafka;
        let (_, conn) =
            connect_coordinator(kafka.pool(), CoordinatorType::Group, group, Lane::Group).await?;
        let who = Committer {
            group_id: group,
            member_id: "",
            epoch: -1,
            instance_id: None,
        };
        let found =
            offsets::fetch_committed(&conn, &who, partitions, true, &kafka.cluster().snapshot())
                .await?;
        Ok(partitions
            .iter()
            .map(|tp| {
                let at = found.get(tp).copied().flatten().map(|(o, _)| o);
                (tp.clone(), at)
            })
            .collect())
    }
}

/// A record [`Consumer::offsets_for_times`] found: its offset and timestamp, as Java's
/// `OffsetAndTimestamp`.
///
/// ```no_run
/// # async fn demo(consumer: kafkit::consumer::Consumer) -> kafkit::Result<()> {
/// use kafkit::consumer::OffsetAndTimestamp;
/// let tp = kafkit::TopicPartition::new("orders", 0);
/// let found: Option<OffsetAndTimestamp> =
///     consumer.offsets_for_times(&[(tp.clone(), 1_700_000_000_000)]).await?[&tp];
/// if let Some(OffsetAndTimestamp { offset, timestamp, .. }) = found {
///     println!("orders-0@{offset} at {timestamp} ms");
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetAndTimestamp {
    /// Offset of the record.
    pub offset: i64,
    /// Its timestamp (ms since the epoch): at or after the one asked for.
    pub timestamp: i64,
    /// Leader epoch of the offset, when the broker says.
    pub leader_epoch: Option<i32>,
}

impl OffsetAndTimestamp {
    /// What ListOffsets found, `None` when it found no record (offset -1).
    fn from_found(f: offsets::Found) -> Option<Self> {
        (f.offset >= 0).then_some(OffsetAndTimestamp {
            offset: f.offset,
            timestamp: f.timestamp,
            leader_epoch: (f.leader_epoch >= 0).then_some(f.leader_epoch),
        })
    }
}

/// ListOffsets for `timestamp` (or EARLIEST / LATEST) under the consumer's isolation level,
/// after waiting for the topics' metadata, retried while leaders move.
pub(super) async fn list(
    consumer: &Consumer,
    partitions: &[TopicPartition],
    timestamp: i64,
) -> Result<HashMap<TopicPartition, i64>> {
    let found = list_found(consumer, partitions, timestamp).await?;
    Ok(found.into_iter().map(|(tp, f)| (tp, f.offset)).collect())
}

/// As [`list`], with each offset's timestamp and leader epoch.
async fn list_found(
    consumer: &Consumer,
    partitions: &[TopicPartition],
    timestamp: i64,
) -> Result<HashMap<TopicPartition, offsets::Found>> {
    if partitions.is_empty() {
        return Ok(HashMap::new());
    }
    let kafka = &consumer.inner.kafka;
    let read_committed = consumer.inner.config.isolation_level == IsolationLevel::ReadCommitted;
    let retry = &kafka.config().retry;
    let topics: BTreeSet<&str> = partitions.iter().map(|t| t.topic.as_str()).collect();
    for topic in topics {
        kafka
            .cluster()
            .wait_for_topic(topic, kafka.config().request_timeout)
            .await?;
    }
    let mut attempt = 0;
    loop {
        match offsets::list_offsets_found(kafka, partitions, timestamp, read_committed).await {
            Err(e) if e.is_retriable() && attempt < retry.retries => {
                attempt += 1;
                kafka.cluster().wait_refreshed(retry.backoff(attempt)).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_records_carry_offset_and_timestamp() {
        let f = |offset, timestamp, leader_epoch| offsets::Found {
            offset,
            timestamp,
            leader_epoch,
        };
        assert_eq!(
            OffsetAndTimestamp::from_found(f(4, 1_700_000_003_500, 7)),
            Some(OffsetAndTimestamp {
                offset: 4,
                timestamp: 1_700_000_003_500,
                leader_epoch: Some(7),
            })
        );
        assert_eq!(
            OffsetAndTimestamp::from_found(f(0, 5, -1)).map(|o| o.leader_epoch),
            Some(None)
        );
        assert_eq!(OffsetAndTimestamp::from_found(f(-1, -1, -1)), None);
    }
}
