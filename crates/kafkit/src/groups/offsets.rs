//! Committed offsets (OffsetCommit, OffsetFetch) and log offsets (ListOffsets).

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use crate::protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use crate::protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use crate::protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use crate::protocol::messages::{ListOffsetsRequest, OffsetCommitRequest, OffsetFetchRequest};

use crate::cluster::ClusterMetadata;
use crate::error::{Error, Result};
use crate::events::TopicPartition;
use crate::net::{Connection, Lane};
use crate::Kafka;

/// Who commits: a group member (member id and epoch/generation), or an admin (`""`, -1).
#[derive(Debug, Clone)]
pub struct Committer<'a> {
    /// Group id.
    pub group_id: &'a str,
    /// Member id, `""` for admin commits.
    pub member_id: &'a str,
    /// Member epoch (KIP-848) or generation id (classic); -1 for admin commits.
    pub epoch: i32,
    /// Static membership id.
    pub instance_id: Option<&'a str>,
}

/// An offset to commit: the next offset to read, with the leader epoch of the last record read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOffset {
    /// Partition.
    pub partition: TopicPartition,
    /// Next offset to read.
    pub offset: i64,
    /// Leader epoch of the last consumed record (-1 if unknown).
    pub leader_epoch: i32,
}

fn topic_name(s: &str) -> String {
    s.to_string()
}

/// OffsetCommit and OffsetFetch v10 (KIP-848) name topics by id, older versions by name.
const FIRST_BY_TOPIC_ID: i16 = 10;

/// The ids of `topics` from the metadata cache, if every one is known: a request names its
/// topics by id (v10+) only then; otherwise it goes at v9, by name.
pub(crate) fn ids_of<'a>(
    topics: impl IntoIterator<Item = &'a str>,
    meta: &ClusterMetadata,
) -> Option<HashMap<&'a str, Uuid>> {
    topics
        .into_iter()
        .map(|t| {
            meta.topic(t)
                .map(|i| i.id)
                .filter(|id| !id.is_nil())
                .map(|id| (t, id))
        })
        .collect()
}

/// The version to send: by id when the broker and the cache allow, else the newest by name.
fn by_id_or_name<'a>(
    offered: i16,
    topics: impl IntoIterator<Item = &'a str>,
    meta: &ClusterMetadata,
) -> (i16, Option<HashMap<&'a str, Uuid>>) {
    if offered < FIRST_BY_TOPIC_ID {
        return (offered, None);
    }
    match ids_of(topics, meta) {
        Some(ids) => (offered, Some(ids)),
        None => (FIRST_BY_TOPIC_ID - 1, None),
    }
}

/// A topic of an answer by name: its name (by-name versions) or the name its id stands for
/// in the request (by-id versions).
pub(crate) fn answered_name(name: &str, id: &Uuid, ids: Option<&HashMap<&str, Uuid>>) -> String {
    match ids {
        Some(ids) => ids
            .iter()
            .find(|(_, v)| *v == id)
            .map(|(n, _)| n.to_string())
            .unwrap_or_else(|| format!("topic id {id}")),
        None => name.to_string(),
    }
}

