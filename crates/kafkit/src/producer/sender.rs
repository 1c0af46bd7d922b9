//! The sender task: drains ready batches into one Produce request per leader, sends them
//! concurrently, and settles each batch from the response (ack, retry in order, or fail).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::error::ResponseError;
use crate::protocol::messages::{ProduceRequest, ProduceResponse};
use crate::protocol::wire::{Message, Request};
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::Instrument;

use super::accumulator::{Batch, DrainLimits, Ready};
use super::config::Acks;
use super::idempotence::restamp;
use super::record::BatchOutcome;
use super::request::{self, PartitionData, ProduceFields, TopicData};
use super::Shared;
use crate::error::{Error, ErrorKind, Result};
use crate::events::Event;
use crate::net::{Connection, Lane};
use crate::protocol::record_batch::BatchParams;

/// A Produce request's batches coming back with the outcome.
pub(crate) struct Sent {
    batches: Vec<Batch>,
    result: Result<Option<ProduceResponse>>,
}

pub(crate) async fn run(shared: Arc<Shared>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Sent>();
    let mut leaders = Leaders::new();
    let limits = DrainLimits {
        linger: shared.config.linger,
        delivery_timeout: shared.config.delivery_timeout,
        max_in_flight_per_partition: shared.config.max_in_flight,
        idempotent: shared.idempotent,
    };
    let client_id: Arc<str> = Arc::from(shared.kafka.config().client_id.as_str());
    loop {
        if shared.idempotent && !shared.producer_id_ready().await {
            // Fatal: everything has been failed; wait for close.
            if shared.is_closed_and_empty() {
                return;
            }
            shared.wake.notified().await;
            continue;
        }
        let now = Instant::now();
        let snapshot = shared.kafka.cluster().snapshot();
        let drained = {
            let mut acc = shared.lock();
            if shared.reset_pending() {
                // Epoch reset waits until nothing is in flight.
                Default::default()
            } else {
                acc.drain(now, &limits, |topic, p| {
                    snapshot
                        .topic(topic)
                        .and_then(|t| t.partition(p))
                        .map(|p| p.leader)
                        .filter(|l| *l >= 0)
                })
            }
        };
        for b in drained.expired {
            let err = expired_error(&shared, &b, b.attempts, b.last_error.as_ref());
            shared.finish(&b, Err(err));
        }
        if drained.need_metadata {
            shared.kafka.cluster().invalidate();
        }
        let ready = if shared.txn.is_some() && !drained.ready.is_empty() {
            super::transaction::register_partitions(&shared, drained.ready).await
        } else {
            drained.ready
        };
        if !ready.is_empty() {
            dispatch(&shared, &mut leaders, ready, &tx);
        }
        if shared.is_closed_and_empty() {
            return;
        }
        // Waiting for metadata: look again after the retry backoff, whatever else is due later.
        let metadata_due = drained
            .need_metadata
            .then(|| now + shared.config.retry_backoff);
        let wake_at = [drained.next_wakeup, metadata_due]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or_else(|| now + Duration::from_secs(3600));
        tokio::select! {
            _ = shared.wake.notified() => {}
            Some(sent) = rx.recv() => {
                settle(&shared, sent);
                while let Ok(more) = rx.try_recv() {
                    settle(&shared, more);
                }
            }
            _ = tokio::time::sleep_until(wake_at) => {}
        }
        let used = shared.config.buffer_memory - shared.memory.available_permits();
        crate::metrics::buffer_used(&client_id, used);
    }
}

/// Groups ready batches by leader and sends one request per leader (split at max_request_size).
fn dispatch(
    shared: &Arc<Shared>,
    leaders: &mut Leaders,
    ready: Vec<Ready>,
    tx: &mpsc::UnboundedSender<Sent>,
) {
    let mut by_leader: HashMap<i32, Vec<Batch>> = HashMap::new();
    for Ready { leader, mut batch } in ready {
        if batch.data.is_none() {
            if let Err(e) = encode(shared, &mut batch) {
                shared.finish(&batch, Err(e));
                continue;
            }
        }
        by_leader.entry(leader).or_default().push(batch);
    }
    for (leader, batches) in by_leader {
        let mut request: Vec<Batch> = Vec::new();
        let mut size = 0;
        for b in batches {
            let len = b.data.as_ref().map_or(0, Bytes::len);
            if !request.is_empty() && size + len > shared.config.max_request_size {
                spawn_request(shared, leaders, leader, std::mem::take(&mut request), tx);
                size = 0;
            }
            size += len;
            request.push(b);
        }
        if !request.is_empty() {
            spawn_request(shared, leaders, leader, request, tx);
        }
    }
}

