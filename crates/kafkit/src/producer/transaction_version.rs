//! Which transaction protocol a transactional producer speaks (KIP-890), and how it is chosen
//! from a broker's ApiVersions answer. The requests of either live in `transaction.rs`.

use crate::protocol::messages::EndTxnRequest;
use crate::protocol::wire::Request;

/// The first EndTxn version of transaction version 2: it bumps the epoch and returns it.
pub(crate) const END_TXN_VERSION_V2: i16 = 5;

/// Which transaction protocol a transactional producer speaks with the cluster (KIP-890).
///
/// Chosen per cluster by [`Producer::init_transactions`](super::Producer::init_transactions):
/// [`V2`](TransactionVersion::V2) when the cluster has finalized the `transaction.version`
/// feature at 2 or above (the default of clusters created with Apache Kafka 4.0 and later),
/// [`V1`](TransactionVersion::V1) otherwise. Ask
/// [`Producer::transaction_version`](super::Producer::transaction_version); the
/// "transactions initialized" log line (`tracing`, INFO) says it too.
///
/// ```no_run
/// # async fn demo(kafka: kafkit::Kafka) -> kafkit::Result<()> {
/// use kafkit::producer::{ProducerConfig, TransactionVersion};
/// let producer = kafka.producer(ProducerConfig::default().transactional_id("orders-etl"))?;
/// producer.init_transactions().await?;
/// match producer.transaction_version() {
///     Some(TransactionVersion::V2) => println!("KIP-890 transactions: epoch bumped per transaction"),
///     Some(v) => println!("transaction version {}", v.level()),
///     None => unreachable!("initialized above"),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TransactionVersion {
    /// The classic protocol (KIP-98): AddPartitionsToTxn and AddOffsetsToTxn before the
    /// records and offsets of each transaction; the epoch stays across transactions.
    V1,
    /// KIP-890 part 2: partitions and groups join the transaction implicitly (Produce v12+,
    /// TxnOffsetCommit v5) and every EndTxn (v5) bumps the producer epoch.
    V2,
}

impl TransactionVersion {
    /// The `transaction.version` level this protocol corresponds to (1 or 2).
    pub fn level(self) -> i16 {
        match self {
            TransactionVersion::V1 => 1,
            TransactionVersion::V2 => 2,
        }
    }

    /// What a broker's ApiVersions answer calls for: V2 when `transaction.version` is
    /// finalized at 2 or above and EndTxn v5 is served, V1 otherwise.
    pub(crate) fn of(versions: &crate::net::versions::ApiVersions) -> TransactionVersion {
        let finalized = versions.feature("transaction.version").unwrap_or(0);
        let end_txn_v5 = versions
            .range(EndTxnRequest::KEY)
            .is_some_and(|(_, max)| max >= END_TXN_VERSION_V2);
        if finalized >= 2 && end_txn_v5 {
            TransactionVersion::V2
        } else {
            TransactionVersion::V1
        }
    }
}

impl std::fmt::Display for TransactionVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "transaction version {}", self.level())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::versions::ApiVersions;

    fn broker(end_txn_max: Option<i16>, transaction_version: Option<i16>) -> ApiVersions {
        use crate::protocol::messages::api_versions_response::{ApiVersion, FinalizedFeatureKey};
        use crate::protocol::messages::ApiVersionsResponse;
        let mut resp = ApiVersionsResponse::default();
        if let Some(max) = end_txn_max {
            let mut v = ApiVersion::default();
            v.api_key = EndTxnRequest::KEY;
            v.max_version = max;
            resp.api_keys.push(v);
        }
        if let Some(level) = transaction_version {
            let mut f = FinalizedFeatureKey::default();
            f.name = "transaction.version".into();
            f.max_version_level = level;
            f.min_version_level = level;
            resp.finalized_features.push(f);
        }
        ApiVersions::from_response(&resp)
    }

    #[test]
    fn v2_only_when_the_cluster_finalizes_it_and_end_txn_v5_is_served() {
        use TransactionVersion::*;
        // Kafka 4.x formatted with its defaults: transaction.version 2.
        assert_eq!(TransactionVersion::of(&broker(Some(5), Some(2))), V2);
        assert_eq!(TransactionVersion::of(&broker(Some(5), Some(3))), V2);
        // Finalized at 1 or 0 (storage format --feature transaction.version=1), or absent
        // (Kafka 3.x): V1 although the broker knows EndTxn v5.
        assert_eq!(TransactionVersion::of(&broker(Some(5), Some(1))), V1);
        assert_eq!(TransactionVersion::of(&broker(Some(5), Some(0))), V1);
        assert_eq!(TransactionVersion::of(&broker(Some(4), None)), V1);
        // A feature without the API to go with it is not trusted.
        assert_eq!(TransactionVersion::of(&broker(Some(4), Some(2))), V1);
        assert_eq!(TransactionVersion::of(&broker(None, Some(2))), V1);
        assert_eq!(V2.level(), 2);
        assert_eq!(V1.to_string(), "transaction version 1");
    }
}
