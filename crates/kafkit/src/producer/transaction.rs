//! Transactions (KIP-98) on the client side: the state a transactional producer is in and the
//! transaction coordinator's requests.
//!
//! Two protocols, chosen per cluster at `init_transactions` from the transaction coordinator's
//! finalized `transaction.version` feature (the ApiVersions response), as the Java client 4.x
//! does:
//!
//! - **Transaction version 2** (KIP-890 part 2) when the feature is finalized at 2 or above and
//!   the coordinator serves EndTxn v5: no AddPartitionsToTxn (Produce v12+ makes the partition
//!   leader add the partition), no AddOffsetsToTxn (TxnOffsetCommit v5 adds the group), and
//!   EndTxn v5 bumps the producer epoch at every transaction end and returns the new id and
//!   epoch, which the producer adopts (sequences restart at 0). A record that failed inside a
//!   transaction needs no InitProducerId after the abort: the abort's EndTxn bumps the epoch.
//! - **Transaction version 1** otherwise: partitions are added with AddPartitionsToTxn before
//!   their first batch, the group with AddOffsetsToTxn, and Produce, EndTxn and TxnOffsetCommit
//!   stay at the last versions before transaction version 2 (11, 4, 4); the epoch is bumped by
//!   InitProducerId only after a failed record (KIP-360). Every broker since 2.5 serves it.
//!
//! The choice is read again at the end of each transaction from the coordinator connection (a
//! feature upgrade is seen once the producer reconnects to its coordinator); moving from 1 to 2
//! bumps the epoch first, as the Java client does, so no partition of a V1 transaction counts as
//! added to the first V2 one.
//!
//! Over 600 lines: the state machine and the five coordinator requests share the transaction's
//! state and its retry rule; splitting them would pass that state around by hand. The choice of
//! protocol (`TransactionVersion`) lives in `transaction_version.rs`.
//!
//! One file: the transaction's state and the coordinator requests that move it
//! (InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn) each read and
//! change that state under the same retry rules; split by request, every file would reach into
//! the others' state. The version choice already lives apart (`transaction_version.rs`).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::ResponseError;
use crate::protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use crate::protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use crate::protocol::messages::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, EndTxnRequest, TxnOffsetCommitRequest,
};
use crate::protocol::wire::Request;
use tokio::time::Instant;

use super::accumulator::Ready;
use super::idempotence::{self, ProducerIdentity};
use super::transaction_version::TransactionVersion;
use super::transaction_version::END_TXN_VERSION_V2;
use super::Shared;
use crate::cluster::coordinator::{connect_coordinator, COORDINATOR_BACKOFF};
use crate::cluster::CoordinatorType;
use crate::error::{Error, ErrorKind, Result};
use crate::events::TopicPartition;
use crate::groups::offsets::{answered_name, ids_of};
use crate::groups::ConsumerGroupMetadata;
use crate::net::{Connection, Lane};

/// Highest versions before transaction version 2 (KIP-890): above them the broker would expect
/// partitions to be added implicitly and the epoch to be bumped by every EndTxn.
pub(crate) const PRODUCE_MAX_VERSION_V1: i16 = 11;
const END_TXN_MAX_VERSION_V1: i16 = 4;
const TXN_OFFSET_COMMIT_MAX_VERSION_V1: i16 = 4;
const ADD_PARTITIONS_MAX_VERSION: i16 = 3;
/// The first versions of transaction version 2: Produce adds the partition, EndTxn bumps the
/// epoch and returns it, TxnOffsetCommit adds the group.
pub(crate) const PRODUCE_MIN_VERSION_V2: i16 = 12;
const TXN_OFFSET_COMMIT_VERSION_V2: i16 = 5;
/// TxnOffsetCommit v6 names topics by id (KIP-1319).
const TXN_OFFSET_COMMIT_BY_ID: i16 = 6;

/// Backoff on CONCURRENT_TRANSACTIONS: the previous transaction's markers are still being
/// written, which takes milliseconds.
const CONCURRENT_BACKOFF: Duration = Duration::from_millis(20);

