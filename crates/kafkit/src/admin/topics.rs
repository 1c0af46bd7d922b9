//! Topic administration: create, delete, list, describe.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use crate::protocol::messages::{CreateTopicsRequest, DeleteTopicsRequest};

use super::Admin;
use crate::cluster::{TopicInfo, TopicSelection};
use crate::error::{Error, Result};

/// A topic to create.
#[derive(Debug, Clone)]
pub struct NewTopic {
    /// Name.
    pub name: String,
    /// Partitions; -1 = the broker's `num.partitions`.
    pub partitions: i32,
    /// Replication factor; -1 = the broker's `default.replication.factor`.
    pub replication_factor: i16,
    /// Topic configs, e.g. `cleanup.policy=compact`.
    pub configs: BTreeMap<String, String>,
}

impl NewTopic {
    /// A topic with `partitions` partitions and the broker's default replication factor.
    pub fn new(name: impl Into<String>, partitions: i32) -> Self {
        NewTopic {
            name: name.into(),
            partitions,
            replication_factor: -1,
            configs: BTreeMap::new(),
        }
    }

    /// Sets the replication factor.
    pub fn replication_factor(mut self, rf: i16) -> Self {
        self.replication_factor = rf;
        self
    }

    /// Adds a topic config.
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.configs.insert(key.into(), value.into());
        self
    }
}

/// Broker-side wait for topic operations.
const TOPIC_OP_TIMEOUT: Duration = Duration::from_secs(30);

impl Admin {
    /// Creates topics, then waits until each has a leader for every partition (so producing to
    /// it right away works). A topic that exists already fails with `TOPIC_ALREADY_EXISTS`.
    pub async fn create_topics(&self, topics: &[NewTopic]) -> Result<()> {
        self.send_create_topics(topics, false).await?;
        let deadline = self.kafka.config().request_timeout;
        for t in topics {
            self.kafka
                .cluster()
                .wait_for_topic(&t.name, deadline)
                .await?;
        }
        Ok(())
    }

