//! One error type for the whole client.
//!
//! Every failure says *what* went wrong ([`ErrorKind`]), *during which operation*, and whether
//! retrying can help ([`Error::is_retriable`]). Kafka error codes keep their protocol name
//! (`TOPIC_ALREADY_EXISTS`) so they can be looked up in the Kafka documentation.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use crate::protocol::error_codes::ResponseError;

/// Result alias used throughout kafkit.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The broker answered with a Kafka error code.
    Kafka(ResponseError),
    /// A TCP connection could not be made or broke.
    Connection,
    /// No answer within the configured time.
    Timeout(Duration),
    /// The configuration is invalid; the message names the option and the fix.
    Config,
    /// The broker sent bytes that do not decode, or broke a protocol rule.
    Protocol,
    /// The broker is too old, or lacks an API or feature kafkit needs.
    Unsupported,
    /// A record or request is larger than a configured or broker limit.
    TooLarge,
    /// The client (or this consumer/producer) was closed.
    Closed,
    /// A user callback (a rebalance hook or message handler) failed.
    Handler,
    /// Authentication failed.
    Auth,
    /// The producer was fenced or hit a fatal idempotence/transaction error.
    Fatal,
    /// Records of a partition cannot be read: a batch fails its CRC, has an unknown magic,
    /// lengths, counts or offsets that do not add up, or inflates past the consumer's memory
    /// budget. The partition stops at [`Error::partition_offset`] (nothing after it is read
    /// or committed) until the application seeks past it; the other partitions go on.
    CorruptRecord,
}

/// The cause of an error: an I/O, TLS, codec or decoding error from below.
type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// The kafkit error.
///
/// Its `Display` text is complete on its own (the cause's text included), and
/// [`source`](std::error::Error::source) gives the typed cause (an `std::io::Error`, a rustls
/// error, ...) for `anyhow`/`eyre` chains and downcasting.
///
/// ```
/// use std::error::Error as _;
/// # async fn demo() {
/// let err = kafkit::Kafka::connect(kafkit::KafkaConfig::new(["127.0.0.1:1"])).await.unwrap_err();
/// assert!(err.is_retriable());
/// let mut cause = err.source();
/// while let Some(c) = cause {
///     println!("caused by: {c}");
///     cause = c.source();
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    operation: &'static str,
    message: String,
    source: Option<Cause>,
    /// The partition and offset a consumer stopped at ([`ErrorKind::CorruptRecord`]).
    at: Option<Arc<(crate::topic_partition::TopicPartition, i64)>>,
}

/// Errors compare by kind, operation and message (causes are not comparable).
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.operation == other.operation
            && self.message == other.message
    }
}

impl Eq for Error {}

impl Error {
    /// A new error of `kind` during `operation`, with a message that names the cause and the fix.
    pub fn new(kind: ErrorKind, operation: &'static str, message: impl Into<String>) -> Self {
        Error {
            kind,
            operation,
            message: message.into(),
            source: None,
            at: None,
        }
    }

    /// Records of `partition` could not be read from `offset` on: an error saying where, why
    /// (`cause`) and how to skip them, of kind [`ErrorKind::TooLarge`] for a batch too large
    /// for the consumer's limits, [`ErrorKind::CorruptRecord`] otherwise.
    pub(crate) fn corrupt_record(
        partition: &crate::topic_partition::TopicPartition,
        offset: i64,
        skip_to: Option<i64>,
        cause: &Error,
    ) -> Self {
        let skip = match skip_to.filter(|s| *s > offset) {
            Some(s) => format!("seek {partition} to offset {s} to skip the batch"),
            None => format!("seek {partition} past offset {offset} to skip it"),
        };
        let kind = match cause.kind {
            ErrorKind::TooLarge => ErrorKind::TooLarge,
            _ => ErrorKind::CorruptRecord,
        };
        let mut e = Error::new(
            kind,
            "fetch",
            format!(
                "records of {partition} at offset {offset} cannot be read: {}; the partition stops there (the others go on, nothing after it is committed); {skip}",
                cause.message
            ),
        );
        e.at = Some(Arc::new((partition.clone(), offset)));
        e
    }

    /// The partition and offset a consumer stopped at, for records it cannot read (an error of
    /// kind [`ErrorKind::CorruptRecord`] or [`ErrorKind::TooLarge`]).
    ///
    /// ```no_run
    /// # async fn demo(consumer: kafkit::consumer::Consumer) -> kafkit::Result<()> {
    /// if let Err(e) = consumer.run_each_message(|_m| async { Ok(()) }).await {
    ///     if let Some((tp, offset)) = e.partition_offset() {
    ///         consumer.seek(tp.clone(), offset + 1)?; // skip the record that cannot be read
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn partition_offset(&self) -> Option<(&crate::topic_partition::TopicPartition, i64)> {
        self.at.as_deref().map(|(tp, o)| (tp, *o))
    }

    /// Keeps `cause` as this error's [`source`](std::error::Error::source).
    pub(crate) fn with_source(
        mut self,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.source = Some(Arc::new(cause));
        self
    }

    /// The same failure told for another operation (kind, operation, message); the cause stays.
    pub(crate) fn restate(
        mut self,
        kind: ErrorKind,
        operation: &'static str,
        message: impl Into<String>,
    ) -> Self {
        self.kind = kind;
        self.operation = operation;
        self.message = message.into();
        self
    }

