//! kafkit's instrumentation events in the names and payload shapes of KafkaJS's
//! `consumer.events` / `producer.events`, as typed objects; `lib/events.js` adds the namespace
//! and timestamp. Events JavaScript raises itself (CONNECT, DISCONNECT, STOP, CRASH,
//! START/END_BATCH_PROCESS, which it sees first-hand) are not forwarded, but for the batch
//! events of a batch it never sees (only a transaction marker).

use std::collections::BTreeMap;

use kafkit::{Event, TopicPartition};
use napi::bindgen_prelude::{ToNapiValue, TypeName, ValueType};
use napi::sys;
use napi_derive::napi;

use crate::shapes::PartitionOffset;

/// An event for `lib/instrumentation.js`: KafkaJS's event name without its namespace, and
/// its payload.
#[napi(object, object_from_js = false)]
pub struct NativeEvent {
    pub name: String,
    pub payload: Payload,
}

/// KafkaJS's `{ topic: [partitions] }` assignment shape.
type Assignment = BTreeMap<String, Vec<i32>>;

#[napi(object, use_nullable = true, object_from_js = false)]
pub struct GroupJoinPayload {
    pub duration: i64,
    pub group_id: String,
    pub is_leader: bool,
    pub leader_id: Option<String>,
    pub group_protocol: String,
    pub member_id: String,
    pub member_epoch: i32,
    pub member_assignment: Assignment,
}

#[napi(object, object_from_js = false)]
pub struct HeartbeatPayload {
    pub group_id: String,
    pub member_id: String,
    pub group_generation_id: i32,
    pub member_epoch: i32,
    pub group_protocol: String,
    pub assigned_partitions: Assignment,
    pub revoked_partitions: Assignment,
}

#[napi(object, object_from_js = false)]
pub struct RebalancingPayload {
    pub group_id: String,
    pub member_id: String,
}

#[napi(object, object_from_js = false)]
pub struct CommittedTopic {
    pub topic: String,
    pub partitions: Vec<PartitionOffset>,
}

#[napi(object, object_from_js = false)]
pub struct CommitOffsetsPayload {
    pub group_id: String,
    pub topics: Vec<CommittedTopic>,
}

#[napi(object, object_from_js = false)]
pub struct FetchStartPayload {
    pub node_id: i32,
}

#[napi(object, object_from_js = false)]
pub struct FetchPayload {
    pub node_id: i32,
    pub number_of_batches: i64,
    pub duration: i64,
}

/// KafkaJS's `network.request` payload but `clientId`, which `lib/` adds. Times are epoch
/// milliseconds; `size` is the response's, as KafkaJS counts it.
#[napi(object, object_from_js = false)]
pub struct RequestPayload {
    pub broker: String,
    pub correlation_id: i32,
    pub size: i64,
    pub created_at: i64,
    pub sent_at: i64,
    pub pending_duration: i64,
    pub duration: i64,
    pub api_name: String,
    pub api_key: i32,
    pub api_version: i32,
}

/// KafkaJS's `START_BATCH_PROCESS` / `END_BATCH_PROCESS` payload (offsets as strings), for
/// the batches JavaScript never sees: those of only left-out records (a transaction marker),
/// which get their events without a handler call.
#[napi(object, object_from_js = false)]
pub struct BatchProcessPayload {
    pub topic: String,
    pub partition: i32,
    pub high_watermark: String,
    pub offset_lag: String,
    pub offset_lag_low: String,
    pub batch_size: i64,
    pub first_offset: String,
    pub last_offset: String,
    pub duration: Option<i64>,
}

fn batch_process(
    tp: &TopicPartition,
    first: i64,
    last: i64,
    high_watermark: i64,
    duration: Option<i64>,
) -> Payload {
    let lag = |o: i64| (high_watermark - 1 - o).max(0).to_string();
    Payload::BatchProcess(BatchProcessPayload {
        topic: tp.topic.clone(),
        partition: tp.partition,
        high_watermark: high_watermark.to_string(),
        offset_lag: lag(last),
        offset_lag_low: lag(first),
        batch_size: 0,
        first_offset: first.to_string(),
        last_offset: last.to_string(),
        duration,
    })
}