    /// Asks the broker whether `create_topics` would create these topics, creating nothing
    /// (CreateTopics with `validate_only`): the same errors, e.g. `TOPIC_ALREADY_EXISTS`,
    /// `INVALID_REPLICATION_FACTOR`, `INVALID_CONFIG`.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// use kafkit::NewTopic;
    /// admin.validate_topics(&[NewTopic::new("orders", 6).replication_factor(3)]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn validate_topics(&self, topics: &[NewTopic]) -> Result<()> {
        self.send_create_topics(topics, true).await
    }

    async fn send_create_topics(&self, topics: &[NewTopic], validate_only: bool) -> Result<()> {
        for t in topics {
            if t.name.is_empty() || t.partitions == 0 || t.partitions < -1 {
                return Err(Error::config(format!(
                    "topic '{}': give a non-empty name and a positive partition count (or -1 for the broker default)",
                    t.name
                )));
            }
        }
        let conn = self.connection().await?;
        let mut req = CreateTopicsRequest::default();
        req.timeout_ms = TOPIC_OP_TIMEOUT.as_millis() as i32;
        req.topics = topics.iter().map(creatable).collect();
        req.validate_only = validate_only;
        let resp = conn
            .send(&req)
            .await
            .map_err(|e| e.during("create_topics"))?;
        for r in &resp.topics {
            Error::check(r.error_code, "create_topics", || {
                format!(
                    "topic '{}': {}",
                    r.name,
                    r.error_message
                        .as_deref()
                        .unwrap_or("the broker refused to create it")
                )
            })?;
        }
        Ok(())
    }

    /// Creates one topic with `partitions` partitions and the broker's default replication.
    pub async fn create_topic(&self, name: &str, partitions: i32) -> Result<()> {
        self.create_topics(&[NewTopic::new(name, partitions)]).await
    }

    /// Deletes topics by name. A topic that does not exist fails with `UNKNOWN_TOPIC_OR_PARTITION`.
    pub async fn delete_topics(&self, names: &[&str]) -> Result<()> {
        let conn = self.connection().await?;
        let version = conn.version::<DeleteTopicsRequest>()?;
        let mut req = DeleteTopicsRequest::default();
        req.timeout_ms = TOPIC_OP_TIMEOUT.as_millis() as i32;
        if version >= 6 {
            req.topics = names
                .iter()
                .map(|n| {
                    let mut s =
                        crate::protocol::messages::delete_topics_request::DeleteTopicState::default(
                        );
                    s.name = Some(n.to_string());
                    s
                })
                .collect();
        } else {
            req.topic_names = names.iter().map(|n| n.to_string()).collect();
        }
        let resp = conn
            .send_version(&req, version)
            .await
            .map_err(|e| e.during("delete_topics"))?;
        for r in &resp.responses {
            let name = r
                .name
                .as_ref()
                .map(|n| n.to_string())
                .unwrap_or_else(|| r.topic_id.to_string());
            Error::check(r.error_code, "delete_topics", || {
                format!(
                    "topic '{name}': {}",
                    r.error_message.as_deref().unwrap_or("delete failed")
                )
            })?;
        }
        let _ = self
            .kafka
            .cluster()
            .refresh(TopicSelection::Names(
                names.iter().map(|s| s.to_string()).collect(),
            ))
            .await;
        Ok(())
    }

    /// Raises a topic's partition count to `total` (Kafka cannot lower it). Keyed records map
    /// to other partitions afterwards, as with any client.
    pub async fn create_partitions(&self, topic: &str, total: i32) -> Result<()> {
        self.create_partitions_assigned(topic, total, &[], false)
            .await
    }

    /// `create_partitions` placing the new partitions' replicas: `assignments` holds one list of
    /// broker ids per new partition (empty: the broker places them). With `validate_only` the
    /// broker checks the change without making it.
    ///
    /// ```no_run
    /// # async fn f(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// // From 2 to 3 partitions, the new one on broker 1.
    /// admin.create_partitions_assigned("orders", 3, &[vec![1]], false).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_partitions_assigned(
        &self,
        topic: &str,
        total: i32,
        assignments: &[Vec<i32>],
        validate_only: bool,
    ) -> Result<()> {
        use crate::protocol::messages::create_partitions_request::{
            CreatePartitionsAssignment, CreatePartitionsTopic,
        };
        use crate::protocol::messages::CreatePartitionsRequest;
        if topic.is_empty() || total <= 0 {
            return Err(Error::config(
                "create_partitions needs a topic name and a positive total partition count",
            ));
        }
        let conn = self.connection().await?;
        let mut t = CreatePartitionsTopic::default();
        t.name = topic.to_string();
        t.count = total;
        // Null (not empty) lets the broker place the new replicas.
        t.assignments = (!assignments.is_empty()).then(|| {
            assignments
                .iter()
                .map(|brokers| {
                    let mut a = CreatePartitionsAssignment::default();
                    a.broker_ids = brokers.to_vec();
                    a
                })
                .collect()
        });
        let mut req = CreatePartitionsRequest::default();
        req.topics = vec![t];
        req.validate_only = validate_only;
        req.timeout_ms = TOPIC_OP_TIMEOUT.as_millis() as i32;
        let resp = conn
            .send(&req)
            .await
            .map_err(|e| e.during("create_partitions"))?;
        for r in &resp.results {
            Error::check(r.error_code, "create_partitions", || {
                format!(
                    "topic '{}': {}",
                    r.name,
                    r.error_message
                        .as_deref()
                        .unwrap_or("the broker refused the new partition count")
                )
            })?;
        }
        let _ = self
            .kafka
            .cluster()
            .refresh(TopicSelection::Names(vec![topic.to_string()]))
            .await;
        Ok(())
    }

    /// Names of every topic that is not internal, sorted.
    pub async fn list_topics(&self) -> Result<Vec<String>> {
        let snap = self.kafka.cluster().refresh(TopicSelection::All).await?;
        let mut names: Vec<String> = snap
            .topics
            .values()
            .filter(|t| !t.is_internal)
            .map(|t| t.name.clone())
            .collect();
        names.sort();
        Ok(names)
    }

    /// Describes these topics (all topics when `names` is empty): partitions, leaders,
    /// replicas, in-sync replicas and topic ids (Java `Admin.describeTopics`). A topic that
    /// does not exist, or that this client may not describe, is an error naming it.
    ///
    /// ```no_run
    /// # async fn demo(admin: kafkit::Admin) -> kafkit::Result<()> {
    /// for topic in admin.describe_topics(&["orders"]).await? {
    ///     println!("{}: {} partitions", topic.name, topic.partitions.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn describe_topics(&self, names: &[&str]) -> Result<Vec<Arc<TopicInfo>>> {
        self.topics_metadata(names).await
    }

    /// The former name of [`describe_topics`](Self::describe_topics).
    #[deprecated(note = "renamed `describe_topics`, the Java admin client's name")]
    pub async fn topic_metadata(&self, names: &[&str]) -> Result<Vec<Arc<TopicInfo>>> {
        self.topics_metadata(names).await
    }

    async fn topics_metadata(&self, names: &[&str]) -> Result<Vec<Arc<TopicInfo>>> {
        let selection = if names.is_empty() {
            TopicSelection::All
        } else {
            TopicSelection::Names(names.iter().map(|s| s.to_string()).collect())
        };
        let snap = self.kafka.cluster().refresh(selection).await?;
        if names.is_empty() {
            let mut all: Vec<_> = snap.topics.values().cloned().collect();
            all.sort_by(|a, b| a.name.cmp(&b.name));
            return Ok(all);
        }
        names
            .iter()
            .map(|n| {
                snap.topic(n).cloned().ok_or_else(|| {
                    // The broker's own reason when it gave one (an unauthorized topic is
                    // TOPIC_AUTHORIZATION_FAILED, not missing).
                    let code = snap.topic_errors.get(*n).copied().unwrap_or(3);
                    let why = match code {
                        29 => format!(
                            "topic '{n}' is not authorized for this client; grant DESCRIBE on it"
                        ),
                        3 => format!("topic '{n}' does not exist"),
                        _ => format!("no metadata for topic '{n}'"),
                    };
                    Error::from_code(code, "describe_topics", why.clone())
                        .unwrap_or_else(|| Error::protocol("describe_topics", why))
                })
            })
            .collect()
    }
}

fn creatable(t: &NewTopic) -> CreatableTopic {
    let mut c = CreatableTopic::default();
    c.name = t.name.clone();
    c.num_partitions = t.partitions;
    c.replication_factor = t.replication_factor;
    c.configs = t
        .configs
        .iter()
        .map(|(k, v)| {
            let mut cfg = CreatableTopicConfig::default();
            cfg.name = k.clone();
            cfg.value = Some(v.clone());
            cfg
        })
        .collect();
    c
}