/// Encodes a batch on its first send, stamped with the producer id, epoch and sequence.
fn encode(shared: &Shared, batch: &mut Batch) -> Result<()> {
    let (producer_id, producer_epoch) = shared.producer_id();
    let Some(mut builder) = batch.builder.take() else {
        return Err(Error::protocol(
            "produce",
            "batch has neither records nor encoded data",
        ));
    };
    let data = builder.build(BatchParams {
        producer_id,
        producer_epoch,
        base_sequence: batch.base_sequence,
        transactional: shared.config.transactional_id.is_some(),
        is_control: false,
    })?;
    batch.data = Some(data);
    Ok(())
}

/// Per leader, one task puts requests on the connection in the order they were drained, so
/// a partition's sequence numbers reach the broker in order; responses are awaited apart.
pub(crate) type Leaders = HashMap<i32, mpsc::UnboundedSender<Vec<Batch>>>;

fn spawn_request(
    shared: &Arc<Shared>,
    leaders: &mut Leaders,
    leader: i32,
    batches: Vec<Batch>,
    tx: &mpsc::UnboundedSender<Sent>,
) {
    let queue = leaders.entry(leader).or_insert_with(|| {
        let (qtx, mut qrx) = mpsc::unbounded_channel::<Vec<Batch>>();
        let (shared, tx) = (shared.clone(), tx.clone());
        tokio::spawn(async move {
            while let Some(batches) = qrx.recv().await {
                match send(&shared, leader, &batches).await {
                    Ok(Some((conn, response))) => {
                        let (tx, shared) = (tx.clone(), shared.clone());
                        tokio::spawn(async move {
                            let result = tokio::select! {
                                r = response => r.map(|r| {
                                    throttled(&shared, conn.addr(), r.throttle_time_ms);
                                    Some(r)
                                }),
                                e = leadership_moved(&shared, leader, &batches) => {
                                    // Everything else queued on that socket fails now too (a
                                    // frozen broker reads nothing: writes to it would wait
                                    // for the request timeout) and is retried in order.
                                    shared.kafka.pool().mark_suspect(conn.addr());
                                    conn.abandon(e.clone());
                                    Err(e)
                                }
                            };
                            let _ = tx.send(Sent { batches, result });
                        });
                    }
                    Ok(None) => {
                        let _ = tx.send(Sent {
                            batches,
                            result: Ok(None),
                        });
                    }
                    Err(e) => {
                        let _ = tx.send(Sent {
                            batches,
                            result: Err(e),
                        });
                    }
                }
            }
        });
        qtx
    });
    if let Err(mpsc::error::SendError(batches)) = queue.send(batches) {
        // The leader's task is gone (cannot happen while the sender runs): fail over to a retry.
        leaders.remove(&leader);
        let _ = tx.send(Sent {
            batches,
            result: Err(Error::closed("produce")),
        });
    }
}

/// A produce with no answer after this long asks whether its partitions' leader moved.
const LEADER_CHECK_AFTER: Duration = Duration::from_secs(2);

/// How often it asks again while the answer is still missing.
const LEADER_CHECK_EVERY: Duration = Duration::from_secs(1);

/// Resolves once metadata names another leader for one of the partitions of a request sent
/// to `leader` and still unanswered: the error to settle the request with (a timeout, retried
/// at the new leader). Never resolves while the leadership stays.
///
/// A hung broker (process frozen, socket open) keeps a produce waiting for the whole request
/// timeout, long after the controller has moved its partitions (it fences a silent broker
/// after `broker.session.timeout.ms`). Giving up on the request then is as safe as its timeout:
/// an idempotent batch resent with the same sequence numbers is written once (the new leader
/// has it or appends it; the fenced broker's late answer is dropped), and a non-idempotent one
/// may be duplicated exactly as after any timeout.
async fn leadership_moved(shared: &Shared, leader: i32, batches: &[Batch]) -> Error {
    let started = Instant::now();
    tokio::time::sleep(LEADER_CHECK_AFTER).await;
    loop {
        if let Some((b, now)) = moved_partition(shared, leader, batches) {
            return Error::new(
                ErrorKind::Timeout(started.elapsed()),
                "produce",
                format!(
                    "the leader of {}-{} moved from broker {leader} to broker {now} while the request waited for an answer; sending it there",
                    b.topic, b.partition
                ),
            );
        }
        shared.kafka.cluster().invalidate();
        tokio::time::sleep(LEADER_CHECK_EVERY).await;
    }
}