#[napi(object, object_from_js = false)]
pub struct RequestTimeoutPayload {
    pub broker: String,
    pub api_name: String,
    pub timeout: i64,
}

#[napi(object, object_from_js = false)]
pub struct RequestQueueSizePayload {
    pub broker: String,
    pub queue_size: i64,
}

#[napi(object, object_from_js = false)]
pub struct WarningPayload {
    pub message: String,
}

/// The payload of one of the events above; JavaScript receives the inner object.
pub enum Payload {
    GroupJoin(GroupJoinPayload),
    Heartbeat(HeartbeatPayload),
    Rebalancing(RebalancingPayload),
    CommitOffsets(CommitOffsetsPayload),
    FetchStart(FetchStartPayload),
    Fetch(FetchPayload),
    Request(RequestPayload),
    BatchProcess(BatchProcessPayload),
    RequestTimeout(RequestTimeoutPayload),
    RequestQueueSize(RequestQueueSizePayload),
    Warning(WarningPayload),
}

impl TypeName for Payload {
    fn type_name() -> &'static str {
        "Payload"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for Payload {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        // SAFETY: called by napi-rs on the JavaScript thread with its `env`, as each inner
        // object's own conversion is.
        unsafe {
            match val {
                Payload::GroupJoin(p) => ToNapiValue::to_napi_value(env, p),
                Payload::Heartbeat(p) => ToNapiValue::to_napi_value(env, p),
                Payload::Rebalancing(p) => ToNapiValue::to_napi_value(env, p),
                Payload::CommitOffsets(p) => ToNapiValue::to_napi_value(env, p),
                Payload::FetchStart(p) => ToNapiValue::to_napi_value(env, p),
                Payload::Fetch(p) => ToNapiValue::to_napi_value(env, p),
                Payload::Request(p) => ToNapiValue::to_napi_value(env, p),
                Payload::BatchProcess(p) => ToNapiValue::to_napi_value(env, p),
                Payload::RequestTimeout(p) => ToNapiValue::to_napi_value(env, p),
                Payload::RequestQueueSize(p) => ToNapiValue::to_napi_value(env, p),
                Payload::Warning(p) => ToNapiValue::to_napi_value(env, p),
            }
        }
    }
}

fn assignment(tps: &[TopicPartition]) -> Assignment {
    let mut by_topic = Assignment::new();
    for tp in tps {
        by_topic
            .entry(tp.topic.clone())
            .or_default()
            .push(tp.partition);
    }
    by_topic
}