/// Commits offsets; the first partition error is returned (STALE_MEMBER_EPOCH,
/// UNKNOWN_MEMBER_ID, ... for the caller to handle).
/// Topics go by id (OffsetCommit v10) when `meta` knows every one's id.
pub async fn commit(
    conn: &Connection,
    who: &Committer<'_>,
    offsets: &[CommitOffset],
    meta: &ClusterMetadata,
) -> Result<()> {
    if offsets.is_empty() {
        return Ok(());
    }
    let (version, ids) = by_id_or_name(
        conn.version::<OffsetCommitRequest>()?,
        offsets.iter().map(|o| o.partition.topic.as_str()),
        meta,
    );
    let mut req = OffsetCommitRequest::default();
    req.group_id = who.group_id.to_string();
    req.generation_id_or_member_epoch = who.epoch;
    req.member_id = who.member_id.to_string();
    req.group_instance_id = who.instance_id.map(|s| s.to_string());
    req.retention_time_ms = -1;
    let mut by_topic: BTreeMap<&str, Vec<&CommitOffset>> = BTreeMap::new();
    for o in offsets {
        by_topic
            .entry(o.partition.topic.as_str())
            .or_default()
            .push(o);
    }
    req.topics = by_topic
        .into_iter()
        .map(|(topic, parts)| {
            let mut t = OffsetCommitRequestTopic::default();
            match ids.as_ref().and_then(|ids| ids.get(topic)) {
                Some(id) => t.topic_id = *id,
                None => t.name = topic_name(topic),
            }
            t.partitions = parts
                .into_iter()
                .map(|o| {
                    let mut p = OffsetCommitRequestPartition::default();
                    p.partition_index = o.partition.partition;
                    p.committed_offset = o.offset;
                    p.committed_leader_epoch = o.leader_epoch;
                    p
                })
                .collect();
            t
        })
        .collect();
    let resp = conn
        .send_version(&req, version)
        .await
        .map_err(|e| e.during("commit_offsets"))?;
    for t in &resp.topics {
        for p in &t.partitions {
            Error::check(p.error_code, "commit_offsets", || {
                format!(
                    "group '{}', partition {}-{}",
                    who.group_id,
                    answered_name(&t.name, &t.topic_id, ids.as_ref()),
                    p.partition_index
                )
            })?;
        }
    }
    Ok(())
}

/// The committed offset of each partition (`None` = nothing committed); no partitions = every
/// partition the group has committed. With a member id and
/// epoch (OffsetFetch v9, KIP-848) the broker checks the member is current.
pub async fn fetch_committed(
    conn: &Connection,
    who: &Committer<'_>,
    partitions: &[TopicPartition],
    require_stable: bool,
    meta: &ClusterMetadata,
) -> Result<HashMap<TopicPartition, Option<(i64, i32)>>> {
    // By id (v10) only for named partitions whose ids are all known: "every partition the
    // group has committed" would come back as ids the cache may not know.
    let offered = conn.version::<OffsetFetchRequest>()?;
    let (version, ids) = if partitions.is_empty() {
        (offered.min(FIRST_BY_TOPIC_ID - 1), None)
    } else {
        by_id_or_name(offered, partitions.iter().map(|tp| tp.topic.as_str()), meta)
    };
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in partitions {
        by_topic
            .entry(tp.topic.as_str())
            .or_default()
            .push(tp.partition);
    }
    let mut req = OffsetFetchRequest::default();
    req.require_stable = require_stable;
    if version >= 8 {
        let mut g = OffsetFetchRequestGroup::default();
        g.group_id = who.group_id.to_string();
        if version >= 9 && !who.member_id.is_empty() {
            g.member_id = Some(who.member_id.to_string());
            g.member_epoch = who.epoch;
        } else {
            g.member_epoch = -1;
        }
        g.topics = (!partitions.is_empty()).then(|| {
            by_topic
                .iter()
                .map(|(t, ps)| {
                    let mut x = OffsetFetchRequestTopics::default();
                    match ids.as_ref().and_then(|ids| ids.get(*t)) {
                        Some(id) => x.topic_id = *id,
                        None => x.name = topic_name(t),
                    }
                    x.partition_indexes = ps.clone();
                    x
                })
                .collect()
        });
        req.groups = vec![g];
    } else {
        req.group_id = who.group_id.to_string();
        req.topics = (!partitions.is_empty()).then(|| {
            by_topic
                .iter()
                .map(|(t, ps)| {
                    let mut x = OffsetFetchRequestTopic::default();
                    x.name = topic_name(t);
                    x.partition_indexes = ps.clone();
                    x
                })
                .collect()
        });
    }
    let resp = conn
        .send_version(&req, version)
        .await
        .map_err(|e| e.during("fetch_offsets"))?;
    let mut out = HashMap::new();
    let mut record = |topic: &str, p: i32, offset: i64, epoch: i32, code: i16| -> Result<()> {
        Error::check(code, "fetch_offsets", || {
            format!("group '{}', partition {topic}-{p}", who.group_id)
        })?;
        let v = (offset >= 0).then_some((offset, epoch));
        out.insert(TopicPartition::new(topic, p), v);
        Ok(())
    };
    if version >= 8 {
        for g in &resp.groups {
            Error::check(g.error_code, "fetch_offsets", || {
                format!("group '{}'", who.group_id)
            })?;
            for t in &g.topics {
                let name = answered_name(&t.name, &t.topic_id, ids.as_ref());
                for p in &t.partitions {
                    record(
                        &name,
                        p.partition_index,
                        p.committed_offset,
                        p.committed_leader_epoch,
                        p.error_code,
                    )?;
                }
            }
        }
    } else {
        Error::check(resp.error_code, "fetch_offsets", || {
            format!("group '{}'", who.group_id)
        })?;
        for t in &resp.topics {
            for p in &t.partitions {
                record(
                    &t.name,
                    p.partition_index,
                    p.committed_offset,
                    p.committed_leader_epoch,
                    p.error_code,
                )?;
            }
        }
    }
    Ok(out)
}

