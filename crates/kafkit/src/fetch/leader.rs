//! Following a partition's leader while reading it, the rules both consumers follow: a fetch
//! answer that names a new leader (KIP-951: Fetch v16+ and ShareFetch carry it with
//! NOT_LEADER_OR_FOLLOWER and FENCED_LEADER_EPOCH) is used at once, without a metadata round
//! trip; and a fetch a hung broker holds (process frozen, socket open) is given up as soon as
//! metadata names a newer leader, instead of waiting out the request timeout.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, ErrorKind};
use crate::topic_partition::TopicPartition;
use crate::Kafka;

/// How long past `max_wait` a fetch may go unanswered before it asks whether the leadership of
/// its partitions moved, and how often it asks again then.
const LEADER_CHECK_AFTER: Duration = Duration::from_secs(2);
const LEADER_CHECK_EVERY: Duration = Duration::from_secs(1);

/// The leader an answer named for a partition it refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeaderHint {
    pub leader: i32,
    pub epoch: i32,
    /// Its address, when the answer listed it (`NodeEndpoints`).
    pub addr: Option<String>,
}

impl LeaderHint {
    /// The hint in a partition's answer: only with an error, and a leader named.
    pub fn of(
        error_code: i16,
        leader: i32,
        epoch: i32,
        endpoints: &HashMap<i32, String>,
    ) -> Option<LeaderHint> {
        (error_code != 0 && leader >= 0).then(|| LeaderHint {
            leader,
            epoch,
            addr: endpoints.get(&leader).cloned(),
        })
    }

    /// Puts the hint into the metadata cache; whether it was newer than what the cache knew
    /// (if not, metadata should be asked).
    pub fn follow(&self, kafka: &Kafka, tp: &TopicPartition) -> bool {
        kafka.cluster().apply_leader_hint(
            &tp.topic,
            tp.partition,
            self.leader,
            self.epoch,
            self.addr.clone(),
        )
    }
}

/// A partition a fetch to some broker asked for, with the leader epoch it was asked at.
#[derive(Debug, Clone)]
pub(crate) struct Watched {
    pub partition: TopicPartition,
    pub leader_epoch: i32,
}

/// Resolves once metadata names a newer leader for one of `watched` while their fetch from
/// `node` is still unanswered; never resolves while the leadership stays. Giving up a fetch is
/// always safe: nothing was consumed, and a share fetch's acquired records go back to the group
/// when their lock runs out.
pub(crate) async fn moved_away(
    kafka: &Kafka,
    node: i32,
    max_wait: Duration,
    watched: &[Watched],
) -> Error {
    let started = Instant::now();
    tokio::time::sleep(max_wait + LEADER_CHECK_AFTER).await;
    loop {
        let snapshot = kafka.cluster().snapshot();
        let moved = watched.iter().find(|w| {
            snapshot
                .topic(&w.partition.topic)
                .and_then(|topic| topic.partition(w.partition.partition))
                .is_some_and(|p| {
                    p.leader >= 0 && p.leader != node && p.leader_epoch > w.leader_epoch
                })
        });
        if let Some(w) = moved {
            return Error::new(
                ErrorKind::Timeout(started.elapsed()),
                "fetch",
                format!(
                    "the leader of {} moved away from broker {node} while its fetch waited for an answer; fetching from the new leader",
                    w.partition
                ),
            );
        }
        kafka.cluster().invalidate();
        tokio::time::sleep(LEADER_CHECK_EVERY).await;
    }
}