fn ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn epoch_ms(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH).map_or(0, ms)
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn push(out: &mut Vec<NativeEvent>, e: &Event, want_requests: bool) {
    let (name, payload) = match e {
        Event::GroupJoin {
            group_id,
            member_id,
            member_epoch,
            group_protocol,
            assignment: a,
            duration,
            leader_id,
            is_leader,
        } => (
            "GROUP_JOIN",
            Payload::GroupJoin(GroupJoinPayload {
                duration: ms(*duration),
                group_id: group_id.clone(),
                is_leader: *is_leader,
                leader_id: leader_id.clone(),
                group_protocol: group_protocol.to_string(),
                member_id: member_id.clone(),
                member_epoch: *member_epoch,
                member_assignment: assignment(a),
            }),
        ),
        Event::Heartbeat {
            group_id,
            member_id,
            member_epoch,
            group_protocol,
            added,
            removed,
        } => (
            "HEARTBEAT",
            Payload::Heartbeat(HeartbeatPayload {
                group_id: group_id.clone(),
                member_id: member_id.clone(),
                group_generation_id: *member_epoch,
                member_epoch: *member_epoch,
                group_protocol: group_protocol.to_string(),
                assigned_partitions: assignment(added),
                revoked_partitions: assignment(removed),
            }),
        ),
        Event::Rebalancing {
            group_id,
            member_id,
        } => (
            "REBALANCING",
            Payload::Rebalancing(RebalancingPayload {
                group_id: group_id.clone(),
                member_id: member_id.clone(),
            }),
        ),
        Event::CommitOffsets { group_id, offsets } => {
            let mut by_topic: BTreeMap<&str, Vec<PartitionOffset>> = BTreeMap::new();
            for (tp, o) in offsets {
                by_topic
                    .entry(tp.topic.as_str())
                    .or_default()
                    .push(PartitionOffset {
                        partition: tp.partition,
                        offset: o.to_string(),
                    });
            }
            let topics = by_topic
                .into_iter()
                .map(|(t, partitions)| CommittedTopic {
                    topic: t.to_string(),
                    partitions,
                })
                .collect();
            (
                "COMMIT_OFFSETS",
                Payload::CommitOffsets(CommitOffsetsPayload {
                    group_id: group_id.clone(),
                    topics,
                }),
            )
        }
        Event::FetchStart { node_id } => (
            "FETCH_START",
            Payload::FetchStart(FetchStartPayload { node_id: *node_id }),
        ),
        Event::Fetch {
            node_id,
            records,
            duration,
        } => (
            "FETCH",
            Payload::Fetch(FetchPayload {
                node_id: *node_id,
                number_of_batches: count(*records),
                duration: ms(*duration),
            }),
        ),
        Event::Request {
            broker,
            api,
            api_key,
            api_version,
            correlation_id,
            sent_at,
            pending,
            duration,
            response_size,
            ..
        } if want_requests => {
            let sent_at = epoch_ms(*sent_at);
            let pending_duration = ms(*pending);
            (
                "REQUEST",
                Payload::Request(RequestPayload {
                    broker: broker.clone(),
                    correlation_id: *correlation_id,
                    size: count(*response_size),
                    created_at: sent_at - pending_duration,
                    sent_at,
                    pending_duration,
                    duration: ms(*duration),
                    api_name: api.to_string(),
                    api_key: (*api_key).into(),
                    api_version: (*api_version).into(),
                }),
            )
        }
        // The batches JavaScript handles it reports itself; these it never sees.
        Event::StartBatchProcess {
            partition,
            first_offset,
            last_offset,
            batch_size: 0,
            high_watermark,
            ..
        } => (
            "START_BATCH_PROCESS",
            batch_process(
                partition,
                *first_offset,
                *last_offset,
                *high_watermark,
                None,
            ),
        ),
        Event::EndBatchProcess {
            partition,
            first_offset,
            last_offset,
            batch_size: 0,
            high_watermark,
            duration,
            ..
        } => (
            "END_BATCH_PROCESS",
            batch_process(
                partition,
                *first_offset,
                *last_offset,
                *high_watermark,
                Some(ms(*duration)),
            ),
        ),
        Event::RequestTimeout {
            broker,
            api,
            timeout,
        } => (
            "REQUEST_TIMEOUT",
            Payload::RequestTimeout(RequestTimeoutPayload {
                broker: broker.clone(),
                api_name: api.to_string(),
                timeout: ms(*timeout),
            }),
        ),
        Event::RequestQueueSize { broker, queue_size } if want_requests => (
            "REQUEST_QUEUE_SIZE",
            Payload::RequestQueueSize(RequestQueueSizePayload {
                broker: broker.clone(),
                queue_size: count(*queue_size),
            }),
        ),
        Event::Warning { message } => (
            "WARNING",
            Payload::Warning(WarningPayload {
                message: message.clone(),
            }),
        ),
        _ => return,
    };
    out.push(NativeEvent {
        name: name.to_string(),
        payload,
    });
}

/// JavaScript read events too slowly and `n` were dropped: said, not hidden.
pub(crate) fn push_lagged(out: &mut Vec<NativeEvent>, n: u64) {
    out.push(NativeEvent {
        name: "WARNING".into(),
        payload: Payload::Warning(WarningPayload {
            message: format!(
                "{n} instrumentation events were dropped: listeners ran behind the client"
            ),
        }),
    });
}