#[derive(Debug, Clone)]
enum State {
    Uninitialized,
    Ready,
    InTransaction,
    /// A record or request of the open transaction failed: only abort is possible.
    Abortable(Error),
    /// Fenced or not authorized: the producer is finished.
    Fatal(Error),
}

struct Inner {
    state: State,
    /// Partitions added to the open transaction.
    partitions: HashSet<(Arc<str>, i32)>,
    /// AddOffsetsToTxn was sent in the open transaction.
    offsets_added: bool,
    coordinator: Option<Connection>,
    /// A batch with a sequence number failed: the next abort bumps the epoch (KIP-360) so the
    /// broker's sequence tracking restarts. (With V2 the abort's EndTxn bumps it anyway.)
    bump_epoch: bool,
    /// The protocol in use; `None` before init_transactions.
    version: Option<TransactionVersion>,
}

/// The transactional part of a producer.
pub(crate) struct Txn {
    pub id: String,
    inner: Mutex<Inner>,
    /// One transaction call at a time (init, begin, send offsets, commit, abort).
    ops: tokio::sync::Mutex<()>,
}

impl Txn {
    pub fn new(id: String) -> Self {
        Txn {
            id,
            inner: Mutex::new(Inner {
                state: State::Uninitialized,
                partitions: HashSet::new(),
                offsets_added: false,
                coordinator: None,
                bump_epoch: false,
                version: None,
            }),
            ops: tokio::sync::Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_state(&self, state: State) {
        self.lock().state = state;
    }

    /// The protocol in use (`None` before init_transactions).
    pub fn version(&self) -> Option<TransactionVersion> {
        self.lock().version
    }

    fn v2(&self) -> bool {
        self.version() == Some(TransactionVersion::V2)
    }

    /// What the cached coordinator connection calls for (`None`: no connection).
    fn coordinator_version(&self) -> Option<TransactionVersion> {
        let conn = self.lock().coordinator.clone()?;
        Some(TransactionVersion::of(conn.api_versions()))
    }

    /// Whether `send` may queue records now; the error says what to call first.
    pub fn check_send(&self) -> Result<()> {
        match &self.lock().state {
            State::InTransaction => Ok(()),
            State::Uninitialized => Err(usage("send", "call init_transactions() once, then begin_transaction(), before sending with a transactional producer")),
            State::Ready => Err(usage("send", "no transaction is open; call begin_transaction() before sending")),
            State::Abortable(e) => Err(abort_needed("send", e)),
            State::Fatal(e) => Err(e.clone()),
        }
    }

    /// A record of the open transaction failed: the transaction can only be aborted.
    pub fn record_failed(&self, e: &Error, sequenced: bool) {
        let mut inner = self.lock();
        if sequenced {
            inner.bump_epoch = true;
        }
        if matches!(inner.state, State::InTransaction) {
            inner.state = State::Abortable(e.clone());
        }
    }

    fn fail(&self, shared: &Shared, e: Error) -> Error {
        if is_fatal(&e) {
            let e = fenced_or_fatal(&self.id, e);
            self.set_state(State::Fatal(e.clone()));
            shared.set_fatal(e.clone());
            e
        } else {
            let mut inner = self.lock();
            if matches!(inner.state, State::InTransaction) {
                inner.state = State::Abortable(e.clone());
            }
            e
        }
    }
}

fn usage(operation: &'static str, message: &str) -> Error {
    Error::new(ErrorKind::Config, operation, message)
}

fn abort_needed(operation: &'static str, cause: &Error) -> Error {
    Error::new(
        cause.kind().clone(),
        operation,
        format!("the open transaction failed and can only be aborted; call abort_transaction() (cause: {cause})"),
    )
}

fn is_fatal(e: &Error) -> bool {
    use ResponseError::*;
    matches!(
        e.kafka_error(),
        Some(
            ProducerFenced
                | InvalidProducerEpoch
                | TransactionalIdAuthorizationFailed
                | TransactionCoordinatorFenced
                | UnsupportedVersion
                | UnsupportedForMessageFormat
                | InvalidTransactionTimeout
                // The coordinator's state and the producer's disagree (as the Java client: fatal).
                | InvalidTxnState
                | InvalidProducerIdMapping
        )
    ) || matches!(e.kind(), ErrorKind::Fatal)
}

fn fenced_or_fatal(id: &str, e: Error) -> Error {
    use ResponseError::*;
    let message = match e.kafka_error() {
        Some(ProducerFenced | InvalidProducerEpoch | TransactionCoordinatorFenced) => format!(
            "this producer was fenced: another producer with transactional id '{id}' called init_transactions() after it; this instance can no longer write and must be closed (cause: {e})"
        ),
        Some(TransactionalIdAuthorizationFailed) => format!(
            "not authorized to use transactional id '{id}'; grant WRITE on String:{id} to this principal (cause: {e})"
        ),
        Some(InvalidTransactionTimeout) => format!(
            "the broker refused transaction_timeout; it must not exceed the broker's transaction.max.timeout.ms (cause: {e})"
        ),
        _ => format!("transactional producer '{id}' cannot continue: {e}"),
    };
    Error::new(ErrorKind::Fatal, e.operation(), message)
}

/// Runs `call` against the transaction coordinator until it succeeds, a non-retriable error
/// comes back, or `max_block` passes. Coordinator moves are followed.
async fn with_coordinator<T, F, Fut>(shared: &Shared, operation: &'static str, call: F) -> Result<T>
where
    F: Fn(Connection) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let txn = shared.txn()?;
    let deadline = Instant::now() + shared.config.max_block;
    let mut attempt = 0u32;
    loop {
        let cached = txn.lock().coordinator.clone().filter(|c| !c.is_closed());
        let conn = match cached {
            Some(c) => Ok(c),
            None => connect_coordinator(
                shared.kafka.pool(),
                CoordinatorType::Transaction,
                &txn.id,
                Lane::Group,
            )
            .await
            .map(|(_, c)| c),
        };
        let result = match conn {
            Ok(conn) => {
                txn.lock().coordinator = Some(conn.clone());
                call(conn).await
            }
            Err(e) => Err(e),
        };
        let e = match result {
            Ok(v) => return Ok(v),
            Err(e) => e.during(operation),
        };
        let Some((wait, forget)) = retry_wait(&e, attempt) else {
            return Err(e);
        };
        if forget {
            txn.lock().coordinator = None;
        }
        if Instant::now() + wait > deadline {
            return Err(Error::new(
                ErrorKind::Timeout(shared.config.max_block),
                operation,
                format!("the transaction coordinator did not complete {operation} within max_block ({:?}); last error: {e}", shared.config.max_block),
            ));
        }
        tracing::debug!(transactional_id = %txn.id, error = %e, "retrying {operation}");
        attempt += 1;
        tokio::time::sleep(wait).await;
    }
}

/// How long to wait before retrying a transaction coordinator request that failed with `e`,
/// and whether to look the coordinator up again; `None`: not retriable. The coordinator may
/// have moved: it is asked for again within a second, not after the client's retry backoff
/// (which grows to 30 s).
fn retry_wait(e: &Error, attempt: u32) -> Option<(Duration, bool)> {
    use ResponseError::*;
    match e.kafka_error() {
        Some(ConcurrentTransactions) => Some((CONCURRENT_BACKOFF, false)),
        Some(NotCoordinator | CoordinatorNotAvailable) => {
            Some((COORDINATOR_BACKOFF.backoff(attempt), true))
        }
        _ if e.is_retriable() => Some((
            COORDINATOR_BACKOFF.backoff(attempt),
            matches!(e.kind(), ErrorKind::Connection),
        )),
        _ => None,
    }
}

fn check(code: i16, operation: &'static str, what: &str) -> Result<()> {
    Error::check(code, operation, || what.to_string())
}

fn txn_id(id: &str) -> String {
    id.to_string()
}

fn timeout_ms(d: Duration) -> i32 {
    d.as_millis().min(i32::MAX as u128) as i32
}

/// InitProducerId for the transactional id: fences older instances and aborts (or completes)
/// a transaction they left open.
pub(crate) async fn init(shared: &Shared) -> Result<()> {
    let txn = shared.txn()?;
    let _op = txn.ops.lock().await;
    match &txn.lock().state {
        State::Uninitialized => {}
        State::Fatal(e) => return Err(e.clone()),
        _ => {
            return Err(usage(
                "init_transactions",
                "init_transactions() was already called on this producer",
            ))
        }
    }
    let id = get_producer_id(shared, ProducerIdentity::NONE).await?;
    shared.set_identity(id, false);
    // The coordinator that answered decides; it is cached by with_coordinator.
    let version = txn.coordinator_version().unwrap_or(TransactionVersion::V1);
    {
        let mut inner = txn.lock();
        inner.version = Some(version);
        inner.state = State::Ready;
    }
    tracing::info!(
        transactional_id = %txn.id,
        producer_id = id.id,
        epoch = id.epoch,
        transaction_version = version.level(),
        "transactions initialized ({version}{})",
        match version {
            TransactionVersion::V2 => ": partitions added by Produce, epoch bumped per transaction (KIP-890)",
            TransactionVersion::V1 => ": AddPartitionsToTxn before each partition's first batch",
        }
    );
    Ok(())
}

async fn get_producer_id(shared: &Shared, current: ProducerIdentity) -> Result<ProducerIdentity> {
    let txn = shared.txn()?;
    let timeout = timeout_ms(shared.config.transaction_timeout);
    let result = with_coordinator(shared, "init_transactions", |conn| async move {
        idempotence::init_producer_id(&conn, Some(&txn.id), timeout, current).await
    })
    .await;
    result.map_err(|e| if is_fatal(&e) { txn.fail(shared, e) } else { e })
}

/// Opens a transaction (locally: the coordinator hears of it with the first partition).
pub(crate) fn begin(shared: &Shared) -> Result<()> {
    let txn = shared.txn()?;
    let mut inner = txn.lock();
    match &inner.state {
        State::Ready => {
            inner.state = State::InTransaction;
            inner.partitions.clear();
            inner.offsets_added = false;
            Ok(())
        }
        State::Uninitialized => Err(usage(
            "begin_transaction",
            "call init_transactions() once before the first begin_transaction()",
        )),
        State::InTransaction => Err(usage(
            "begin_transaction",
            "a transaction is already open; commit_transaction() or abort_transaction() it first",
        )),
        State::Abortable(e) => Err(abort_needed("begin_transaction", e)),
        State::Fatal(e) => Err(e.clone()),
    }
}

/// Adds the partitions of `ready` batches that are new to the open transaction; returns the
/// batches that may be sent. If adding fails, the batches fail with that error and the
/// transaction becomes abortable.
pub(crate) async fn register_partitions(shared: &Shared, ready: Vec<Ready>) -> Vec<Ready> {
    let Ok(txn) = shared.txn() else {
        return ready;
    };
    let new: Vec<(Arc<str>, i32)> = {
        let inner = txn.lock();
        let mut seen = HashSet::new();
        ready
            .iter()
            .map(|r| (r.batch.topic.clone(), r.batch.partition))
            .filter(|tp| !inner.partitions.contains(tp) && seen.insert(tp.clone()))
            .collect()
    };
    if new.is_empty() {
        return ready;
    }
    if txn.v2() {
        // Produce v12+ adds the partition (the leader asks the coordinator itself).
        txn.lock().partitions.extend(new);
        return ready;
    }
    match add_partitions(shared, &new).await {
        Ok(()) => {
            txn.lock().partitions.extend(new);
            ready
        }
        Err(e) => {
            let e = txn.fail(shared, e);
            for r in ready {
                shared.sent_failed(r.batch, e.clone());
            }
            Vec::new()
        }
    }
}

async fn add_partitions(shared: &Shared, new: &[(Arc<str>, i32)]) -> Result<()> {
    let txn = shared.txn()?;
    let (pid, epoch) = shared.producer_id();
    let mut topics: Vec<AddPartitionsToTxnTopic> = Vec::new();
    for (topic, partition) in new {
        match topics.iter_mut().find(|t| t.name.as_str() == &**topic) {
            Some(t) => t.partitions.push(*partition),
            None => {
                let mut t = AddPartitionsToTxnTopic::default();
                t.name = topic.to_string();
                t.partitions = vec![*partition];
                topics.push(t);
            }
        }
    }
    let topics = &topics;
    with_coordinator(shared, "add_partitions_to_txn", |conn| async move {
        let version = conn.api_versions().pick(
            AddPartitionsToTxnRequest::KEY,
            0,
            ADD_PARTITIONS_MAX_VERSION,
        )?;
        let mut req = AddPartitionsToTxnRequest::default();
        req.v3_and_below_transactional_id = txn_id(&txn.id);
        req.v3_and_below_producer_id = pid;
        req.v3_and_below_producer_epoch = epoch;
        req.v3_and_below_topics = topics.clone();
        let resp = conn.send_version(&req, version).await?;
        // One partition's error makes the others OPERATION_NOT_ATTEMPTED; report the cause.
        let mut first: Option<(i16, String)> = None;
        for t in &resp.results_by_topic_v3_and_below {
            for p in &t.results_by_partition {
                if p.partition_error_code != 0
                    && (first.is_none() || p.partition_error_code != 55)
                    && first.as_ref().is_none_or(|(c, _)| *c == 55)
                {
                    first = Some((
                        p.partition_error_code,
                        format!("{}-{}", t.name, p.partition_index),
                    ));
                }
            }
        }
        match first {
            None => Ok(()),
            Some((code, tp)) => {
                let detail = match ResponseError::try_from_code(code) {
                    Some(ResponseError::TopicAuthorizationFailed) => {
                        format!("not authorized to write to {tp}; grant WRITE on the topic")
                    }
                    Some(ResponseError::UnknownTopicOrPartition) => {
                        format!("{tp} does not exist")
                    }
                    _ => format!("the coordinator refused to add {tp} to the transaction"),
                };
                check(code, "add_partitions_to_txn", &detail)
            }
        }
    })
    .await
}

/// Adds consumed offsets to the open transaction: they are committed for `group` if and only
/// if the transaction commits (consume-transform-produce, exactly once).
pub(crate) async fn send_offsets(
    shared: &Shared,
    offsets: &[(TopicPartition, i64)],
    group: &ConsumerGroupMetadata,
) -> Result<()> {
    let txn = shared.txn()?;
    let _op = txn.ops.lock().await;
    txn.check_send()
        .map_err(|e| e.during("send_offsets_to_transaction"))?;
    if group.group_id.is_empty() {
        return Err(usage(
            "send_offsets_to_transaction",
            "the consumer group metadata has an empty group id; pass consumer.group_metadata()",
        ));
    }
    let (pid, epoch) = shared.producer_id();
    if txn.v2() {
        // TxnOffsetCommit v5 adds the group's offsets partition to the transaction.
        let res = txn_offset_commit(shared, txn, pid, epoch, offsets, group).await;
        if res.is_ok() {
            txn.lock().offsets_added = true;
        }
        return res.map_err(|e| txn.fail(shared, e));
    }
    if !txn.lock().offsets_added {
        let group_id = &group.group_id;
        let res = with_coordinator(shared, "add_offsets_to_txn", |conn| async move {
            let mut req = AddOffsetsToTxnRequest::default();
            req.transactional_id = txn_id(&txn.id);
            req.producer_id = pid;
            req.producer_epoch = epoch;
            req.group_id = group_id.clone();
            let resp = conn.send(&req).await?;
            check(
                resp.error_code,
                "add_offsets_to_txn",
                &format!("the coordinator refused to add group '{group_id}' to the transaction"),
            )
        })
        .await;
        if let Err(e) = res {
            return Err(txn.fail(shared, e));
        }
        txn.lock().offsets_added = true;
    }
    let res = txn_offset_commit(shared, txn, pid, epoch, offsets, group).await;
    res.map_err(|e| txn.fail(shared, e))
}

async fn txn_offset_commit(
    shared: &Shared,
    txn: &Txn,
    pid: i64,
    epoch: i16,
    offsets: &[(TopicPartition, i64)],
    group: &ConsumerGroupMetadata,
) -> Result<()> {
    let mut topics: Vec<TxnOffsetCommitRequestTopic> = Vec::new();
    for (tp, offset) in offsets {
        let mut p = TxnOffsetCommitRequestPartition::default();
        p.partition_index = tp.partition;
        p.committed_offset = *offset;
        p.committed_leader_epoch = -1;
        match topics.iter_mut().find(|t| t.name.as_str() == tp.topic) {
            Some(t) => t.partitions.push(p),
            None => {
                let mut t = TxnOffsetCommitRequestTopic::default();
                t.name = tp.topic.clone();
                t.partitions = vec![p];
                topics.push(t);
            }
        }
    }
    let kafka = &shared.kafka;
    let deadline = Instant::now() + shared.config.max_block;
    let mut attempt = 0u32;
    loop {
        let result: Result<()> = async {
            let (_, conn) =
                connect_coordinator(
                    kafka.pool(),
                    CoordinatorType::Group,
                    &group.group_id,
                    Lane::Group,
                )
                    .await?;
            let (min, max) = if txn.v2() {
                (
                    TXN_OFFSET_COMMIT_VERSION_V2,
                    crate::net::versions::newest_handled::<TxnOffsetCommitRequest>(),
                )
            } else {
                (0, TXN_OFFSET_COMMIT_MAX_VERSION_V1)
            };
            let mut version = conn
                .api_versions()
                .pick(TxnOffsetCommitRequest::KEY, min, max)?;
            // v6 names topics by id (KIP-1319): only when the cache knows every id.
            let snapshot = kafka.cluster().snapshot();
            let ids = (version >= TXN_OFFSET_COMMIT_BY_ID)
                .then(|| ids_of(topics.iter().map(|t| t.name.as_str()), &snapshot))
                .flatten();
            if ids.is_none() {
                version = version.min(TXN_OFFSET_COMMIT_BY_ID - 1);
            }
            let mut req = TxnOffsetCommitRequest::default();
            req.transactional_id = txn_id(&txn.id);
            req.group_id = group.group_id.clone();
            req.producer_id = pid;
            req.producer_epoch = epoch;
            if version >= 3 {
                req.generation_id_or_member_epoch = group.generation_id;
                req.member_id = group.member_id.clone();
                req.group_instance_id = group
                    .group_instance_id
                    .clone();
            }
            req.topics = topics.clone();
            if let Some(ids) = &ids {
                for t in &mut req.topics {
                    t.topic_id = ids.get(t.name.as_str()).copied().unwrap_or_default();
                    t.name.clear();
                }
            }
            let resp = conn.send_version(&req, version).await?;
            for t in &resp.topics {
                let name = answered_name(&t.name, &t.topic_id, ids.as_ref());
                for p in &t.partitions {
                    let tp = format!("{name}-{}", p.partition_index);
                    let what = match ResponseError::try_from_code(p.error_code) {
                        Some(
                            ResponseError::IllegalGeneration
                            | ResponseError::FencedMemberEpoch
                            | ResponseError::UnknownMemberId
                            | ResponseError::FencedInstanceId,
                        ) => format!("the consumer's group membership changed before the offset of {tp} was committed; abort the transaction (the records will be processed again)"),
                        Some(ResponseError::GroupAuthorizationFailed) => format!("not authorized to commit offsets for group '{}'; grant READ on the group", group.group_id),
                        _ => format!("the group coordinator refused the offset of {tp}"),
                    };
                    check(p.error_code, "send_offsets_to_transaction", &what)?;
                }
            }
            Ok(())
        }
        .await;
        let e = match result {
            Ok(()) => return Ok(()),
            Err(e) => e.during("send_offsets_to_transaction"),
        };
        use ResponseError::*;
        let retriable = e.is_retriable()
            || matches!(
                e.kafka_error(),
                Some(ConcurrentTransactions | UnknownTopicOrPartition)
            );
        // The group coordinator may have moved: asked for again within a second.
        let wait = COORDINATOR_BACKOFF.backoff(attempt);
        if !retriable || Instant::now() + wait > deadline {
            return Err(e);
        }
        attempt += 1;
        tokio::time::sleep(wait).await;
    }
}

/// What ends a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Commit,
    Abort,
}

/// Ends the open transaction once everything sent in it has been acknowledged.
pub(crate) async fn end(shared: &Shared, how: End, flushed: Result<()>) -> Result<()> {
    let txn = shared.txn()?;
    let operation = match how {
        End::Commit => "commit_transaction",
        End::Abort => "abort_transaction",
    };
    let state = txn.lock().state.clone();
    match (&state, how) {
        (State::InTransaction, _) | (State::Abortable(_), End::Abort) => {}
        (State::Abortable(e), End::Commit) => return Err(abort_needed(operation, e)),
        (State::Fatal(e), _) => return Err(e.clone()),
        _ => {
            return Err(usage(
                operation,
                "no transaction is open; call begin_transaction() first",
            ))
        }
    }
    if how == End::Commit {
        flushed.map_err(|e| txn.fail(shared, e.during(operation)))?;
        // A record that failed while flushing made the transaction abortable.
        if let State::Abortable(e) = &txn.lock().state {
            return Err(abort_needed(operation, e));
        }
    }
    let (pid, epoch) = shared.producer_id();
    let (anything, v2) = {
        let inner = txn.lock();
        let anything = !inner.partitions.is_empty() || inner.offsets_added;
        (anything, inner.version == Some(TransactionVersion::V2))
    };
    // With V2, EndTxn answers with the bumped epoch (or a new producer id when the epoch ran out).
    let mut bumped: Option<ProducerIdentity> = None;
    if anything {
        let committed = how == End::Commit;
        let res = with_coordinator(shared, operation, |conn| async move {
            let (min, max) = if v2 {
                (END_TXN_VERSION_V2, END_TXN_VERSION_V2)
            } else {
                (0, END_TXN_MAX_VERSION_V1)
            };
            let version = conn.api_versions().pick(EndTxnRequest::KEY, min, max)?;
            let mut req = EndTxnRequest::default();
            req.transactional_id = txn_id(&txn.id);
            req.producer_id = pid;
            req.producer_epoch = epoch;
            req.committed = committed;
            let resp = conn.send_version(&req, version).await?;
            check(
                resp.error_code,
                operation,
                "the transaction coordinator refused to end the transaction",
            )?;
            Ok(
                (version >= END_TXN_VERSION_V2 && resp.producer_id >= 0).then_some(
                    ProducerIdentity {
                        id: resp.producer_id,
                        epoch: resp.producer_epoch,
                    },
                ),
            )
        })
        .await;
        match res {
            Ok(id) => bumped = id,
            Err(e) => return Err(txn.fail(shared, end_txn_error(how, e))),
        }
    }
    let failed_record = std::mem::take(&mut txn.lock().bump_epoch);
    if let Some(id) = bumped {
        // Sequences restart at 0 under the new epoch.
        shared.set_identity(id, true);
        tracing::debug!(transactional_id = %txn.id, producer_id = id.id, epoch = id.epoch, "producer epoch bumped by the end of the transaction");
    }
    // The feature may have changed since init (seen on a new coordinator connection). From V1
    // to V2 the epoch is bumped first, so nothing of the V1 transaction counts in the next one.
    let next = txn.coordinator_version();
    let upgrade = !v2 && next == Some(TransactionVersion::V2);
    if (failed_record && bumped.is_none()) || upgrade {
        // Sequence numbers have a gap (KIP-360), or the protocol changes: a new epoch.
        let (pid, epoch) = shared.producer_id();
        let current = ProducerIdentity { id: pid, epoch };
        let id = get_producer_id(shared, current).await?;
        shared.set_identity(id, true);
        tracing::info!(transactional_id = %txn.id, epoch = id.epoch, "producer epoch bumped after a failed transaction or a transaction.version change");
    }
    let mut inner = txn.lock();
    if let Some(next) = next {
        if inner.version != Some(next) {
            tracing::info!(transactional_id = %txn.id, transaction_version = next.level(), "the cluster's transaction.version changed: the next transaction uses {next}");
            inner.version = Some(next);
        }
    }
    inner.state = State::Ready;
    inner.partitions.clear();
    inner.offsets_added = false;
    Ok(())
}

/// An abort that fails with TRANSACTION_ABORTABLE cannot be retried by aborting again: as the
/// Java client does, the producer is finished.
fn end_txn_error(how: End, e: Error) -> Error {
    if how == End::Abort && e.kafka_error() == Some(ResponseError::TransactionAbortable) {
        return Error::new(
            ErrorKind::Fatal,
            e.operation(),
            format!("the transaction coordinator could not abort the transaction; close this producer and create a new one (cause: {e})"),
        );
    }
    e
}

/// Holds the transaction lock around `end` (commit and abort are exclusive with other calls).
pub(crate) async fn locked<T>(
    shared: &Shared,
    f: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let txn = shared.txn()?;
    let _op = txn.ops.lock().await;
    f.await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kafka_error(e: ResponseError) -> Error {
        Error::new(ErrorKind::Kafka(e), "end_txn", "test")
    }

    #[test]
    fn a_coordinator_state_mismatch_is_fatal() {
        assert!(is_fatal(&kafka_error(ResponseError::InvalidTxnState)));
        assert!(is_fatal(&kafka_error(
            ResponseError::InvalidProducerIdMapping
        )));
        assert!(!is_fatal(&kafka_error(
            ResponseError::ConcurrentTransactions
        )));
        assert!(!is_fatal(&kafka_error(ResponseError::TransactionAbortable)));
    }

    #[test]
    fn an_abort_refused_as_abortable_finishes_the_producer() {
        let e = end_txn_error(End::Abort, kafka_error(ResponseError::TransactionAbortable));
        assert_eq!(e.kind(), &ErrorKind::Fatal);
        assert!(is_fatal(&e));
        let e = end_txn_error(
            End::Commit,
            kafka_error(ResponseError::TransactionAbortable),
        );
        assert!(!is_fatal(&e), "a commit refused so can still be aborted");
    }

    #[test]
    fn a_lost_coordinator_is_asked_for_again_within_a_second() {
        let refused = Error::new(ErrorKind::Connection, "connect", "connection refused");
        let moved = kafka_error(ResponseError::NotCoordinator);
        let loading = kafka_error(ResponseError::CoordinatorLoadInProgress);
        for attempt in 0..40 {
            for e in [&refused, &moved, &loading] {
                let (wait, _) = retry_wait(e, attempt).expect("retriable");
                // The client's retry policy reached 30 s: a transaction waited up to 10 s
                // after the new coordinator was ready.
                assert!(wait <= Duration::from_millis(1200), "{e}: {wait:?}");
            }
        }
        assert!(retry_wait(&refused, 0).unwrap().0 <= Duration::from_millis(150));
        assert!(
            retry_wait(&refused, 0).unwrap().1,
            "the connection is to be looked up again"
        );
        assert!(retry_wait(&moved, 0).unwrap().1);
        assert!(!retry_wait(&loading, 0).unwrap().1);
        assert_eq!(
            retry_wait(&kafka_error(ResponseError::ConcurrentTransactions), 5),
            Some((CONCURRENT_BACKOFF, false))
        );
        assert_eq!(
            retry_wait(
                &kafka_error(ResponseError::TransactionalIdAuthorizationFailed),
                0
            ),
            None
        );
    }
}
