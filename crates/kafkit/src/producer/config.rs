//! Producer settings.

use std::sync::Arc;
use std::time::Duration;

use super::partitioner::{DefaultPartitioner, Partitioner};
use crate::error::{Error, Result};
use crate::protocol::compression::{Compression, CompressionLevels};

/// How many replicas must have a record before the broker acknowledges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// Every in-sync replica (`acks=all`, `-1`). The default; required by idempotence.
    All,
    /// The leader only (`acks=1`).
    Leader,
    /// No acknowledgement (`acks=0`): offsets are unknown and losses go unnoticed.
    None,
}

impl Acks {
    /// The wire value.
    pub fn code(self) -> i16 {
        match self {
            Acks::All => -1,
            Acks::Leader => 1,
            Acks::None => 0,
        }
    }
}

impl std::str::FromStr for Acks {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "all" | "-1" => Ok(Acks::All),
            "leader" | "1" => Ok(Acks::Leader),
            "none" | "0" => Ok(Acks::None),
            _ => Err(Error::config(format!(
                "acks '{s}' is not one of all, leader, none (or -1, 1, 0)"
            ))),
        }
    }
}

/// Producer options. Defaults follow the Java 4.x client.
#[derive(Clone)]
pub struct ProducerConfig {
    /// Acknowledgement level. Default [`Acks::All`].
    pub acks: Acks,
    /// Compression of record batches (Java `compression.type`). Default none.
    pub compression: Compression,
    /// Level per codec (KIP-390: Java `compression.gzip.level`, `compression.lz4.level`,
    /// `compression.zstd.level`). Unset levels are Java's defaults (gzip 6, lz4 9, zstd 3);
    /// before levels existed kafkit wrote gzip at level 1 (about 4x faster, 35% more bytes on
    /// JSON records: `docs/benchmarks.md`), which `.compression_level(Compression::Gzip, 1)`
    /// brings back. gzip and zstd honour every level; lz4's HC levels need the opt-in
    /// `lz4-hc` feature (C), without which every lz4 level is LZ4's fast compressor, Java's
    /// default (see [`Compression::effective_level`]). Set with
    /// [`ProducerConfig::compression_level`]; checked by [`ProducerConfig::validate`].
    pub compression_levels: CompressionLevels,
    /// Time a batch waits for more records before it is sent (Java `linger.ms`). Default 5 ms.
    pub linger: Duration,
    /// Largest batch per partition, in bytes (Java `batch.size`). Default 1,000,000 as in
    /// librdkafka and franz-go: the Java client's 16 KiB holds a single 10 KiB record, which
    /// halves throughput for such records. A batch grows as records arrive; it is not allocated
    /// at this size up front.
    pub batch_size: usize,
    /// Bytes of records buffered but not yet acknowledged (Java `buffer.memory`). When full,
    /// `send` waits up to `max_block`. Default 32 MiB.
    pub buffer_memory: usize,
    /// Time `send` may wait for buffer space or topic metadata (Java `max.block.ms`). Default 60 s.
    pub max_block: Duration,
    /// Time from `send` to success or failure, retries included (Java `delivery.timeout.ms`). Default 120 s.
    pub delivery_timeout: Duration,
    /// Broker-side wait for replication with acks=all (the Produce request's timeout). Default 30 s.
    pub request_timeout: Duration,
    /// Largest Produce request, in bytes (Java `max.request.size`). Default 1 MiB.
    pub max_request_size: usize,
    /// Produce requests in flight per broker connection. Default 5.
    pub max_in_flight: usize,
    /// Exactly-once per partition: producer id, epoch and sequence numbers (Java
    /// `enable.idempotence`). `None` (default) = on when acks is `All`, as in Java.
    pub idempotence: Option<bool>,
    /// Wait between retries of a failed batch (Java `retry.backoff.ms`). Default 100 ms.
    pub retry_backoff: Duration,
    /// Transactional id: enables transactions (Java `transactional.id`).
    pub transactional_id: Option<String>,
    /// Transaction timeout the coordinator enforces (Java `transaction.timeout.ms`). Default 60 s.
    pub transaction_timeout: Duration,
    /// Partition choice for records without an explicit partition.
    pub partitioner: Arc<dyn Partitioner>,
}

