//! Consumer settings, with the KafkaJS names they correspond to.

use std::sync::Arc;
use std::time::Duration;

use crate::groups::consumer::classic::assignor::{self, PartitionAssigner};

use crate::error::{Error, Result};

pub use crate::groups::GroupProtocol;

/// Where to start a partition that has no committed offset (or whose offset is out of range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoOffsetReset {
    /// The oldest record.
    Earliest,
    /// After the newest record (the default, as in Java and KafkaJS without `fromBeginning`).
    Latest,
    /// Fail with OFFSET_OUT_OF_RANGE.
    None,
}

impl std::str::FromStr for AutoOffsetReset {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "earliest" => Ok(AutoOffsetReset::Earliest),
            "latest" => Ok(AutoOffsetReset::Latest),
            "none" => Ok(AutoOffsetReset::None),
            _ => Err(Error::config(format!(
                "auto offset reset '{s}' must be earliest, latest or none"
            ))),
        }
    }
}

use crate::fetch::wire::fetch::FetchParams;
pub use crate::fetch::IsolationLevel;

/// Classic session timeout when none is set (KafkaJS's `sessionTimeout`).
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(30);
/// Classic heartbeat interval when none is set (KafkaJS's `heartbeatInterval`).
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(3);

/// Consumer options. Names in parentheses are KafkaJS's.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Group id (`groupId`). Required.
    pub group_id: String,
    /// Group protocol (`groupProtocol`). Default [`GroupProtocol::Consumer`] (KIP-848).
    pub group_protocol: GroupProtocol,
    /// Server-side assignor for the consumer protocol (`groupRemoteAssignor`): `uniform`,
    /// `range`, or any name in the broker's `group.consumer.assignors`. `None` = the broker's
    /// default (`uniform`).
    pub remote_assignor: Option<String>,
    /// Time the coordinator waits for this member to give up partitions (`rebalanceTimeout`).
    /// Default 60 s.
    pub rebalance_timeout: Duration,
    /// Classic protocol only (`sessionTimeout`); ignored with a warning under `consumer`,
    /// where the broker's `group.consumer.session.timeout.ms` applies.
    pub session_timeout: Option<Duration>,
    /// Classic protocol only (`heartbeatInterval`); ignored with a warning under `consumer`,
    /// where the broker's `group.consumer.heartbeat.interval.ms` applies.
    pub heartbeat_interval: Option<Duration>,
    /// Classic protocol only (`partitionAssigners`), by name in order of preference:
    /// `roundrobin` (the default, as KafkaJS), `range`, `cooperative-sticky`, or the name of
    /// one in `custom_assigners`. Ignored with a warning under `consumer`, where the remote
    /// assignor applies.
    pub partition_assigners: Vec<String>,
    /// Your own assignors (classic protocol), offered by their names; see
    /// [`partition_assigner`](Self::partition_assigner).
    pub custom_assigners: Vec<Arc<dyn PartitionAssigner>>,
    /// With group protocol `consumer`, a broker without KIP-848 makes the consumer use the
    /// classic protocol (with a warning) instead of failing. Default false.
    pub fallback_to_classic: bool,
    /// Rack of this client, for rack-aware assignment and follower fetching (`rackId`).
    pub rack_id: Option<String>,
    /// Static membership id (Java `group.instance.id`).
    pub instance_id: Option<String>,
    /// Bytes fetched per partition per request (`maxBytesPerPartition`). Default 1 MiB.
    pub max_bytes_per_partition: i32,
    /// Bytes the broker waits for before answering a fetch (`minBytes`). Default 1.
    pub min_bytes: i32,
    /// Bytes per fetch response (`maxBytes`). Default 10 MiB.
    pub max_bytes: i32,
    /// Longest a fetch waits for `min_bytes` (`maxWaitTimeInMs`). Default 500 ms.
    pub max_wait: Duration,
    /// Memory that fetched records may take ahead of and with the handler. Default 64 MiB.
    /// It counts all a held record keeps alive: the inflated buffer of its compressed batch
    /// (one small record pins it all) or its uncompressed batch, its headers, and its struct.
    /// Compressed batches inflate within it, never past it; a batch that would inflate past
    /// the whole of it stops its partition with an error of kind
    /// [`TooLarge`](crate::ErrorKind::TooLarge) (raise this, or seek past the batch).
    pub max_prefetch_bytes: usize,
    /// Check each record batch's CRC-32C (Java `check.crcs`). Default true. A batch that fails
    /// it stops its partition with an error of kind
    /// [`CorruptRecord`](crate::ErrorKind::CorruptRecord).
    pub check_crcs: bool,
    /// Incremental fetch sessions (KIP-227): after the first fetch to a broker, a fetch
    /// carries only the partitions that changed, and the broker answers only for those with
    /// records. Default true; off, every fetch lists every partition (Java's
    /// `fetch.session` has no switch; this one exists for comparison and odd brokers).
    pub fetch_sessions: bool,
    /// Default `ReadCommitted`.
    pub isolation_level: IsolationLevel,
    /// Default `Latest`; `subscribe(.., from_beginning = true)` uses `Earliest`.
    pub auto_offset_reset: AutoOffsetReset,
    /// Commit processed offsets automatically (`autoCommit`). Default true.
    ///
    /// Besides the interval (and threshold), a group member commits everything it has
    /// processed, in every partition it holds, at each reassignment: before it gives partitions
    /// up (before the revoke hook runs) and when it is given new ones; both restart the
    /// interval. A commit that meets a moved member epoch (STALE_MEMBER_EPOCH, or the classic
    /// protocol's ILLEGAL_GENERATION) is tried again at the member's current epoch for the
    /// partitions it still owns; those it no longer owns are left to their new owner, with a
    /// warning naming them.
    pub auto_commit: bool,
    /// Commit at least this often (`autoCommitInterval`). Default 5 s. Counted again from each
    /// reassignment (which commits everything processed).
    pub auto_commit_interval: Duration,
    /// Commit after this many resolved records (`autoCommitThreshold`). Default none.
    pub auto_commit_threshold: Option<usize>,
    /// A handler running longer than this makes the member stale: it leaves the group and
    /// rejoins when the handler returns (Java `max.poll.interval.ms`). Default 5 min.
    pub max_poll_interval: Duration,
}

