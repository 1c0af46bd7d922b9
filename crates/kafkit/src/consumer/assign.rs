//! A consumer without a group: it reads the partitions it is given, from where it is told.
//! Its engine has no group session (no coordinator, no heartbeats); its offsets are kept in
//! a group only when its config names one.

use std::collections::HashMap;

use tokio::sync::oneshot;

use super::engine::Command;
use super::{lookup, Consumer, ConsumerConfig};
use crate::error::{Error, Result};
use crate::events::TopicPartition;
use crate::groups::offsets;
use crate::Kafka;

impl Kafka {
    /// A consumer of the partitions you [`assign`](Consumer::assign), with no group: no
    /// coordinator, no heartbeats, no rebalances. It has the group consumer's run and `Stream`
    /// API, its fetch options and its isolation level (`read_committed` by default).
    ///
    /// With [`ConsumerConfig::without_group`] it commits nothing and each partition starts
    /// where `auto_offset_reset` says (with `none`: where you seek). With
    /// `ConsumerConfig::new(group)` it keeps its offsets in that group without joining it:
    /// partitions start at the group's committed offsets, and `commit` (or auto-commit) stores
    /// them, as an admin would.
    ///
    /// ```no_run
    /// # async fn demo(kafka: kafkit::Kafka) -> kafkit::Result<()> {
    /// use kafkit::consumer::ConsumerConfig;
    /// use kafkit::TopicPartition;
    /// let consumer = kafka.assigned_consumer(ConsumerConfig::without_group())?;
    /// let tp = TopicPartition::new("orders", 0);
    /// consumer.assign(&[tp.clone()]).await?;
    /// consumer.seek(tp, 100)?;
    /// consumer
    ///     .run_each_message(|m| async move {
    ///         println!("{}-{}@{}", m.topic, m.partition, m.offset);
    ///         Ok(())
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn assigned_consumer(&self, config: ConsumerConfig) -> Result<Consumer> {
        Consumer::new(self.clone(), config, true)
    }
}

impl Consumer {
    /// Makes `partitions` this consumer's partitions (replacing those assigned before) and
    /// starts reading them. Only for a consumer from [`Kafka::assigned_consumer`]. New
    /// partitions start at the group's committed offset (when offsets are kept in a group),
    /// else where `auto_offset_reset` says; a [`seek`](Self::seek) right after wins.
    ///
    /// ```no_run
    /// # async fn demo(consumer: kafkit::consumer::Consumer) -> kafkit::Result<()> {
    /// use kafkit::TopicPartition;
    /// consumer.assign(&[TopicPartition::new("orders", 0), TopicPartition::new("orders", 1)]).await?;
    /// consumer.assign(&[TopicPartition::new("orders", 1)]).await?; // orders-0 is dropped
    /// # Ok(()) }
    /// ```
    pub async fn assign(&self, partitions: &[TopicPartition]) -> Result<()> {
        if !self.inner.assigned {
            return Err(Error::config(
                "assign is for a consumer of assigned partitions (Kafka::assigned_consumer); a group consumer gets its partitions from its group: subscribe",
            ));
        }
        if partitions
            .iter()
            .any(|tp| tp.topic.is_empty() || tp.partition < 0)
        {
            return Err(Error::config(
                "assign needs topic names and partition numbers of 0 or more",
            ));
        }
        // As `subscribe` does: a listener registered after the consumer was made sees them.
        if self.pending_start() {
            for warning in &self.inner.warnings {
                self.inner.kafka.emit(crate::events::Event::Warning {
                    message: warning.clone(),
                });
            }
        }
        self.start_engine();
        let (reply, rx) = oneshot::channel();
        self.command(Command::Assign {
            partitions: partitions.to_vec(),
            reply,
        })?;
        rx.await.map_err(|_| self.engine_gone())?
    }

    /// Moves these partitions to their earliest offset.
    ///
    /// ```no_run
    /// # async fn demo(consumer: kafkit::consumer::Consumer) -> kafkit::Result<()> {
    /// consumer.seek_to_beginning(&consumer.assignment().await?).await?;
    /// # Ok(()) }
    /// ```
    pub async fn seek_to_beginning(&self, partitions: &[TopicPartition]) -> Result<()> {
        let found = self.beginning_offsets(partitions).await?;
        self.seek_all(found)
    }

    /// Moves these partitions past their last record (under `read_committed`, to the last
    /// stable offset): only records written from now on are read.
    ///
    /// ```no_run
    /// # async fn demo(consumer: kafkit::consumer::Consumer) -> kafkit::Result<()> {
    /// consumer.seek_to_end(&[kafkit::TopicPartition::new("orders", 0)]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn seek_to_end(&self, partitions: &[TopicPartition]) -> Result<()> {
        let found = self.end_offsets(partitions).await?;
        self.seek_all(found)
    }

    /// Moves these partitions to their first record with a timestamp at or after
    /// `timestamp_ms` (ms since the epoch); a partition with none moves to its end.
    ///
    /// ```no_run
    /// # async fn demo(consumer: kafkit::consumer::Consumer) -> kafkit::Result<()> {
    /// let an_hour_ago = std::time::SystemTime::now()
    ///     .duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64 - 3_600_000;
    /// consumer.seek_to_timestamp(&consumer.assignment().await?, an_hour_ago).await?;
    /// # Ok(()) }
    /// ```
    pub async fn seek_to_timestamp(
        &self,
        partitions: &[TopicPartition],
        timestamp_ms: i64,
    ) -> Result<()> {
        if timestamp_ms < 0 {
            return Err(Error::config(format!(
                "seek_to_timestamp needs a timestamp in ms since the epoch (got {timestamp_ms})"
            )));
        }
        let at = lookup::list(self, partitions, timestamp_ms).await?;
        let past: Vec<TopicPartition> = at
            .iter()
            .filter(|(_, o)| **o < 0)
            .map(|(tp, _)| tp.clone())
            .collect();
        let mut found: HashMap<TopicPartition, i64> =
            at.into_iter().filter(|(_, o)| *o >= 0).collect();
        if !past.is_empty() {
            found.extend(lookup::list(self, &past, offsets::LATEST).await?);
        }
        self.seek_all(found)
    }

    /// The offset of the next record the application gets from `partition`: after what the
    /// handler has processed, else the next one fetched. `None` when the partition is not
    /// assigned, or its start offset is still being looked up.
    ///
    /// ```no_run
    /// # async fn demo(consumer: kafkit::consumer::Consumer) -> kafkit::Result<()> {
    /// let tp = kafkit::TopicPartition::new("orders", 0);
    /// if let Some(next) = consumer.position(&tp).await? {
    ///     println!("orders-0 reads on from offset {next}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn position(&self, partition: &TopicPartition) -> Result<Option<i64>> {
        let (reply, rx) = oneshot::channel();
        self.command(Command::Position(vec![partition.clone()], reply))?;
        let found = rx.await.map_err(|_| self.engine_gone())?;
        Ok(found.into_iter().next().and_then(|(_, at)| at))
    }

    fn seek_all(&self, offsets: HashMap<TopicPartition, i64>) -> Result<()> {
        for (tp, offset) in offsets {
            self.command(Command::Seek(tp, offset))?;
        }
        Ok(())
    }

    /// Whether the engine has not started yet.
    fn pending_start(&self) -> bool {
        self.inner
            .pending_engine
            .lock()
            .map(|p| p.is_some())
            .unwrap_or(false)
    }
}