impl std::fmt::Debug for ProducerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerConfig")
            .field("acks", &self.acks)
            .field("compression", &self.compression)
            .field("compression_levels", &self.compression_levels)
            .field("linger", &self.linger)
            .field("batch_size", &self.batch_size)
            .field("idempotence", &self.idempotence)
            .field("transactional_id", &self.transactional_id)
            .finish_non_exhaustive()
    }
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: Acks::All,
            compression: Compression::None,
            compression_levels: CompressionLevels::default(),
            linger: Duration::from_millis(5),
            batch_size: 1_000_000,
            buffer_memory: 32 * 1024 * 1024,
            max_block: Duration::from_secs(60),
            delivery_timeout: Duration::from_secs(120),
            request_timeout: Duration::from_secs(30),
            max_request_size: 1024 * 1024,
            max_in_flight: 5,
            idempotence: None,
            retry_backoff: Duration::from_millis(100),
            transactional_id: None,
            transaction_timeout: Duration::from_secs(60),
            partitioner: Arc::new(DefaultPartitioner),
        }
    }
}

impl ProducerConfig {
    /// Sets acks.
    pub fn acks(mut self, acks: Acks) -> Self {
        self.acks = acks;
        self
    }
    /// Sets compression.
    pub fn compression(mut self, c: Compression) -> Self {
        self.compression = c;
        self
    }
    /// Sets the level of one codec (KIP-390; Java `compression.<codec>.level`). Levels of
    /// codecs other than [`compression`](Self::compression) are kept for when it changes, so
    /// one config may carry all three. An out-of-range level (or one for `none` or `snappy`)
    /// is refused by [`validate`](Self::validate), which `Kafka::producer` calls.
    ///
    /// ```
    /// use kafkit::producer::{Compression, ProducerConfig};
    /// let config = ProducerConfig::default()
    ///     .compression(Compression::Gzip)
    ///     .compression_level(Compression::Gzip, 9)
    ///     .compression_level(Compression::Zstd, 10);
    /// config.validate().unwrap();
    ///
    /// let bad = ProducerConfig::default().compression_level(Compression::Gzip, 12);
    /// let e = bad.validate().unwrap_err().to_string();
    /// assert!(e.contains("compression.gzip.level 12 is out of range: gzip takes 1..=9"), "{e}");
    /// ```
    pub fn compression_level(mut self, codec: Compression, level: i32) -> Self {
        self.compression_levels.set(codec, Some(level));
        self
    }
    /// Sets linger.
    pub fn linger(mut self, d: Duration) -> Self {
        self.linger = d;
        self
    }
    /// Sets the batch size.
    pub fn batch_size(mut self, bytes: usize) -> Self {
        self.batch_size = bytes;
        self
    }
    /// Turns idempotence on or off explicitly.
    pub fn idempotence(mut self, on: bool) -> Self {
        self.idempotence = Some(on);
        self
    }
    /// Sets the transactional id (turns idempotence on).
    pub fn transactional_id(mut self, id: impl Into<String>) -> Self {
        self.transactional_id = Some(id.into());
        self
    }
    /// Sets the delivery timeout.
    pub fn delivery_timeout(mut self, d: Duration) -> Self {
        self.delivery_timeout = d;
        self
    }
    /// Sets the buffer memory bound.
    pub fn buffer_memory(mut self, bytes: usize) -> Self {
        self.buffer_memory = bytes;
        self
    }
    /// Sets max block.
    pub fn max_block(mut self, d: Duration) -> Self {
        self.max_block = d;
        self
    }
    /// Sets the broker-side replication wait of a Produce request (Java `request.timeout.ms`).
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = d;
        self
    }
    /// Sets the largest Produce request, in bytes (Java `max.request.size`).
    pub fn max_request_size(mut self, bytes: usize) -> Self {
        self.max_request_size = bytes;
        self
    }
    /// Sets the Produce requests in flight per broker (Java
    /// `max.in.flight.requests.per.connection`; at most 5 when idempotent).
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n;
        self
    }
    /// Sets the wait between retries of a failed batch (Java `retry.backoff.ms`).
    pub fn retry_backoff(mut self, d: Duration) -> Self {
        self.retry_backoff = d;
        self
    }
    /// Sets the transaction timeout (Java `transaction.timeout.ms`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = kafkit::producer::ProducerConfig::default().transaction_timeout(Duration::from_secs(30));
    /// assert_eq!(c.transaction_timeout, Duration::from_secs(30));
    /// ```
    pub fn transaction_timeout(mut self, d: Duration) -> Self {
        self.transaction_timeout = d;
        self
    }
    /// Sets a custom partitioner.
    pub fn partitioner(mut self, p: Arc<dyn Partitioner>) -> Self {
        self.partitioner = p;
        self
    }

    /// Whether idempotence is on after defaults are applied.
    pub fn is_idempotent(&self) -> bool {
        self.transactional_id.is_some() || self.idempotence.unwrap_or(self.acks == Acks::All)
    }

    /// Checks the options; the error names the option and the fix.
    pub fn validate(&self) -> Result<()> {
        self.compression_levels.validate()?;
        if self.is_idempotent() && self.acks != Acks::All {
            return Err(Error::config(format!(
                "idempotence (or a transactional id) needs acks=all but acks is {:?}; set acks to All, or turn idempotence off with .idempotence(false)",
                self.acks
            )));
        }
        if self.transactional_id.as_deref() == Some("") {
            return Err(Error::config(
                "transactional_id is empty; give a stable name or leave it unset",
            ));
        }
        if self.idempotence == Some(false) && self.transactional_id.is_some() {
            return Err(Error::config(
                "transactions need idempotence; remove .idempotence(false)",
            ));
        }
        if self.batch_size == 0 || self.batch_size > self.max_request_size {
            return Err(Error::config(format!(
                "batch_size {} must be between 1 and max_request_size ({})",
                self.batch_size, self.max_request_size
            )));
        }
        if self.buffer_memory < self.batch_size || self.buffer_memory > u32::MAX as usize / 2 {
            return Err(Error::config(format!(
                "buffer_memory {} must be at least batch_size ({}) and below 2 GiB",
                self.buffer_memory, self.batch_size
            )));
        }
        if self.max_in_flight == 0 {
            return Err(Error::config("max_in_flight must be at least 1"));
        }
        if self.is_idempotent() && self.max_in_flight > 5 {
            return Err(Error::config(format!(
                "max_in_flight {} is above 5, the most an idempotent producer may have (the broker keeps the last 5 batches per producer); lower it or turn idempotence off",
                self.max_in_flight
            )));
        }
        if self.delivery_timeout < self.linger + self.request_timeout {
            return Err(Error::config(format!(
                "delivery_timeout {:?} must be at least linger + request_timeout ({:?})",
                self.delivery_timeout,
                self.linger + self.request_timeout
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotence_defaults_follow_acks() {
        assert!(ProducerConfig::default().is_idempotent());
        assert!(!ProducerConfig::default().acks(Acks::Leader).is_idempotent());
        assert!(ProducerConfig::default()
            .acks(Acks::Leader)
            .validate()
            .is_ok());
        let e = ProducerConfig::default()
            .acks(Acks::Leader)
            .idempotence(true)
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("acks=all"), "{e}");
    }

    #[test]
    fn every_option_has_a_builder() {
        let c = ProducerConfig::default()
            .request_timeout(Duration::from_secs(10))
            .max_request_size(2 << 20)
            .max_in_flight(3)
            .retry_backoff(Duration::from_millis(250))
            .transaction_timeout(Duration::from_secs(20));
        assert_eq!(c.request_timeout, Duration::from_secs(10));
        assert_eq!(c.max_request_size, 2 << 20);
        assert_eq!(c.max_in_flight, 3);
        assert_eq!(c.retry_backoff, Duration::from_millis(250));
        assert_eq!(c.transaction_timeout, Duration::from_secs(20));
        c.validate().unwrap();
        let e = ProducerConfig::default()
            .max_in_flight(6)
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("above 5"), "{e}");
    }

    #[test]
    fn parses_acks() {
        assert_eq!("all".parse::<Acks>().unwrap(), Acks::All);
        assert_eq!("1".parse::<Acks>().unwrap(), Acks::Leader);
        assert!("2".parse::<Acks>().is_err());
    }

    #[test]
    fn compression_levels_are_validated() {
        let ok = ProducerConfig::default()
            .compression(Compression::Zstd)
            .compression_level(Compression::Zstd, -7)
            .compression_level(Compression::Gzip, 1);
        ok.validate().unwrap();
        assert_eq!(ok.compression_levels.get(Compression::Zstd), Some(-7));
        let e = ProducerConfig::default()
            .compression(Compression::Lz4)
            .compression_level(Compression::Lz4, 18)
            .validate()
            .unwrap_err();
        assert_eq!(e.kind(), &crate::error::ErrorKind::Config);
        let m = e.to_string();
        assert!(
            m.contains("compression.lz4.level 18 is out of range: lz4 takes 1..=17"),
            "{m}"
        );
        assert!(m.contains("leave it unset for the default (9)"), "{m}");
        let e = ProducerConfig::default()
            .compression_level(Compression::Snappy, 3)
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("no levels"), "{e}");
    }
}
