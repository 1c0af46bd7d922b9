//! Building Fetch requests and turning Fetch responses into records (sans-IO).
//!
//! Decoding is lazy and zero-copy: record keys, values and headers are slices of the response
//! buffer. Under read_committed, records of aborted transactions and control records are
//! skipped, as the broker's aborted-transaction list says.
//!
//! The response walk also keeps what decoded records may cost within the fetch's [`Budget`]
//! and stops a partition at records that cannot be read. Tests are in `fetch_tests.rs`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use crate::protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use crate::protocol::messages::{FetchRequest, FetchResponse};
use bytes::Bytes;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::fetch::decode::decode_records;
use crate::fetch::leader::LeaderHint;
use crate::fetch::session::SessionFetch;
use crate::fetch::{Budget, FetchTarget, FetchedPartition, IsolationLevel};
use crate::topic_partition::TopicPartition;

/// What a Fetch asks of the broker beside the partitions: the reader's settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FetchParams<'a> {
    pub max_wait: Duration,
    pub min_bytes: i32,
    /// The whole answer's size limit (a partition's own may raise it, see `build_request`).
    pub max_bytes: i32,
    pub isolation: IsolationLevel,
    /// KIP-392: the reader's rack, so the leader may name a replica in it.
    pub rack_id: Option<&'a str>,
}

/// Builds a Fetch request: within `session` when one is given and the version has topic ids
/// (v13+; sessions need v7+), otherwise full and sessionless.
pub(crate) fn build_request(
    version: i16,
    config: &FetchParams<'_>,
    targets: &[FetchTarget],
    session: Option<&SessionFetch>,
) -> FetchRequest {
    let mut req = FetchRequest::default();
    req.replica_id = -1;
    req.replica_state.replica_id = -1;
    req.replica_state.replica_epoch = -1;
    req.max_wait_ms = config.max_wait.as_millis().min(i32::MAX as u128) as i32;
    req.min_bytes = config.min_bytes;
    // A batch bigger than max_bytes fits only if the response may be that big too.
    req.max_bytes = targets
        .iter()
        .map(|t| t.max_bytes)
        .fold(config.max_bytes, i32::max);
    req.isolation_level = config.isolation as i8;
    let session = session.filter(|_| version >= 13);
    let targets = match session {
        Some(s) => {
            req.session_id = s.session_id;
            req.session_epoch = s.epoch;
            let mut forgotten: BTreeMap<Uuid, Vec<i32>> = BTreeMap::new();
            for (tp, id) in &s.forget {
                forgotten.entry(*id).or_default().push(tp.partition);
            }
            req.forgotten_topics_data = forgotten
                .into_iter()
                .map(|(id, partitions)| {
                    let mut f = ForgottenTopic::default();
                    f.topic_id = id;
                    f.partitions = partitions;
                    f
                })
                .collect();
            s.send.as_slice()
        }
        None => {
            // Sessionless: every partition, every time.
            req.session_id = 0;
            req.session_epoch = -1;
            targets
        }
    };
    req.rack_id = config.rack_id.unwrap_or_default().to_string();
    let mut topics: BTreeMap<&str, FetchTopic> = BTreeMap::new();
    for t in targets {
        let topic = topics.entry(t.partition.topic.as_str()).or_insert_with(|| {
            let mut ft = FetchTopic::default();
            if version >= 13 {
                ft.topic_id = t.topic_id;
            } else {
                ft.topic = t.partition.topic.clone();
            }
            ft
        });
        let mut p = FetchPartition::default();
        p.partition = t.partition.partition;
        p.current_leader_epoch = t.position.current_leader_epoch;
        p.fetch_offset = t.position.offset;
        p.last_fetched_epoch = if version >= 12 {
            t.position.last_fetched_epoch
        } else {
            -1
        };
        p.log_start_offset = -1;
        p.partition_max_bytes = t.max_bytes;
        p.high_watermark = i64::MAX;
        topic.partitions.push(p);
    }
    req.topics = topics.into_values().collect();
    req
}

/// Decodes a Fetch response. `names` resolves topic ids (v13+); `offsets` are the positions
/// the request asked for. Unknown topics or partitions in the response are ignored.
pub(crate) fn parse_response(
    resp: FetchResponse,
    names: &HashMap<Uuid, String>,
    offsets: &HashMap<TopicPartition, i64>,
    isolation: IsolationLevel,
    budget: &mut Budget,
) -> Result<Vec<FetchedPartition>> {
    Error::check(resp.error_code, "fetch", || {
        "the broker rejected the fetch".to_string()
    })?;
    let endpoints = crate::cluster::metadata::hinted_endpoints(
        resp.node_endpoints
            .iter()
            .map(|e| (e.node_id, e.host.as_str(), e.port)),
    );
    let mut out = Vec::new();
    for t in resp.responses {
        let topic_name = if t.topic.is_empty() {
            match names.get(&t.topic_id) {
                Some(n) => n.clone(),
                None => continue,
            }
        } else {
            t.topic.to_string()
        };
        let topic: Arc<str> = Arc::from(topic_name.as_str());
        for p in t.partitions {
            let tp = TopicPartition::new(topic_name.clone(), p.partition_index);
            let Some(&fetch_offset) = offsets.get(&tp) else {
                continue;
            };
            let mut fp = FetchedPartition {
                partition: tp,
                fetch_offset,
                error: Error::from_code(
                    p.error_code,
                    "fetch",
                    format!("partition {}-{}", topic_name, p.partition_index),
                ),
                high_watermark: p.high_watermark,
                last_stable_offset: p.last_stable_offset,
                messages: Vec::new(),
                next_offset: fetch_offset,
                next_epoch: None,
                preferred_read_replica: (p.error_code == 0 && p.preferred_read_replica >= 0)
                    .then_some(p.preferred_read_replica),
                diverging: (p.error_code == 0 && p.diverging_epoch.end_offset >= 0)
                    .then_some((p.diverging_epoch.epoch, p.diverging_epoch.end_offset)),
                bytes: p.records.as_ref().map_or(0, Bytes::len),
                needs_bytes: None,
                cut: false,
                failure: None,
                needs_whole_budget: false,
                retained: 0,
                leader_hint: LeaderHint::of(
                    p.error_code,
                    p.current_leader.leader_id,
                    p.current_leader.leader_epoch,
                    &endpoints,
                ),
            };
            if fp.error.is_none() && fp.diverging.is_none() {
                if let Some(records) = p.records {
                    let aborted = if isolation == IsolationLevel::ReadCommitted {
                        p.aborted_transactions.unwrap_or_default()
                    } else {
                        Vec::new()
                    };
                    // A cause with records before it comes back at the next fetch.
                    let _ = decode_records(&topic, records, aborted, budget, &mut fp);
                }
            }
            out.push(fp);
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "fetch_tests.rs"]
mod tests;
