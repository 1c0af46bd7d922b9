//! Producers and transactions (KIP-664): the active producers of partitions, transactions
//! listed and described by their coordinators, and fencing producers by transactional id.

use std::collections::BTreeMap;

use crate::protocol::messages::describe_producers_request::TopicRequest;
use crate::protocol::messages::{
    DescribeProducersRequest, DescribeTransactionsRequest, ListTransactionsRequest,
};

use super::{check, str_bytes, topic_name, Admin};
use crate::cluster::coordinator::find_coordinator_retrying;
use crate::cluster::producer_id::{init_producer_id, ProducerIdentity};
use crate::cluster::CoordinatorType;
use crate::error::{Error, ErrorKind, ResponseError, Result};
use crate::events::TopicPartition;
use crate::net::Lane;

/// A producer that wrote to a partition recently (its state is kept until
/// `producer.id.expiration.ms`).
///
/// ```no_run
/// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
/// use kafkit::TopicPartition;
/// for p in admin.describe_producers(&[TopicPartition::new("orders", 0)]).await? {
///     println!("{} id {} epoch {} open txn at {:?}", p.partition, p.producer_id, p.producer_epoch, p.current_txn_start_offset);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerState {
    /// Partition.
    pub partition: TopicPartition,
    /// Producer id.
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i32,
    /// Last sequence number written.
    pub last_sequence: i32,
    /// Timestamp of its last write (ms).
    pub last_timestamp: i64,
    /// Epoch of the transaction coordinator that last wrote a marker, -1 if none.
    pub coordinator_epoch: i32,
    /// First offset of its open transaction, if one is open.
    pub current_txn_start_offset: Option<i64>,
}

/// A transaction as a coordinator lists it.
///
/// ```no_run
/// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
/// for t in admin.list_transactions(&["Ongoing"]).await? {
///     println!("{} producer {} {}", t.transactional_id, t.producer_id, t.state);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionListing {
    /// Transactional id.
    pub transactional_id: String,
    /// Producer id.
    pub producer_id: i64,
    /// State: `Empty`, `Ongoing`, `PrepareCommit`, `PrepareAbort`, `CompleteCommit`,
    /// `CompleteAbort`, `Dead`, `PrepareEpochFence`.
    pub state: String,
}

/// A described transaction.
///
/// ```no_run
/// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
/// let t = &admin.describe_transactions(&["orders-enricher-1"]).await?[0];
/// println!("{} since {} on {:?}", t.state, t.start_time_ms, t.partitions);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionDescription {
    /// Transactional id.
    pub transactional_id: String,
    /// Node id of its coordinator.
    pub coordinator: i32,
    /// State (see [`TransactionListing::state`]).
    pub state: String,
    /// Transaction timeout (ms).
    pub timeout_ms: i32,
    /// When the open transaction started (ms), -1 if none is open.
    pub start_time_ms: i64,
    /// Producer id.
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// Partitions in the open transaction, sorted.
    pub partitions: Vec<TopicPartition>,
}

