//! kafkit's instrumentation events in the names and payload shapes of KafkaJS's
//! `consumer.events` / `producer.events`; `lib/events.js` adds the namespace and timestamp.
//! Events JavaScript raises itself (CONNECT, DISCONNECT, STOP, CRASH, START/END_BATCH_PROCESS,
//! which it sees first-hand) are not forwarded.

use std::collections::BTreeMap;

use kafkit::{Event, TopicPartition};
use serde_json::{json, Value};

/// KafkaJS's `{ topic: [partitions] }` assignment shape.
fn assignment(tps: &[TopicPartition]) -> Value {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in tps {
        by_topic
            .entry(tp.topic.as_str())
            .or_default()
            .push(tp.partition);
    }
    json!(by_topic)
}

fn ms(d: std::time::Duration) -> u64 {
    d.as_millis() as u64
}

pub(crate) fn push(out: &mut Vec<Value>, e: &Event, want_requests: bool) {
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
            json!({
                "duration": ms(*duration),
                "groupId": group_id,
                "isLeader": is_leader,
                "leaderId": leader_id,
                "groupProtocol": group_protocol.to_string(),
                "memberId": member_id,
                "memberEpoch": member_epoch,
                "memberAssignment": assignment(a),
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
            json!({
                "groupId": group_id,
                "memberId": member_id,
                "groupGenerationId": member_epoch,
                "memberEpoch": member_epoch,
                "groupProtocol": group_protocol.to_string(),
                "assignedPartitions": assignment(added),
                "revokedPartitions": assignment(removed),
            }),
        ),
        Event::Rebalancing {
            group_id,
            member_id,
        } => (
            "REBALANCING",
            json!({ "groupId": group_id, "memberId": member_id }),
        ),
        Event::CommitOffsets { group_id, offsets } => {
            let mut by_topic: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
            for (tp, o) in offsets {
                by_topic
                    .entry(tp.topic.as_str())
                    .or_default()
                    .push(json!({ "partition": tp.partition, "offset": o.to_string() }));
            }
            let topics: Vec<Value> = by_topic
                .into_iter()
                .map(|(t, ps)| json!({ "topic": t, "partitions": ps }))
                .collect();
            (
                "COMMIT_OFFSETS",
                json!({ "groupId": group_id, "topics": topics }),
            )
        }
        Event::FetchStart { node_id } => ("FETCH_START", json!({ "nodeId": node_id })),
        Event::Fetch {
            node_id,
            records,
            duration,
        } => (
            "FETCH",
            json!({ "nodeId": node_id, "numberOfBatches": records, "duration": ms(*duration) }),
        ),
        Event::Request {
            broker,
            api,
            api_version,
            duration,
            size,
        } if want_requests => (
            "REQUEST",
            json!({
                "broker": broker,
                "apiName": api,
                "apiVersion": api_version,
                "duration": ms(*duration),
                "size": size,
            }),
        ),
        Event::RequestTimeout {
            broker,
            api,
            timeout,
        } => (
            "REQUEST_TIMEOUT",
            json!({ "broker": broker, "apiName": api, "timeout": ms(*timeout) }),
        ),
        Event::RequestQueueSize { broker, queue_size } if want_requests => (
            "REQUEST_QUEUE_SIZE",
            json!({ "broker": broker, "queueSize": queue_size }),
        ),
        Event::Warning { message } => ("WARNING", json!({ "message": message })),
        _ => return,
    };
    out.push(json!({ "name": name, "payload": payload }));
}

/// JavaScript read events too slowly and `n` were dropped: said, not hidden.
pub(crate) fn push_lagged(out: &mut Vec<Value>, n: u64) {
    out.push(json!({
        "name": "WARNING",
        "payload": { "message": format!("{n} instrumentation events were dropped: listeners ran behind the client") },
    }));
}