impl ConsumerConfig {
    /// What each Fetch asks of the broker beside the partitions.
    pub(crate) fn fetch_params(&self) -> FetchParams<'_> {
        FetchParams {
            max_wait: self.max_wait,
            min_bytes: self.min_bytes,
            max_bytes: self.max_bytes,
            isolation: self.isolation_level,
            rack_id: self.rack_id.as_deref(),
        }
    }

    /// Defaults for `group_id`.
    pub fn new(group_id: impl Into<String>) -> Self {
        ConsumerConfig {
            group_id: group_id.into(),
            group_protocol: GroupProtocol::Consumer,
            remote_assignor: None,
            rebalance_timeout: Duration::from_secs(60),
            session_timeout: None,
            heartbeat_interval: None,
            partition_assigners: Vec::new(),
            custom_assigners: Vec::new(),
            fallback_to_classic: false,
            rack_id: None,
            instance_id: None,
            max_bytes_per_partition: 1024 * 1024,
            min_bytes: 1,
            max_bytes: 10 * 1024 * 1024,
            max_wait: Duration::from_millis(500),
            max_prefetch_bytes: 64 * 1024 * 1024,
            check_crcs: true,
            fetch_sessions: true,
            isolation_level: IsolationLevel::ReadCommitted,
            auto_offset_reset: AutoOffsetReset::Latest,
            auto_commit: true,
            auto_commit_interval: Duration::from_secs(5),
            auto_commit_threshold: None,
            max_poll_interval: Duration::from_secs(300),
        }
    }

    /// Defaults for a consumer without a group, for
    /// [`Kafka::assigned_consumer`](crate::Kafka::assigned_consumer): it reads the partitions it
    /// is given with `assign`, commits nothing and reads no committed offset. (An assigned
    /// consumer made from [`new`](Self::new) instead keeps its offsets in that group, without
    /// joining it.)
    ///
    /// ```
    /// let config = kafkit::consumer::ConsumerConfig::without_group();
    /// assert!(config.group_id.is_empty());
    /// ```
    pub fn without_group() -> Self {
        ConsumerConfig::new("")
    }

    /// Sets the group protocol.
    pub fn group_protocol(mut self, p: GroupProtocol) -> Self {
        self.group_protocol = p;
        self
    }

    /// Sets the group protocol from its name; anything but `classic` or `consumer` fails with
    /// `Consumer groupProtocol must be either 'classic' or 'consumer'`.
    pub fn group_protocol_str(mut self, p: &str) -> Result<Self> {
        self.group_protocol = p.parse()?;
        Ok(self)
    }

    /// Classic protocol: the assignors to offer, by name, in order of preference.
    pub fn partition_assigners<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.partition_assigners = names.into_iter().map(Into::into).collect();
        self
    }

    /// Classic protocol: offers your own assignor (after any named ones).
    pub fn partition_assigner(mut self, assigner: Arc<dyn PartitionAssigner>) -> Self {
        self.custom_assigners.push(assigner);
        self
    }

    /// Classic protocol: the session timeout (default 30 s, as KafkaJS).
    pub fn session_timeout(mut self, d: Duration) -> Self {
        self.session_timeout = Some(d);
        self
    }

    /// Classic protocol: the heartbeat interval (default 3 s, as KafkaJS).
    pub fn heartbeat_interval(mut self, d: Duration) -> Self {
        self.heartbeat_interval = Some(d);
        self
    }

    /// Falls back to the classic protocol when the broker lacks KIP-848 (see
    /// [`fallback_to_classic`](Self::fallback_to_classic)).
    pub fn fallback_to_classic(mut self, on: bool) -> Self {
        self.fallback_to_classic = on;
        self
    }

    /// The classic assignors to offer: the named ones (built-in or custom), then custom ones
    /// not named; none at all means `roundrobin`.
    pub fn resolve_assigners(&self) -> Result<Vec<Arc<dyn PartitionAssigner>>> {
        let mut out: Vec<Arc<dyn PartitionAssigner>> = Vec::new();
        for name in &self.partition_assigners {
            match self.custom_assigners.iter().find(|a| a.name() == name) {
                Some(a) => out.push(a.clone()),
                None => out.push(assignor::builtin(name)?),
            }
        }
        for a in &self.custom_assigners {
            if !out.iter().any(|o| o.name() == a.name()) {
                out.push(a.clone());
            }
        }
        if out.is_empty() {
            out.push(Arc::new(assignor::RoundRobinAssigner));
        }
        Ok(out)
    }

    /// Sets the remote (server-side) assignor.
    pub fn remote_assignor(mut self, name: impl Into<String>) -> Self {
        self.remote_assignor = Some(name.into());
        self
    }

    /// Sets the rebalance timeout.
    pub fn rebalance_timeout(mut self, d: Duration) -> Self {
        self.rebalance_timeout = d;
        self
    }

    /// Sets the static membership id.
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.instance_id = Some(id.into());
        self
    }

    /// Sets the rack id.
    pub fn rack_id(mut self, id: impl Into<String>) -> Self {
        self.rack_id = Some(id.into());
        self
    }

    /// Sets auto offset reset.
    pub fn auto_offset_reset(mut self, r: AutoOffsetReset) -> Self {
        self.auto_offset_reset = r;
        self
    }

    /// Turns auto commit on or off (see [`auto_commit`](Self::auto_commit) for when it commits).
    pub fn auto_commit(mut self, on: bool) -> Self {
        self.auto_commit = on;
        self
    }

    /// Sets max wait of fetches.
    pub fn max_wait(mut self, d: Duration) -> Self {
        self.max_wait = d;
        self
    }

    /// Turns incremental fetch sessions (KIP-227) on or off (default on).
    ///
    /// ```
    /// let config = kafkit::consumer::ConsumerConfig::new("orders").fetch_sessions(false);
    /// assert!(!config.fetch_sessions);
    /// ```
    pub fn fetch_sessions(mut self, on: bool) -> Self {
        self.fetch_sessions = on;
        self
    }

    /// Checks record batch CRCs or not (Java `check.crcs`; on by default).
    ///
    /// ```
    /// let config = kafkit::consumer::ConsumerConfig::new("orders").check_crcs(false);
    /// assert!(!config.check_crcs);
    /// ```
    pub fn check_crcs(mut self, on: bool) -> Self {
        self.check_crcs = on;
        self
    }

    /// Sets the memory fetched records may take ([`max_prefetch_bytes`](Self::max_prefetch_bytes)).
    ///
    /// ```
    /// let config = kafkit::consumer::ConsumerConfig::new("orders").max_prefetch_bytes(16 << 20);
    /// assert_eq!(config.max_prefetch_bytes, 16 << 20);
    /// ```
    pub fn max_prefetch_bytes(mut self, bytes: usize) -> Self {
        self.max_prefetch_bytes = bytes;
        self
    }

    /// Sets the isolation level.
    pub fn isolation_level(mut self, l: IsolationLevel) -> Self {
        self.isolation_level = l;
        self
    }

    /// Sets the group id (replacing the one given to [`new`](Self::new)).
    pub fn group_id(mut self, id: impl Into<String>) -> Self {
        self.group_id = id.into();
        self
    }

    /// Sets the bytes fetched per partition per request (Java `max.partition.fetch.bytes`).
    ///
    /// ```
    /// let c = kafkit::consumer::ConsumerConfig::new("g").max_bytes_per_partition(4 << 20);
    /// assert_eq!(c.max_bytes_per_partition, 4 << 20);
    /// ```
    pub fn max_bytes_per_partition(mut self, bytes: i32) -> Self {
        self.max_bytes_per_partition = bytes;
        self
    }

    /// Sets the bytes a fetch waits for (Java `fetch.min.bytes`).
    pub fn min_bytes(mut self, bytes: i32) -> Self {
        self.min_bytes = bytes;
        self
    }

    /// Sets the bytes per fetch response (Java `fetch.max.bytes`).
    pub fn max_bytes(mut self, bytes: i32) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Sets the auto-commit interval (Java `auto.commit.interval.ms`).
    pub fn auto_commit_interval(mut self, d: Duration) -> Self {
        self.auto_commit_interval = d;
        self
    }

    /// Commits after this many resolved records as well (KafkaJS `autoCommitThreshold`).
    pub fn auto_commit_threshold(mut self, records: usize) -> Self {
        self.auto_commit_threshold = Some(records);
        self
    }

    /// Sets the longest a handler may run before the member is stale (Java
    /// `max.poll.interval.ms`).
    pub fn max_poll_interval(mut self, d: Duration) -> Self {
        self.max_poll_interval = d;
        self
    }

    /// Checks the options; returns the warnings to log for options the protocol ignores.
    pub fn validate(&self) -> Result<Vec<String>> {
        if self.group_id.trim().is_empty() {
            return Err(Error::config(
                "group_id is empty; give the consumer group a name (or read partitions without a group: Kafka::assigned_consumer)",
            ));
        }
        self.validate_fetching()?;
        self.validate_group()
    }

    /// Checks the options of a consumer that reads assigned partitions
    /// ([`Kafka::assigned_consumer`](crate::Kafka::assigned_consumer)); returns the warnings for
    /// the group options it ignores.
    pub fn validate_assigned(&self) -> Result<Vec<String>> {
        if !self.group_id.is_empty() && self.group_id.trim().is_empty() {
            return Err(Error::config(
                "group_id is blank; name the group whose offsets to use, or use ConsumerConfig::without_group()",
            ));
        }
        self.validate_fetching()?;
        let mut warnings = Vec::new();
        let group_options = [
            ("remote_assignor", self.remote_assignor.is_some()),
            ("instance_id", self.instance_id.is_some()),
            ("session_timeout", self.session_timeout.is_some()),
            ("heartbeat_interval", self.heartbeat_interval.is_some()),
            (
                "partition_assigners",
                !self.partition_assigners.is_empty() || !self.custom_assigners.is_empty(),
            ),
            ("fallback_to_classic", self.fallback_to_classic),
        ];
        for (name, set) in group_options {
            if set {
                warnings.push(format!(
                    "{name} is ignored by a consumer of assigned partitions: it joins no group"
                ));
            }
        }
        Ok(warnings)
    }

    fn validate_fetching(&self) -> Result<()> {
        if self.rack_id.as_deref().is_some_and(|a| a.trim().is_empty()) {
            return Err(Error::config(
                "rack_id is empty; give the rack name or leave it unset",
            ));
        }
        if self.max_bytes_per_partition <= 0 || self.max_bytes <= 0 || self.min_bytes < 0 {
            return Err(Error::config(
                "max_bytes_per_partition and max_bytes must be positive, min_bytes not negative",
            ));
        }
        if self.max_prefetch_bytes < self.max_bytes_per_partition as usize {
            return Err(Error::config(
                "max_prefetch_bytes must be at least max_bytes_per_partition",
            ));
        }
        Ok(())
    }

    fn validate_group(&self) -> Result<Vec<String>> {
        if self
            .remote_assignor
            .as_deref()
            .is_some_and(|a| a.trim().is_empty())
        {
            return Err(Error::config(
                "remote_assignor is empty; use 'uniform', 'range', or leave it unset",
            ));
        }
        if self
            .instance_id
            .as_deref()
            .is_some_and(|a| a.trim().is_empty())
        {
            return Err(Error::config(
                "instance_id is empty; give a stable name or leave it unset",
            ));
        }
        if self.rebalance_timeout.is_zero() || self.rebalance_timeout.as_millis() > i32::MAX as u128
        {
            return Err(Error::config(
                "rebalance_timeout must be between 1 ms and 24 days",
            ));
        }
        if self.group_protocol == GroupProtocol::Classic || self.fallback_to_classic {
            self.resolve_assigners()?;
            let session = self.session_timeout.unwrap_or(DEFAULT_SESSION_TIMEOUT);
            let heartbeat = self
                .heartbeat_interval
                .unwrap_or(DEFAULT_HEARTBEAT_INTERVAL);
            if heartbeat.is_zero() || heartbeat >= session {
                return Err(Error::config(format!(
                    "heartbeat_interval ({heartbeat:?}) must be above zero and below session_timeout ({session:?}); a third of it is usual"
                )));
            }
        }
        let mut warnings = Vec::new();
        if self.group_protocol == GroupProtocol::Consumer {
            if self.session_timeout.is_some() {
                warnings.push("session_timeout is ignored with group protocol 'consumer': the broker's group.consumer.session.timeout.ms applies".to_string());
            }
            if self.heartbeat_interval.is_some() {
                warnings.push("heartbeat_interval is ignored with group protocol 'consumer': the broker's group.consumer.heartbeat.interval.ms applies".to_string());
            }
            if !self.partition_assigners.is_empty() || !self.custom_assigners.is_empty() {
                warnings.push("partition_assigners are ignored with group protocol 'consumer': assignment is server-side; choose it with remote_assignor ('uniform' or 'range')".to_string());
            }
        }
        Ok(warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_protocol_string_gives_the_exact_message() {
        let e = "cooperative".parse::<GroupProtocol>().unwrap_err();
        assert_eq!(
            e.message(),
            "Consumer groupProtocol must be either 'classic' or 'consumer'"
        );
        assert_eq!(
            "consumer".parse::<GroupProtocol>().unwrap(),
            GroupProtocol::Consumer
        );
        assert_eq!(
            "classic".parse::<GroupProtocol>().unwrap(),
            GroupProtocol::Classic
        );
        assert!(ConsumerConfig::new("g")
            .group_protocol_str("Consumer")
            .is_err());
    }

    #[test]
    fn classic_options_warn_under_consumer() {
        let mut c = ConsumerConfig::new("g");
        c.session_timeout = Some(Duration::from_secs(30));
        c.heartbeat_interval = Some(Duration::from_secs(3));
        c.partition_assigners = vec!["roundrobin".into()];
        let w = c.validate().unwrap();
        assert_eq!(w.len(), 3);
        assert!(w[0].contains("group.consumer.session.timeout.ms"));
        assert!(w[1].contains("group.consumer.heartbeat.interval.ms"));
        assert!(w[2].contains("remote_assignor"));
        c.group_protocol = GroupProtocol::Classic;
        assert!(c.validate().unwrap().is_empty());
    }

    #[test]
    fn every_option_has_a_builder() {
        let c = ConsumerConfig::new("a")
            .group_id("g")
            .max_bytes_per_partition(2 << 20)
            .min_bytes(10)
            .max_bytes(20 << 20)
            .auto_commit_interval(Duration::from_secs(1))
            .auto_commit_threshold(100)
            .max_poll_interval(Duration::from_secs(60));
        assert_eq!(c.group_id, "g");
        assert_eq!(c.max_bytes_per_partition, 2 << 20);
        assert_eq!(c.min_bytes, 10);
        assert_eq!(c.max_bytes, 20 << 20);
        assert_eq!(c.auto_commit_interval, Duration::from_secs(1));
        assert_eq!(c.auto_commit_threshold, Some(100));
        assert_eq!(c.max_poll_interval, Duration::from_secs(60));
        c.validate().unwrap();
        assert!(ConsumerConfig::new("g").max_bytes(0).validate().is_err());
    }

    #[test]
    fn empty_group_is_rejected() {
        assert!(ConsumerConfig::new(" ").validate().is_err());
    }

    #[test]
    fn an_assigned_consumer_needs_no_group_and_warns_about_group_options() {
        let c = ConsumerConfig::without_group();
        assert!(c.validate().is_err(), "a group consumer needs a group");
        assert!(c.validate_assigned().unwrap().is_empty());
        assert!(ConsumerConfig::new(" ").validate_assigned().is_err());
        let w = ConsumerConfig::without_group()
            .instance_id("i")
            .remote_assignor("range")
            .validate_assigned()
            .unwrap();
        assert_eq!(w.len(), 2);
        assert!(w[0].contains("remote_assignor") && w[1].contains("instance_id"));
        let mut bad = ConsumerConfig::without_group();
        bad.max_bytes = 0;
        assert!(bad.validate_assigned().is_err());
    }

    #[test]
    fn the_fetch_options_are_what_the_request_carries() {
        use crate::fetch::wire::fetch::build_request;
        use crate::fetch::{FetchPosition, FetchTarget};
        use crate::TopicPartition;
        use uuid::Uuid;
        let target = FetchTarget {
            partition: TopicPartition::new("t", 0),
            topic_id: Uuid::nil(),
            position: FetchPosition {
                offset: 0,
                current_leader_epoch: -1,
                last_fetched_epoch: -1,
            },
            max_bytes: 2 * 1024 * 1024,
        };
        let mut config = ConsumerConfig::new("g").rack_id("rack-2");
        config.max_bytes_per_partition = 2 * 1024 * 1024;
        config.min_bytes = 1000;
        config.max_bytes = 5_000_000;
        config.max_wait = std::time::Duration::from_millis(250);
        let req = build_request(
            17,
            &config.fetch_params(),
            std::slice::from_ref(&target),
            None,
        );
        assert_eq!(req.max_wait_ms, 250, "maxWaitTimeInMs");
        assert_eq!(req.min_bytes, 1000, "minBytes");
        assert_eq!(req.max_bytes, 5_000_000, "maxBytes");
        assert_eq!(req.rack_id.as_str(), "rack-2", "rackId");
        assert_eq!(
            req.topics[0].partitions[0].partition_max_bytes,
            2 * 1024 * 1024,
            "maxBytesPerPartition"
        );
    }
}
