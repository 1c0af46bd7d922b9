//! Instrumentation events, as typed values.
//!
//! Every client built from one [`crate::Kafka`] handle publishes on one broadcast channel;
//! [`crate::Kafka::events`] subscribes. A slow subscriber misses events (it sees `Lagged`)
//! rather than slowing the client down.

use std::time::Duration;

pub use crate::topic_partition::TopicPartition;

/// The wall-clock time `d` from now, as `HH:MM:SS UTC`: warnings say until when a wait lasts.
pub(crate) fn utc_after(d: Duration) -> String {
    let at = std::time::SystemTime::now() + d;
    let secs = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.as_secs());
    hms_utc(secs)
}

fn hms_utc(secs: u64) -> String {
    let day = secs % 86_400;
    format!(
        "{:02}:{:02}:{:02} UTC",
        day / 3600,
        day % 3600 / 60,
        day % 60
    )
}

/// An instrumentation event (KafkaJS's `instrumentation events`, as a Rust enum).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A connection to a broker was established (after ApiVersions).
    Connect {
        /// `host:port` of the broker.
        broker: String,
    },
    /// A connection re-authenticated before its SASL session expired (KIP-368).
    Reauthenticated {
        /// `host:port` of the broker.
        broker: String,
    },
    /// A connection closed or broke.
    Disconnect {
        /// `host:port` of the broker.
        broker: String,
        /// Why, if it broke.
        reason: Option<String>,
    },
    /// A request completed (every request, those of connecting too: ApiVersions, the SASL
    /// exchange, the first Metadata; subscribe with [`crate::Kafka::connect_with_events`] to
    /// see those).
    Request {
        /// `host:port` of the broker.
        broker: String,
        /// The API name, e.g. `Produce`.
        api: &'static str,
        /// The API key, e.g. 0 for `Produce`.
        api_key: i16,
        /// Version used.
        api_version: i16,
        /// The request's correlation id on its connection.
        correlation_id: i32,
        /// Wall-clock time the request was written to the connection's queue.
        sent_at: std::time::SystemTime,
        /// Time it waited for an in-flight slot before that (`max_in_flight`).
        pending: Duration,
        /// Round-trip time, from `sent_at` to the decoded response.
        duration: Duration,
        /// Bytes sent.
        size: usize,
        /// Bytes of the response (without its length prefix).
        response_size: usize,
    },
    /// A request got no answer in time.
    RequestTimeout {
        /// `host:port` of the broker.
        broker: String,
        /// The API name.
        api: &'static str,
        /// The timeout that passed.
        timeout: Duration,
    },
    /// The number of requests in flight on a connection changed.
    RequestQueueSize {
        /// `host:port` of the broker.
        broker: String,
        /// Requests in flight.
        queue_size: usize,
    },
    /// A consumer joined its group (KafkaJS's `GROUP_JOIN`): the heartbeat answer that
    /// completed a join (KIP-848), or JoinGroup + SyncGroup (classic). Topics are named, never
    /// given as topic ids.
    GroupJoin {
        /// Group id.
        group_id: String,
        /// Member id.
        member_id: String,
        /// Member epoch (KIP-848) or generation id (classic).
        member_epoch: i32,
        /// The group protocol the member joined with.
        group_protocol: GroupProtocol,
        /// The partitions assigned by the join (under KIP-848 the broker's target assignment,
        /// which the member then reconciles).
        assignment: Vec<TopicPartition>,
        /// From the first join request to the answer that completed the join.
        duration: Duration,
        /// Classic: the member id of the group's leader (`None` under KIP-848, which has none).
        leader_id: Option<String>,
        /// Classic: this member is the leader and computed the assignment.
        is_leader: bool,
    },
    /// A group heartbeat was answered (KafkaJS's `HEARTBEAT`), every one after the join. Under
    /// KIP-848 it carries the assignment changes the answer brought (both empty when none);
    /// classic heartbeats carry none (the assignment comes with the join).
    Heartbeat {
        /// Group id.
        group_id: String,
        /// Member id.
        member_id: String,
        /// Member epoch (KIP-848) or generation id (classic).
        member_epoch: i32,
        /// The group protocol the member speaks.
        group_protocol: GroupProtocol,
        /// Partitions this answer assigned.
        added: Vec<TopicPartition>,
        /// Partitions this answer took away.
        removed: Vec<TopicPartition>,
    },
    /// The member's assignment is changing.
    Rebalancing {
        /// Group id.
        group_id: String,
        /// Member id.
        member_id: String,
    },
    /// Offsets were committed.
    CommitOffsets {
        /// Group id.
        group_id: String,
        /// Committed offsets (the next offset to read).
        offsets: Vec<(TopicPartition, i64)>,
    },
    /// A fetch request is about to be sent.
    FetchStart {
        /// Node id of the broker.
        node_id: i32,
    },
    /// A fetch response arrived.
    Fetch {
        /// Node id of the broker.
        node_id: i32,
        /// Records received.
        records: usize,
        /// Round-trip time.
        duration: Duration,
    },
    /// The handler starts on a batch. A fetch that brought only records the application never
    /// sees (a transaction's commit or abort marker, an aborted transaction's records) makes a
    /// batch of none (`batch_size` 0, the offsets those of the records left out): its events
    /// come, the position moves past it, and no handler is called (as KafkaJS).
    StartBatchProcess {
        /// Partition.
        partition: TopicPartition,
        /// First offset of the batch.
        first_offset: i64,
        /// Last offset of the batch.
        last_offset: i64,
        /// Records in the batch.
        batch_size: usize,
        /// Records between the batch's last offset and the high watermark.
        offset_lag: i64,
        /// The partition's high watermark when the batch was fetched.
        high_watermark: i64,
    },
    /// The handler finished a batch.
    EndBatchProcess {
        /// Partition.
        partition: TopicPartition,
        /// First offset of the batch.
        first_offset: i64,
        /// Last offset of the batch.
        last_offset: i64,
        /// Records in the batch.
        batch_size: usize,
        /// Records between the batch's last offset and the high watermark.
        offset_lag: i64,
        /// The partition's high watermark when the batch was fetched.
        high_watermark: i64,
        /// Time the handler took.
        duration: Duration,
    },
    /// A KIP-714 telemetry push was answered (only with a client-metrics subscription).
    ///
    /// ```no_run
    /// # async fn demo(kafka: kafkit::Kafka) {
    /// let mut events = kafka.events();
    /// while let Ok(e) = events.recv().await {
    ///     if let kafkit::Event::TelemetryPush { error_code, compression, terminating, .. } = e {
    ///         println!("telemetry push ({compression}, last: {terminating}): code {error_code}");
    ///     }
    /// }
    /// # }
    /// ```
    TelemetryPush {
        /// `host:port` of the broker.
        broker: String,
        /// The broker's error code (0: accepted).
        error_code: i16,
        /// Bytes of OTLP payload pushed, before compression.
        size: usize,
        /// The codec the push was compressed with: the first of the broker's accepted ones
        /// (`None` when it accepts none).
        compression: crate::protocol::compression::Compression,
        /// Bytes sent, after compression.
        compressed_size: usize,
        /// The last push, sent by [`crate::Kafka::close`] (KIP-714's `Terminating`).
        terminating: bool,
    },
    /// A record batch left the producer's buffer for its first send (Java
    /// `record-queue-time`: how long it waited there since its first record).
    ///
    /// ```no_run
    /// # async fn demo(kafka: kafkit::Kafka) {
    /// let mut events = kafka.events();
    /// while let Ok(e) = events.recv().await {
    ///     if let kafkit::Event::BatchSend { topic, queue_time, .. } = e {
    ///         println!("{topic}: a batch waited {queue_time:?}");
    ///     }
    /// }
    /// # }
    /// ```
    BatchSend {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// Records in the batch.
        records: i32,
        /// From the batch's first record to its first send.
        queue_time: Duration,
    },
    /// A broker's answer asked the client to hold back for a while, for a quota (Java
    /// `produce-throttle-time`); only answers with a throttle time above zero.
    ///
    /// ```no_run
    /// # async fn demo(kafka: kafkit::Kafka) {
    /// let mut events = kafka.events();
    /// while let Ok(e) = events.recv().await {
    ///     if let kafkit::Event::Throttle { broker, api, throttle } = e {
    ///         println!("{broker} throttled {api} for {throttle:?}");
    ///     }
    /// }
    /// # }
    /// ```
    Throttle {
        /// `host:port` of the broker.
        broker: String,
        /// The API name, e.g. `Produce`.
        api: &'static str,
        /// The throttle time of the answer.
        throttle: Duration,
    },
    /// The consumer stopped on an error it cannot recover from.
    Crash {
        /// Group id.
        group_id: String,
        /// The error.
        error: String,
    },
    /// The consumer stopped.
    Stop {
        /// Group id.
        group_id: String,
    },
    /// A non-fatal warning worth surfacing to users (e.g. TOPIC_AUTHORIZATION_FAILED in a
    /// heartbeat), or what a client waits for and until when, said once per cause as the wait
    /// starts: a topic that does not exist or is not authorized (producer and consumer), a
    /// member without partitions, a coordinator no broker finds.
    ///
    /// ```no_run
    /// # async fn demo(kafka: kafkit::Kafka) {
    /// let mut events = kafka.events();
    /// while let Ok(e) = events.recv().await {
    ///     if let kafkit::Event::Warning { message } = e {
    ///         eprintln!("warning: {message}");
    ///     }
    /// }
    /// # }
    /// ```
    Warning {
        /// What happened and what to do about it.
        message: String,
    },
    /// A consumer stopped reading a partition at records it cannot read (a batch that fails
    /// its CRC, is not in the v2 format, has lengths, counts or offsets that do not add up,
    /// or inflates past `max_prefetch_bytes`). The other partitions go on; this one waits
    /// for a seek past `offset`. The same error reaches the run or stream once the records
    /// before it have been handled.
    ///
    /// ```no_run
    /// # async fn demo(kafka: kafkit::Kafka) {
    /// let mut events = kafka.events();
    /// while let Ok(e) = events.recv().await {
    ///     if let kafkit::Event::PartitionStopped { partition, offset, error, .. } = e {
    ///         eprintln!("{partition} stopped at {offset}: {error}");
    ///     }
    /// }
    /// # }
    /// ```
    PartitionStopped {
        /// Group id (empty for a consumer without a group).
        group_id: String,
        /// The partition.
        partition: TopicPartition,
        /// The offset of the records that cannot be read: the partition's position.
        offset: i64,
        /// The error, with its cause and how to skip the records.
        error: String,
    },
}

/// Which group protocol a consumer speaks (also named in its group events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupProtocol {
    /// JoinGroup/SyncGroup with client-side assignment.
    Classic,
    /// KIP-848: ConsumerGroupHeartbeat with server-side assignment (Kafka 4.0+).
    Consumer,
}

impl std::str::FromStr for GroupProtocol {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "classic" => Ok(GroupProtocol::Classic),
            "consumer" => Ok(GroupProtocol::Consumer),
            _ => Err(crate::Error::config(
                "Consumer groupProtocol must be either 'classic' or 'consumer'",
            )),
        }
    }
}

impl std::fmt::Display for GroupProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GroupProtocol::Classic => "classic",
            GroupProtocol::Consumer => "consumer",
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn wall_clock_times_are_hours_minutes_seconds_utc() {
        assert_eq!(
            super::hms_utc(86_400 * 3 + 3600 * 13 + 60 * 5 + 9),
            "13:05:09 UTC"
        );
        assert!(super::utc_after(std::time::Duration::ZERO).ends_with(" UTC"));
    }
}