/// The first of `batches` whose partition metadata now says is led by another broker than
/// `leader`, with that broker.
fn moved_partition<'a>(
    shared: &Shared,
    leader: i32,
    batches: &'a [Batch],
) -> Option<(&'a Batch, i32)> {
    let snapshot = shared.kafka.cluster().snapshot();
    batches.iter().find_map(|b| {
        let p = snapshot.topic(&b.topic)?.partition(b.partition)?;
        (p.leader >= 0 && p.leader != leader).then_some((b, p.leader))
    })
}

/// Resolves once metadata names another leader for one of `batches` (checked every 50 ms):
/// the error to retry them with, at the new leader.
async fn leader_replaced(shared: &Shared, leader: i32, batches: &[Batch]) -> Error {
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Some((b, now)) = moved_partition(shared, leader, batches) {
            return Error::new(
                ErrorKind::Connection,
                "produce",
                format!(
                    "the leader of {}-{} moved from broker {leader} to broker {now} while connecting; sending there",
                    b.topic, b.partition
                ),
            );
        }
    }
}

/// Queues one Produce request; returns its connection and the future of its response (`None`
/// with acks=0).
async fn send(
    shared: &Shared,
    leader: i32,
    batches: &[Batch],
) -> Result<
    Option<(
        Connection,
        futures::future::BoxFuture<'static, Result<ProduceResponse>>,
    )>,
> {
    // A dead leader's connection may be in its reconnect backoff (up to a second): the wait
    // ends as soon as metadata names another leader, and the batches go there.
    let conn = tokio::select! {
        c = shared.kafka.pool().get(leader, Lane::General) => c?,
        e = leader_replaced(shared, leader, batches) => return Err(e),
    };
    // Transactions: V1 stays at the last Produce version before KIP-890 part 2 (the broker
    // would otherwise add partitions itself); V2 needs v12+ (the broker adds them).
    let version = match shared.txn.as_ref().and_then(|t| t.version()) {
        Some(super::TransactionVersion::V1) => conn.api_versions().pick(
            ProduceRequest::KEY,
            ProduceRequest::VERSIONS.0,
            super::transaction::PRODUCE_MAX_VERSION_V1,
        )?,
        Some(super::TransactionVersion::V2) => conn.api_versions().pick(
            ProduceRequest::KEY,
            super::transaction::PRODUCE_MIN_VERSION_V2,
            crate::net::versions::newest_handled::<ProduceRequest>(),
        )?,
        _ => conn.version::<ProduceRequest>()?,
    };
    let snapshot = shared.kafka.cluster().snapshot();
    let mut topics: Vec<TopicData<'_>> = Vec::new();
    let mut message_count = 0i64;
    for b in batches {
        let Some(records) = b.data.as_ref() else {
            return Err(Error::protocol(
                "produce",
                "batch sent before it was encoded",
            ));
        };
        message_count += i64::from(b.record_count);
        if b.attempts == 0 {
            crate::metrics::batch_sent(&b.topic, records.len(), b.record_count);
            if shared.kafka.has_listeners() {
                shared.kafka.emit(Event::BatchSend {
                    topic: b.topic.to_string(),
                    partition: b.partition,
                    records: b.record_count,
                    queue_time: b.created.elapsed(),
                });
            }
        }
        let pos = match topics.iter().position(|t| t.name == &*b.topic) {
            Some(i) => i,
            None => {
                topics.push(TopicData {
                    name: &b.topic,
                    id: snapshot.topic(&b.topic).map(|t| t.id).unwrap_or_default(),
                    partitions: Vec::new(),
                });
                topics.len() - 1
            }
        };
        topics[pos].partitions.push(PartitionData {
            partition: b.partition,
            records,
        });
    }
    // OpenTelemetry messaging conventions; the request's own span nests inside.
    let span = tracing::debug_span!(
        "kafka.produce",
        otel.name = "send",
        messaging.system = "kafka",
        messaging.operation.type = "send",
        messaging.operation.name = "send",
        messaging.destination.name = topics.first().map(|t| t.name),
        messaging.batch.message_count = message_count,
        messaging.client.id = %shared.kafka.config().client_id,
        server.address = conn.addr(),
    );
    let correlation_id = conn.next_correlation_id();
    let frame = request::encode(
        &ProduceFields {
            version,
            correlation_id,
            client_id: conn.client_id(),
            transactional_id: shared.config.transactional_id.as_deref(),
            acks: shared.config.acks.code(),
            timeout_ms: shared
                .config
                .request_timeout
                .as_millis()
                .min(i32::MAX as u128) as i32,
        },
        &topics,
    )?;
    if shared.config.acks == Acks::None {
        conn.send_oneway_frame(frame)?;
        return Ok(None);
    }
    // As the Java client: the broker has request_timeout to replicate, and the client waits
    // that long in all; a longer wait only delays the move to a new leader.
    let timeout = shared.config.request_timeout;
    let response = conn
        .enqueue_frame::<ProduceRequest>(frame, correlation_id, version, timeout)
        .instrument(span)
        .await?;
    Ok(Some((conn, Box::pin(response))))
}