/// `ListOffsets` timestamp for the earliest offset.
pub const EARLIEST: i64 = -2;
/// `ListOffsets` timestamp for the latest offset (the high watermark, or the last stable
/// offset under read_committed).
pub const LATEST: i64 = -1;

/// Offsets for a timestamp (or [`EARLIEST`] / [`LATEST`]) per partition, asked of each leader.
pub async fn list_offsets(
    kafka: &Kafka,
    partitions: &[TopicPartition],
    timestamp: i64,
    read_committed: bool,
) -> Result<HashMap<TopicPartition, i64>> {
    let found = list_offsets_found(kafka, partitions, timestamp, read_committed).await?;
    Ok(found.into_iter().map(|(tp, f)| (tp, f.offset)).collect())
}

/// What ListOffsets found in one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// -1: no such record.
    pub offset: i64,
    /// The record's timestamp for timestamp lookups, -1 otherwise.
    pub timestamp: i64,
    /// -1: unknown.
    pub leader_epoch: i32,
}

/// As [`list_offsets`], with the timestamp and leader epoch of each offset found.
pub async fn list_offsets_found(
    kafka: &Kafka,
    partitions: &[TopicPartition],
    timestamp: i64,
    read_committed: bool,
) -> Result<HashMap<TopicPartition, Found>> {
    let (found, failed) = list_offsets_each(kafka, partitions, timestamp, read_committed).await;
    match failed.into_iter().next() {
        Some((_, e)) => Err(e),
        None => Ok(found),
    }
}

/// As [`list_offsets_found`], each partition on its own: what was found, and each partition
/// that could not be looked up with why (no leader known, its leader failed, an error for
/// it). One partition's failure does not fail the others; the failed ones are in the order
/// asked.
pub async fn list_offsets_each(
    kafka: &Kafka,
    partitions: &[TopicPartition],
    timestamp: i64,
    read_committed: bool,
) -> (HashMap<TopicPartition, Found>, Vec<(TopicPartition, Error)>) {
    let snapshot = kafka.cluster().snapshot();
    // leader -> topic -> (partition, leader epoch)
    type ByTopic<'a> = BTreeMap<&'a str, Vec<(i32, i32)>>;
    let mut by_leader: BTreeMap<i32, ByTopic<'_>> = BTreeMap::new();
    let mut failed: HashMap<TopicPartition, Error> = HashMap::new();
    for tp in partitions {
        let info = snapshot
            .topic(&tp.topic)
            .and_then(|t| t.partition(tp.partition))
            .filter(|p| p.leader >= 0);
        let Some(info) = info else {
            let e = Error::from_code(5, "list_offsets", format!("no leader known for {tp}"))
                .unwrap_or_else(|| Error::protocol("list_offsets", "no leader"));
            failed.insert(tp.clone(), e);
            continue;
        };
        by_leader
            .entry(info.leader)
            .or_default()
            .entry(tp.topic.as_str())
            .or_default()
            .push((tp.partition, info.leader_epoch));
    }
    if !failed.is_empty() {
        kafka.cluster().invalidate();
    }
    let mut out = HashMap::new();
    for (leader, topics) in by_leader {
        let asked: Vec<TopicPartition> = topics
            .iter()
            .flat_map(|(t, ps)| ps.iter().map(|(p, _)| TopicPartition::new(*t, *p)))
            .collect();
        let resp = match ask_leader(kafka, leader, topics, timestamp, read_committed).await {
            Ok(resp) => resp,
            Err(e) => {
                failed.extend(asked.into_iter().map(|tp| (tp, e.clone())));
                continue;
            }
        };
        for t in resp.topics {
            for p in t.partitions {
                let tp = TopicPartition::new(t.name.to_string(), p.partition_index);
                if let Some(e) =
                    Error::from_code(p.error_code, "list_offsets", format!("partition {tp}"))
                {
                    if e.needs_metadata_refresh() {
                        kafka.cluster().invalidate();
                    }
                    failed.insert(tp, e);
                    continue;
                }
                out.insert(
                    tp,
                    Found {
                        offset: p.offset,
                        timestamp: p.timestamp,
                        leader_epoch: p.leader_epoch,
                    },
                );
            }
        }
        for tp in asked {
            if !out.contains_key(&tp) && !failed.contains_key(&tp) {
                let e = Error::protocol(
                    "list_offsets",
                    format!("broker {leader} answered ListOffsets without partition {tp}"),
                );
                failed.insert(tp, e);
            }
        }
    }
    let failed = partitions
        .iter()
        .filter_map(|tp| failed.remove_entry(tp))
        .collect();
    (out, failed)
}

