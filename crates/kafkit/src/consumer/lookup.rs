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

    /// For each partition, the offset of its first record with a timestamp at or after the
    /// given one (ms since the epoch); `None` when it has no such record.
    ///
    /// ```no_run
    /// # async fn demo(consumer: kafkit::consumer::Consumer) -> kafkit::Result<()> {
    /// let tp = kafkit::TopicPartition::new("orders", 0);
    /// let found = consumer.offsets_for_times(&[(tp.clone(), 1_700_000_000_000)]).await?;
    /// if let Some(offset) = found[&tp] {
    ///     consumer.seek(tp, offset)?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn offsets_for_times(
        &self,
        times: &[(TopicPartition, i64)],
    ) -> Result<HashMap<TopicPartition, Option<i64>>> {
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
            let found = list(self, &tps, t).await?;
            out.extend(found.into_iter().map(|(tp, o)| (tp, (o >= 0).then_some(o))));
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
        let found = offsets::fetch_committed(&conn, &who, partitions, true).await?;
        Ok(partitions
            .iter()
            .map(|tp| {
                let at = found.get(tp).copied().flatten().map(|(o, _)| o);
                (tp.clone(), at)
            })
            .collect())
    }
}

/// ListOffsets for `timestamp` (or EARLIEST / LATEST) under the consumer's isolation level,
/// after waiting for the topics' metadata, retried while leaders move.
pub(super) async fn list(
    consumer: &Consumer,
    partitions: &[TopicPartition],
    timestamp: i64,
) -> Result<HashMap<TopicPartition, i64>> {
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
        match offsets::list_offsets(kafka, partitions, timestamp, read_committed).await {
            Err(e) if e.is_retriable() && attempt < retry.retries => {
                attempt += 1;
                kafka.cluster().wait_refreshed(retry.backoff(attempt)).await;
            }
            other => return other,
        }
    }
}