/// Says a Produce answer's throttle time (a quota), when it has one.
fn throttled(shared: &Shared, broker: &str, throttle_ms: i32) {
    if throttle_ms > 0 {
        shared.kafka.emit(Event::Throttle {
            broker: broker.to_string(),
            api: "Produce",
            throttle: Duration::from_millis(u64::try_from(throttle_ms).unwrap_or(0)),
        });
    }
}

/// Applies one Produce outcome to its batches.
fn settle(shared: &Arc<Shared>, sent: Sent) {
    let Sent { batches, result } = sent;
    let resp = match result {
        Ok(r) => r,
        Err(e) => {
            if e.needs_metadata_refresh() {
                shared.kafka.cluster().invalidate();
            }
            for b in batches {
                retry_or_fail(shared, b, e.clone());
            }
            return;
        }
    };
    let Some(resp) = resp else {
        // acks=0: nothing to wait for.
        for b in batches {
            shared.sent_ok(
                b,
                BatchOutcome {
                    base_offset: -1,
                    log_append_time: -1,
                    log_start_offset: -1,
                },
            );
        }
        return;
    };
    let snapshot = shared.kafka.cluster().snapshot();
    let endpoints = crate::cluster::metadata::hinted_endpoints(
        resp.node_endpoints
            .iter()
            .map(|e| (e.node_id, e.host.as_str(), e.port)),
    );
    let mut outcomes: HashMap<(String, i32), _> = HashMap::new();
    for t in resp.responses {
        let name = if t.name.is_empty() {
            snapshot
                .topic_names
                .get(&t.topic_id)
                .cloned()
                .unwrap_or_default()
        } else {
            t.name.to_string()
        };
        for p in t.partition_responses {
            outcomes.insert((name.clone(), p.index), p);
        }
    }
    for b in batches {
        let Some(p) = outcomes.remove(&(b.topic.to_string(), b.partition)) else {
            let e = Error::protocol(
                "produce",
                format!(
                    "the broker's Produce response has no result for {}-{}",
                    b.topic, b.partition
                ),
            );
            retry_or_fail(shared, b, e);
            continue;
        };
        match ResponseError::try_from_code(p.error_code) {
            None => shared.sent_ok(
                b,
                BatchOutcome {
                    base_offset: p.base_offset,
                    log_append_time: p.log_append_time_ms,
                    log_start_offset: p.log_start_offset,
                },
            ),
            // Already written by an earlier attempt whose response was lost.
            Some(ResponseError::DuplicateSequenceNumber) => shared.sent_ok(
                b,
                BatchOutcome {
                    base_offset: -1,
                    log_append_time: -1,
                    log_start_offset: -1,
                },
            ),
            Some(code) => {
                let detail = p.error_message.as_deref().map(str::to_string).or_else(|| {
                    p.record_errors
                        .first()
                        .and_then(|r| r.batch_index_error_message.as_deref().map(str::to_string))
                });
                let e = produce_error(code, &b, detail, shared.config.max_request_size);
                // KIP-951: the broker names the new leader; the retry goes there at once.
                let leader = p.current_leader.leader_id;
                let hinted = shared.kafka.cluster().apply_leader_hint(
                    &b.topic,
                    b.partition,
                    leader,
                    p.current_leader.leader_epoch,
                    endpoints.get(&leader).cloned(),
                );
                if e.needs_metadata_refresh() && !hinted {
                    shared.kafka.cluster().invalidate();
                }
                if code == ResponseError::UnknownProducerId {
                    shared.request_reset();
                }
                retry_or_fail(shared, b, e);
            }
        }
    }
}

