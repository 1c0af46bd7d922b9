//! What a ShareFetch answer brings: for each partition, the records this member acquired (only
//! those inside the acquired ranges: a batch may hold records others hold), each with its
//! delivery count, the acquired offsets no record came for, and the errors. The response is
//! untrusted: ranges are bounded by the records that came.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use crate::protocol::messages::ShareFetchResponse;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::events::TopicPartition;
use crate::fetch::leader::LeaderHint;
use crate::fetch::message::Message;
use crate::fetch::{decode_all, Budget};

/// Acquired offsets without a record that are acknowledged as gaps, per partition and answer,
/// at most (a broker claiming a huge range costs nothing).
const MAX_GAPS: usize = 10_000;

/// One partition of a ShareFetch answer.
#[derive(Debug)]
pub(crate) struct SharePartition {
    pub partition: TopicPartition,
    pub error: Option<Error>,
    /// The acknowledgements this request carried for the partition failed.
    pub ack_error: Option<Error>,
    /// The leader the broker named with a leadership error (KIP-951).
    pub leader_hint: Option<LeaderHint>,
    /// Acquired records and their delivery counts, in offset order.
    pub records: Vec<(Message, i16)>,
    /// Acquired offsets with no record (control records, compacted away).
    pub gaps: Vec<i64>,
    /// The acquired records could not be read (corrupt, or past the answer's memory budget):
    /// why, and the acquired offsets, which go back to the group released (the broker archives
    /// a record after its delivery limit, so a bad one cannot circle for ever).
    pub unread: Option<(Error, Vec<i64>)>,
}

#[derive(Debug)]
pub(crate) struct ShareAnswer {
    /// How long the broker holds acquired records for this member.
    pub lock_timeout: Option<Duration>,
    pub partitions: Vec<SharePartition>,
}

/// Decodes a ShareFetch answer; its records may take `budget` in memory at most.
pub(crate) fn parse(
    resp: ShareFetchResponse,
    names: &HashMap<Uuid, String>,
    budget: &mut Budget,
) -> Result<ShareAnswer> {
    Error::check(resp.error_code, "share_fetch", || {
        format!(
            "the broker refused the share fetch{}",
            resp.error_message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        )
    })?;
    let endpoints = crate::cluster::metadata::hinted_endpoints(
        resp.node_endpoints
            .iter()
            .map(|e| (e.node_id, e.host.as_str(), e.port)),
    );
    let mut out = Vec::new();
    for t in resp.responses {
        let Some(name) = names.get(&t.topic_id) else {
            continue;
        };
        let topic: Arc<str> = Arc::from(name.as_str());
        for p in t.partitions {
            let tp = TopicPartition::new(name.clone(), p.partition_index);
            let detail = || format!("partition {tp}");
            let mut part = SharePartition {
                error: Error::from_code(p.error_code, "share_fetch", detail()),
                ack_error: Error::from_code(
                    p.acknowledge_error_code,
                    "share_acknowledge",
                    format!(
                        "acknowledging records of {tp}{}",
                        p.acknowledge_error_message
                            .as_deref()
                            .map(|m| format!(": {m}"))
                            .unwrap_or_default()
                    ),
                ),
                leader_hint: LeaderHint::of(
                    p.error_code,
                    p.current_leader.leader_id,
                    p.current_leader.leader_epoch,
                    &endpoints,
                ),
                partition: tp,
                records: Vec::new(),
                gaps: Vec::new(),
                unread: None,
            };
            let mut ranges: Vec<(i64, i64, i16)> = p
                .acquired_records
                .iter()
                .filter(|r| r.first_offset >= 0 && r.last_offset >= r.first_offset)
                .map(|r| (r.first_offset, r.last_offset, r.delivery_count))
                .collect();
            ranges.sort_unstable();
            if part.error.is_none() && !ranges.is_empty() {
                if let Some(records) = p.records {
                    let (messages, stopped) =
                        decode_all(&topic, p.partition_index, records, ranges[0].0, budget);
                    let (records, gaps) = acquired(messages, &ranges);
                    part.records = records;
                    part.gaps = gaps;
                    if let Some((from, e)) = stopped {
                        // What was acquired from there on cannot be handed out.
                        let offsets = ranges
                            .iter()
                            .flat_map(|&(first, last, _)| first.max(from)..=last)
                            .take(MAX_GAPS)
                            .collect();
                        part.unread = Some((e, offsets));
                    }
                }
            }
            out.push(part);
        }
    }
    Ok(ShareAnswer {
        lock_timeout: (resp.acquisition_lock_timeout_ms > 0)
            .then(|| Duration::from_millis(resp.acquisition_lock_timeout_ms as u64)),
        partitions: out,
    })
}

/// The messages inside `ranges` (sorted `(first, last, delivery count)`), with their counts,
/// and the acquired offsets up to the last message that had none.
fn acquired(messages: Vec<Message>, ranges: &[(i64, i64, i16)]) -> (Vec<(Message, i16)>, Vec<i64>) {
    let mut seen: BTreeSet<i64> = BTreeSet::new();
    let mut out = Vec::new();
    let mut i = 0;
    for m in messages {
        while i < ranges.len() && ranges[i].1 < m.offset {
            i += 1;
        }
        let Some(&(first, _, count)) = ranges.get(i) else {
            break;
        };
        if m.offset >= first && seen.insert(m.offset) {
            out.push((m, count));
        }
    }
    // Gaps only below the last record that came: offsets past it may simply not have been
    // sent in this answer.
    let mut gaps = Vec::new();
    if let Some(&last) = seen.last() {
        'ranges: for &(first, end, _) in ranges {
            for o in first..=end.min(last) {
                if gaps.len() >= MAX_GAPS {
                    break 'ranges;
                }
                if !seen.contains(&o) {
                    gaps.push(o);
                }
            }
        }
    }
    (out, gaps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(offset: i64) -> Message {
        Message {
            topic: Arc::from("t"),
            partition: 0,
            offset,
            timestamp: 0,
            key: None,
            value: None,
            headers: Vec::new(),
            leader_epoch: 0,
        }
    }

    #[test]
    fn only_acquired_records_come_out_with_their_delivery_counts() {
        let messages = (0..10).map(msg).collect();
        let (records, gaps) = acquired(messages, &[(2, 3, 1), (6, 8, 4)]);
        let got: Vec<(i64, i16)> = records.iter().map(|(m, c)| (m.offset, *c)).collect();
        assert_eq!(got, vec![(2, 1), (3, 1), (6, 4), (7, 4), (8, 4)]);
        assert!(gaps.is_empty());
    }

    #[test]
    fn acquired_offsets_without_records_are_gaps_but_a_huge_range_costs_nothing() {
        let messages = vec![msg(5), msg(9)];
        let (records, gaps) = acquired(messages, &[(4, 9, 1)]);
        assert_eq!(records.len(), 2);
        assert_eq!(gaps, vec![4, 6, 7, 8]);
        let (_, gaps) = acquired(vec![msg(i64::MAX - 1)], &[(0, i64::MAX, 1)]);
        assert_eq!(gaps.len(), MAX_GAPS);
    }
}