impl Admin {
    /// The active producers of each partition, asked of its leader, sorted by partition and
    /// producer id.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// let parts = admin.partitions_of("orders").await?;
    /// let open = admin.describe_producers(&parts).await?
    ///     .into_iter()
    ///     .filter(|p| p.current_txn_start_offset.is_some())
    ///     .count();
    /// # Ok(()) }
    /// ```
    pub async fn describe_producers(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<Vec<ProducerState>> {
        let mut out = Vec::new();
        for (leader, topics) in self.leaders(partitions, "describe_producers").await? {
            let conn = self.broker(leader).await?;
            let mut req = DescribeProducersRequest::default();
            req.topics = topics
                .iter()
                .map(|(t, parts)| {
                    let mut r = TopicRequest::default();
                    r.name = topic_name(t);
                    r.partition_indexes = parts.clone();
                    r
                })
                .collect();
            let resp = conn
                .send(&req)
                .await
                .map_err(|e| e.during("describe_producers"))?;
            for t in &resp.topics {
                for p in &t.partitions {
                    let tp = TopicPartition::new(t.name.to_string(), p.partition_index);
                    check(
                        p.error_code,
                        p.error_message.as_ref(),
                        "describe_producers",
                        || tp.to_string(),
                    )?;
                    for s in &p.active_producers {
                        out.push(ProducerState {
                            partition: tp.clone(),
                            producer_id: s.producer_id,
                            producer_epoch: s.producer_epoch,
                            last_sequence: s.last_sequence,
                            last_timestamp: s.last_timestamp,
                            coordinator_epoch: s.coordinator_epoch,
                            current_txn_start_offset: Some(s.current_txn_start_offset)
                                .filter(|o| *o >= 0),
                        });
                    }
                }
            }
        }
        out.sort_by(|a, b| (&a.partition, a.producer_id).cmp(&(&b.partition, b.producer_id)));
        Ok(out)
    }

    /// Every transaction the coordinators know, on every broker, in these states (all when
    /// `states` is empty), sorted by transactional id.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// let all = admin.list_transactions(&[]).await?;
    /// println!("{} transactional ids", all.len());
    /// # Ok(()) }
    /// ```
    pub async fn list_transactions(&self, states: &[&str]) -> Result<Vec<TransactionListing>> {
        let nodes: Vec<i32> = self
            .describe_cluster()
            .await?
            .brokers
            .iter()
            .map(|b| b.node_id)
            .collect();
        let mut out = BTreeMap::new();
        for node in nodes {
            let conn = self.broker(node).await?;
            let mut req = ListTransactionsRequest::default();
            req.state_filters = states.iter().map(|s| str_bytes(s)).collect();
            req.duration_filter = -1;
            let resp = conn
                .send(&req)
                .await
                .map_err(|e| e.during("list_transactions"))?;
            Error::check(resp.error_code, "list_transactions", || {
                format!("broker {node}")
            })?;
            if !resp.unknown_state_filters.is_empty() {
                let unknown: Vec<String> = resp
                    .unknown_state_filters
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                return Err(Error::config(format!(
                    "unknown transaction states {unknown:?}; use Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, PrepareEpochFence"
                )));
            }
            for t in resp.transaction_states {
                let l = TransactionListing {
                    transactional_id: t.transactional_id.to_string(),
                    producer_id: t.producer_id,
                    state: t.transaction_state.to_string(),
                };
                out.insert(l.transactional_id.clone(), l);
            }
        }
        Ok(out.into_values().collect())
    }

    /// Describes transactions, each asked of its coordinator, in the order given. An id the
    /// coordinator does not know fails with `TRANSACTIONAL_ID_NOT_FOUND`.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// for t in admin.describe_transactions(&["orders-enricher-1"]).await? {
    ///     println!("{}: {}", t.transactional_id, t.state);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn describe_transactions(&self, ids: &[&str]) -> Result<Vec<TransactionDescription>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let node = self.transaction_coordinator(id).await?;
            let conn = self.kafka.pool().get(node, Lane::General).await?;
            let mut req = DescribeTransactionsRequest::default();
            req.transactional_ids = vec![str_bytes(id)];
            let resp = conn
                .send(&req)
                .await
                .map_err(|e| e.during("describe_transactions"))?;
            let t = resp.transaction_states.into_iter().next().ok_or_else(|| {
                Error::protocol("describe_transactions", format!("no answer for '{id}'"))
            })?;
            Error::check(t.error_code, "describe_transactions", || {
                match ResponseError::try_from_code(t.error_code) {
                Some(ResponseError::TransactionalIdNotFound) => format!("transactional id '{id}' is unknown to its coordinator (never used, or expired)"),
                _ => format!("transactional id '{id}'"),
            }
            })?;
            let mut partitions: Vec<TopicPartition> = t
                .topics
                .iter()
                .flat_map(|d| {
                    d.partitions
                        .iter()
                        .map(move |p| TopicPartition::new(d.topic.to_string(), *p))
                })
                .collect();
            partitions.sort();
            out.push(TransactionDescription {
                transactional_id: t.transactional_id.to_string(),
                coordinator: node,
                state: t.transaction_state.to_string(),
                timeout_ms: t.transaction_timeout_ms,
                start_time_ms: t.transaction_start_time_ms,
                producer_id: t.producer_id,
                producer_epoch: t.producer_epoch,
                partitions,
            });
        }
        Ok(out)
    }

    /// Fences the producers of these transactional ids: their coordinator bumps the epoch
    /// (aborting an open transaction), so a zombie instance's next write or commit fails with
    /// `PRODUCER_FENCED`. Returns the new `(producer id, epoch)` of each, in order.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// let fenced = admin.fence_producers(&["orders-enricher-1"]).await?;
    /// println!("now at epoch {}", fenced[0].1);
    /// # Ok(()) }
    /// ```
    pub async fn fence_producers(&self, ids: &[&str]) -> Result<Vec<(i64, i16)>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if id.is_empty() {
                return Err(Error::config(
                    "fence_producers: a transactional id is empty",
                ));
            }
            // The first InitProducerId starts aborting an open transaction and answers
            // CONCURRENT_TRANSACTIONS until the abort is written: ask again until then.
            let deadline = tokio::time::Instant::now() + self.kafka.config().request_timeout;
            let who = loop {
                let attempt = async {
                    let node = self.transaction_coordinator(id).await?;
                    let conn = self.kafka.pool().get(node, Lane::General).await?;
                    // A short transaction timeout: the id is only fenced, never used.
                    init_producer_id(&conn, Some(id), 1000, ProducerIdentity::NONE).await
                };
                match attempt.await {
                    Ok(who) => break who,
                    Err(e)
                        if (e.is_retriable()
                            || e.kafka_error() == Some(ResponseError::ConcurrentTransactions))
                            && tokio::time::Instant::now() < deadline =>
                    {
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                    Err(e) => {
                        let msg = format!("transactional id '{id}': {}", e.message());
                        let kind = e.kind().clone();
                        return Err(e.restate(kind, "fence_producers", msg));
                    }
                }
            };
            out.push((who.id, who.epoch));
        }
        Ok(out)
    }

    async fn transaction_coordinator(&self, id: &str) -> Result<i32> {
        if id.is_empty() {
            return Err(Error::new(
                ErrorKind::Config,
                "transactions",
                "the transactional id is empty",
            ));
        }
        find_coordinator_retrying(
            self.kafka.pool(),
            &self.kafka.config().retry,
            CoordinatorType::Transaction,
            id,
        )
        .await
    }
}