/// A Produce error that names the cause and the fix.
fn produce_error(
    code: ResponseError,
    b: &Batch,
    detail: Option<String>,
    max_request: usize,
) -> Error {
    let tp = format!("{}-{}", b.topic, b.partition);
    let fix = match code {
        ResponseError::MessageTooLarge => format!(
            "a record batch for {tp} is larger than the topic accepts; raise the topic's max.message.bytes (broker message.max.bytes) or lower batch_size / the record size"
        ),
        ResponseError::RecordListTooLarge => format!(
            "the request for {tp} exceeds the broker's limit; lower max_request_size (now {max_request})"
        ),
        ResponseError::InvalidRecord => format!("the broker rejected a record of {tp} as invalid (for example a null key on a compacted topic)"),
        ResponseError::TopicAuthorizationFailed => format!("not authorized to write to topic {}; grant WRITE on it to this principal", b.topic),
        ResponseError::ClusterAuthorizationFailed => "not authorized for idempotent writes; grant IDEMPOTENT_WRITE on the cluster or turn idempotence off".to_string(),
        ResponseError::UnknownTopicOrPartition => format!("{tp} does not exist (or this broker does not know it yet)"),
        _ => format!("producing to {tp} failed"),
    };
    let msg = match detail {
        Some(d) if !d.is_empty() => format!("{fix} (broker says: {d})"),
        _ => fix,
    };
    Error::new(ErrorKind::Kafka(code), "produce", msg)
}

/// A batch the delivery timeout ended, after `attempts` sends (the last failing with `last`).
fn expired_error(shared: &Shared, b: &Batch, attempts: u32, last: Option<&Error>) -> Error {
    let last = last
        .map(|e| format!("; the last attempt failed: {e}"))
        .unwrap_or_default();
    Error::new(
        ErrorKind::Timeout(shared.config.delivery_timeout),
        "produce",
        format!(
            "{} record(s) for {}-{} were not acknowledged within delivery_timeout ({attempts} attempts{last}); check that the partition has a leader and the broker is reachable, or raise `delivery_timeout`",
            b.record_count, b.topic, b.partition
        ),
    )
}

fn retry_or_fail(shared: &Arc<Shared>, mut b: Batch, e: Error) {
    let now = Instant::now();
    // In a transaction a lost sequence cannot be repaired by a new epoch mid-way: the
    // transaction fails (abortable) and the abort bumps the epoch.
    // CONCURRENT_TRANSACTIONS: with transactions V2 the leader adds the partition itself and
    // the coordinator refuses while the previous transaction's markers are being written
    // (milliseconds; the batch was not appended). Retriable, as in the Java client.
    let retriable = e.is_retriable()
        || (shared.txn.is_some() && e.kafka_error() == Some(ResponseError::ConcurrentTransactions))
        || (shared.txn.is_none()
            && matches!(
                e.kafka_error(),
                Some(ResponseError::OutOfOrderSequenceNumber | ResponseError::UnknownProducerId)
            ));
    let expired = b.expired(now, shared.config.delivery_timeout);
    if !retriable || expired {
        if shared.idempotent && b.base_sequence >= 0 && !expired {
            // A gap in the sequence would make every later batch fail: start a new epoch.
            shared.request_reset();
        }
        // Out of time: the delivery timeout is what ended it, whatever the last failure was.
        let e = if retriable {
            expired_error(shared, &b, b.attempts + 1, Some(&e))
        } else {
            e
        };
        shared.sent_failed(b, e);
        return;
    }
    if shared.idempotent
        && e.kafka_error() == Some(ResponseError::OutOfOrderSequenceNumber)
        && b.attempts >= 2
    {
        // Refused again after the batches ahead of it settled: the broker expects another
        // sequence (its producer state was lost or a batch ahead failed for good). A new epoch
        // restarts every partition's sequences at 0 and re-stamps what is queued.
        tracing::warn!(topic = %b.topic, partition = b.partition, sequence = b.base_sequence, "sequence refused repeatedly; starting a new producer epoch");
        shared.request_reset();
    }
    tracing::debug!(topic = %b.topic, partition = b.partition, sequence = b.base_sequence, records = b.record_count, attempts = b.attempts, error = %e, "retrying batch");
    crate::metrics::batch_retried(&b.topic, b.record_count);
    b.attempts += 1;
    b.last_error = Some(e);
    b.retry_at = Some(now + shared.config.retry_backoff);
    shared.requeue(b);
}

/// Re-stamps batches that were encoded under an old producer id/epoch.
pub(crate) fn restamp_batch(b: &mut Batch, producer_id: i64, epoch: i16) -> Result<()> {
    if let Some(data) = &b.data {
        b.data = Some(restamp(data, producer_id, epoch, b.base_sequence)?);
    }
    Ok(())
}