    /// Appends `more` to the message (what a retry or a fallback found).
    pub(crate) fn context(mut self, more: impl std::fmt::Display) -> Self {
        if self.message.is_empty() {
            self.message = more.to_string();
        } else {
            self.message = format!("{}; {more}", self.message);
        }
        self
    }

    /// An error for a non-zero Kafka error code, or `None` for code 0.
    pub fn from_code(
        code: i16,
        operation: &'static str,
        detail: impl Into<String>,
    ) -> Option<Self> {
        ResponseError::try_from_code(code)
            .map(|e| Error::new(ErrorKind::Kafka(e), operation, detail))
    }

    /// `Ok(())` for code 0, else the error.
    pub fn check(
        code: i16,
        operation: &'static str,
        detail: impl FnOnce() -> String,
    ) -> Result<()> {
        match ResponseError::try_from_code(code) {
            None => Ok(()),
            Some(e) => Err(Error::new(ErrorKind::Kafka(e), operation, detail())),
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, "config", message)
    }

    pub(crate) fn protocol(operation: &'static str, message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Protocol, operation, message)
    }

    pub(crate) fn closed(operation: &'static str) -> Self {
        Error::new(ErrorKind::Closed, operation, "the client was closed")
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The operation that failed (for example `"create_topics"`, `"produce"`, `"heartbeat"`).
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The human-readable detail.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The Kafka error, if the broker answered with one.
    pub fn kafka_error(&self) -> Option<ResponseError> {
        match self.kind {
            ErrorKind::Kafka(e) => Some(e),
            _ => None,
        }
    }

    /// The Kafka error code, if the broker answered with one.
    pub fn code(&self) -> Option<i16> {
        self.kafka_error().map(|e| e.code())
    }

    /// Whether the same operation may succeed if tried again.
    pub fn is_retriable(&self) -> bool {
        match &self.kind {
            ErrorKind::Kafka(e) => e.is_retriable(),
            ErrorKind::Connection | ErrorKind::Timeout(_) => true,
            _ => false,
        }
    }

    /// Whether the error calls for a metadata refresh before retrying: the leader may have
    /// moved, and a broker that stopped answering (a timeout) may no longer lead anything.
    pub fn needs_metadata_refresh(&self) -> bool {
        use ResponseError::*;
        matches!(
            self.kafka_error(),
            Some(
                NotLeaderOrFollower
                    | UnknownTopicOrPartition
                    | LeaderNotAvailable
                    | UnknownTopicId
                    | FencedLeaderEpoch
                    | UnknownLeaderEpoch
                    | KafkaStorageError
                    | ReplicaNotAvailable
                    | InconsistentTopicId
            )
        ) || matches!(self.kind, ErrorKind::Connection | ErrorKind::Timeout(_))
    }

    /// Replace the operation (when a lower layer's error surfaces through a higher one).
    pub(crate) fn during(mut self, operation: &'static str) -> Self {
        self.operation = operation;
        self
    }
}

/// `UnknownTopicOrPartition` -> `UNKNOWN_TOPIC_OR_PARTITION`, the name Kafka's docs use.
pub fn kafka_error_name(e: ResponseError) -> String {
    match e {
        ResponseError::Unknown(code) => format!("UNKNOWN_ERROR_CODE_{code}"),
        e => e.name().to_string(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Kafka(e) => write!(
                f,
                "{} failed: {} (code {}{})",
                self.operation,
                kafka_error_name(*e),
                e.code(),
                if e.is_retriable() { ", retriable" } else { "" }
            )?,
            ErrorKind::Timeout(d) => write!(f, "{} timed out after {:?}", self.operation, d)?,
            kind => write!(f, "{} failed ({:?} error)", self.operation, kind)?,
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_is_kept_as_source() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = Error::new(ErrorKind::Connection, "connect", "broker down").with_source(io);
        let cause = e.source().expect("a source");
        assert!(cause.downcast_ref::<std::io::Error>().is_some());
        // Clones share the cause; equality ignores it.
        assert!(e.clone().source().is_some());
        assert_eq!(
            e,
            Error::new(ErrorKind::Connection, "connect", "broker down")
        );
        let garbage = crate::protocol::compression::decompress(
            crate::protocol::compression::Compression::Gzip,
            b"not gzip",
            1024,
        )
        .unwrap_err();
        assert!(garbage.source().is_some(), "{garbage}");
    }

    #[test]
    fn names_follow_kafka_docs() {
        assert_eq!(
            kafka_error_name(ResponseError::TopicAlreadyExists),
            "TOPIC_ALREADY_EXISTS"
        );
        assert_eq!(
            kafka_error_name(ResponseError::Unknown(999)),
            "UNKNOWN_ERROR_CODE_999"
        );
    }

    #[test]
    fn code_zero_is_ok_and_others_carry_retriability() {
        assert!(Error::from_code(0, "x", "").is_none());
        let e = Error::from_code(6, "produce", "partition t-0").unwrap();
        assert!(e.is_retriable());
        assert!(e.needs_metadata_refresh());
        assert_eq!(e.code(), Some(6));
        let text = e.to_string();
        assert!(text.contains("NOT_LEADER_OR_FOLLOWER"), "{text}");
        let fatal = Error::from_code(36, "create_topics", "").unwrap();
        assert!(!fatal.is_retriable());
    }
}