/// One ListOffsets request to `leader`.
async fn ask_leader(
    kafka: &Kafka,
    leader: i32,
    topics: BTreeMap<&str, Vec<(i32, i32)>>,
    timestamp: i64,
    read_committed: bool,
) -> Result<crate::protocol::messages::ListOffsetsResponse> {
    let conn = kafka.pool().get(leader, Lane::General).await?;
    let mut req = ListOffsetsRequest::default();
    req.replica_id = -1;
    req.isolation_level = i8::from(read_committed);
    req.timeout_ms = kafka
        .config()
        .request_timeout
        .as_millis()
        .min(i32::MAX as u128) as i32;
    req.topics = topics
        .into_iter()
        .map(|(t, parts)| {
            let mut lt = ListOffsetsTopic::default();
            lt.name = topic_name(t);
            lt.partitions = parts
                .into_iter()
                .map(|(p, epoch)| {
                    let mut lp = ListOffsetsPartition::default();
                    lp.partition_index = p;
                    lp.current_leader_epoch = epoch;
                    lp.timestamp = timestamp;
                    lp
                })
                .collect();
            lt
        })
        .collect();
    conn.send(&req).await.map_err(|e| e.during("list_offsets"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::cluster::TopicInfo;

    fn meta(topics: &[(&str, u128)]) -> ClusterMetadata {
        let mut m = ClusterMetadata::default();
        for (name, id) in topics {
            let info = TopicInfo {
                name: name.to_string(),
                id: Uuid::from_u128(*id),
                is_internal: false,
                partitions: Vec::new(),
            };
            m.topics.insert(name.to_string(), Arc::new(info));
        }
        m
    }

    #[test]
    fn topics_go_by_id_only_when_every_id_is_known() {
        let m = meta(&[("a", 1), ("b", 2), ("nil", 0)]);
        let (v, ids) = by_id_or_name(10, ["a", "b"], &m);
        assert_eq!(v, 10);
        assert_eq!(ids.unwrap()["b"], Uuid::from_u128(2));
        // One unknown (or nil) id: the whole request goes by name, at v9.
        assert_eq!(by_id_or_name(10, ["a", "c"], &m), (9, None));
        assert_eq!(by_id_or_name(10, ["a", "nil"], &m), (9, None));
        // An older broker: by name at what it offers.
        assert_eq!(by_id_or_name(8, ["a"], &m), (8, None));
    }

    #[test]
    fn an_answer_by_id_is_named_from_the_request() {
        let ids: HashMap<&str, Uuid> = [("a", Uuid::from_u128(1))].into();
        assert_eq!(answered_name("", &Uuid::from_u128(1), Some(&ids)), "a");
        assert!(answered_name("", &Uuid::from_u128(9), Some(&ids)).contains("topic id"));
        assert_eq!(answered_name("x", &Uuid::nil(), None), "x");
    }
}
