//! Waiting for a topic to be usable, and saying what the wait is for: a topic that does not
//! exist, one this client may not see, one without a leader, or brokers that do not answer.
//! Callers tell their user once per cause (an `Event::Warning`), not once per retry.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::metadata::{Cluster, ClusterMetadata, TopicInfo, TopicSelection};
use crate::error::{Error, ErrorKind, ResponseError, Result};

/// How long a partition may lack a leader before the wait is said to be for one.
const NO_LEADER_GRACE: Duration = Duration::from_secs(1);

/// Why a topic cannot be used yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TopicWait {
    /// The cluster has no topic of that name.
    Missing,
    /// The broker will not say (TOPIC_AUTHORIZATION_FAILED): this client may not describe it.
    Unauthorized,
    /// A partition has no leader (the topic is being created, or its brokers are down).
    NoLeader,
    /// No broker answered the metadata request.
    Unreachable(String),
}

impl TopicWait {
    /// What `snapshot` says of `topic`; `None` when every partition has a leader.
    pub fn of(snapshot: &ClusterMetadata, topic: &str) -> Option<TopicWait> {
        if snapshot.topic(topic).is_some_and(|t| t.has_leaders()) {
            return None;
        }
        Some(match snapshot.topic_errors.get(topic).copied() {
            Some(3) => TopicWait::Missing,
            Some(29) => TopicWait::Unauthorized,
            _ if snapshot.topic(topic).is_none() => TopicWait::Missing,
            _ => TopicWait::NoLeader,
        })
    }

    /// Whether `other` is the same cause (said once, whatever the error text).
    pub fn same_cause(&self, other: &TopicWait) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }

    /// The cause, in words, with what would end the wait.
    pub fn describe(&self, topic: &str) -> String {
        match self {
            TopicWait::Missing => format!("topic '{topic}' does not exist (create it with Admin::create_topics, or `kafkit topic create` from the CLI; or enable auto topic creation on the broker: auto.create.topics.enable=true)"),
            TopicWait::Unauthorized => format!("topic '{topic}' is not authorized for this client (TOPIC_AUTHORIZATION_FAILED: grant DESCRIBE and READ/WRITE on it)"),
            TopicWait::NoLeader => format!("topic '{topic}' has a partition without a leader"),
            TopicWait::Unreachable(e) => format!("no broker answers the metadata request for topic '{topic}' ({e})"),
        }
    }
}

impl Cluster {
    /// The topic, refreshing metadata until it is known with a leader for every partition, or
    /// until `timeout`, then UNKNOWN_TOPIC_OR_PARTITION (or the broker's error for it).
    pub async fn wait_for_topic(&self, name: &str, timeout: Duration) -> Result<Arc<TopicInfo>> {
        self.wait_for_topic_noting(name, timeout, |_| {}).await
    }

    /// [`wait_for_topic`](Self::wait_for_topic), calling `note` each time the cause of the wait
    /// changes (the first time included), so the caller can tell its user at once.
    pub(crate) async fn wait_for_topic_noting(
        &self,
        name: &str,
        timeout: Duration,
        mut note: impl FnMut(&TopicWait) + Send,
    ) -> Result<Arc<TopicInfo>> {
        if let Some(t) = self.snapshot().topic(name).filter(|t| t.has_leaders()) {
            return Ok(t.clone());
        }
        self.track([name.to_string()]);
        let started = Instant::now();
        let deadline = started + timeout;
        let mut wait = Duration::from_millis(50);
        let mut cause: Option<TopicWait> = None;
        loop {
            let (now_cause, last_err) = match self
                .refresh(TopicSelection::Names(vec![name.to_string()]))
                .await
            {
                Ok(snap) => match snap.topic(name) {
                    Some(t) if t.has_leaders() => return Ok(t.clone()),
                    _ => (TopicWait::of(&snap, name), None),
                },
                Err(e) if e.is_retriable() || e.kafka_error().is_some() => {
                    (Some(TopicWait::Unreachable(e.to_string())), Some(e))
                }
                Err(e) => return Err(e),
            };
            if now_cause == Some(TopicWait::Unauthorized) && self.unauthorized_topics_final() {
                return Err(Error::new(
                    ErrorKind::Kafka(ResponseError::TopicAuthorizationFailed),
                    "metadata",
                    format!("topic '{name}' is not authorized for this client; grant DESCRIBE and READ/WRITE on it"),
                ));
            }
            if let Some(c) = now_cause {
                // A new topic's leaders take a moment to be known everywhere: that is said
                // only when it lasts.
                let transient = c == TopicWait::NoLeader && started.elapsed() < NO_LEADER_GRACE;
                if !transient && !cause.as_ref().is_some_and(|old| old.same_cause(&c)) {
                    note(&c);
                    cause = Some(c);
                }
            }
            if Instant::now() + wait > deadline {
                return Err(last_err.unwrap_or_else(|| gave_up(name, timeout, cause.as_ref())));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_millis(500));
        }
    }
}

