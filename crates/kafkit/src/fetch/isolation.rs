//! Which records a fetch may return: a rule of the Fetch request itself (its isolation level),
//! shared by every reader of partitions.

/// Whether records of open or aborted transactions are read.
///
/// ```
/// use kafkit::consumer::{ConsumerConfig, IsolationLevel};
/// let config = ConsumerConfig::new("g").isolation_level(IsolationLevel::ReadUncommitted);
/// assert_eq!(config.isolation_level, IsolationLevel::ReadUncommitted);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolationLevel {
    /// Every record, committed or not.
    ReadUncommitted = 0,
    /// Only records of committed transactions, up to the last stable offset (the default).
    ReadCommitted = 1,
}