/// The error after waiting `timeout` for `name`.
fn gave_up(name: &str, timeout: Duration, cause: Option<&TopicWait>) -> Error {
    match cause {
        Some(TopicWait::Unauthorized) => Error::new(
            ErrorKind::Kafka(ResponseError::TopicAuthorizationFailed),
            "metadata",
            format!("topic '{name}' is not authorized for this client after waiting {timeout:?}; grant DESCRIBE and READ/WRITE on it"),
        ),
        _ => Error::new(
            ErrorKind::Kafka(ResponseError::UnknownTopicOrPartition),
            "metadata",
            format!("topic '{name}' does not exist or has no leader after waiting {timeout:?}; create it first with Admin::create_topics (or `kafkit topic create` from the CLI), or enable auto topic creation on the broker (auto.create.topics.enable=true)"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::PartitionInfo;

    fn with(topic: Option<i32>, error: Option<i16>) -> ClusterMetadata {
        let mut m = ClusterMetadata::default();
        if let Some(leader) = topic {
            let t = TopicInfo {
                name: "t".into(),
                id: uuid::Uuid::from_u128(1),
                is_internal: false,
                partitions: vec![PartitionInfo {
                    partition: 0,
                    leader,
                    leader_epoch: 0,
                    replicas: vec![1],
                    isr: vec![1],
                    error_code: 0,
                }],
            };
            m.topics.insert("t".into(), Arc::new(t));
        }
        if let Some(code) = error {
            m.topic_errors.insert("t".into(), code);
        }
        m
    }

    #[test]
    fn the_cause_of_a_wait_comes_from_what_metadata_said() {
        assert_eq!(TopicWait::of(&with(Some(1), None), "t"), None);
        assert_eq!(
            TopicWait::of(&with(None, Some(3)), "t"),
            Some(TopicWait::Missing)
        );
        assert_eq!(
            TopicWait::of(&with(None, None), "t"),
            Some(TopicWait::Missing)
        );
        assert_eq!(
            TopicWait::of(&with(None, Some(29)), "t"),
            Some(TopicWait::Unauthorized)
        );
        assert_eq!(
            TopicWait::of(&with(Some(-1), None), "t"),
            Some(TopicWait::NoLeader)
        );
        let a = TopicWait::Unreachable("timeout".into());
        assert!(a.same_cause(&TopicWait::Unreachable("refused".into())));
        assert!(!a.same_cause(&TopicWait::Missing));
        assert!(TopicWait::Missing.describe("t").contains("does not exist"));
    }

    #[test]
    fn giving_up_on_an_unauthorized_topic_says_so() {
        let e = gave_up("t", Duration::from_secs(1), Some(&TopicWait::Unauthorized));
        assert_eq!(
            e.kafka_error(),
            Some(ResponseError::TopicAuthorizationFailed)
        );
        let e = gave_up("t", Duration::from_secs(1), Some(&TopicWait::Missing));
        assert_eq!(
            e.kafka_error(),
            Some(ResponseError::UnknownTopicOrPartition)
        );
    }
}
