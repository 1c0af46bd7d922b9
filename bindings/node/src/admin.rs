//! The admin client behind KafkaJS's `kafka.admin()`; answers in KafkaJS's shapes (JSON).

use std::sync::Arc;

use kafkit::{Kafka, NewTopic};
use napi_derive::napi;
use serde_json::json;

use crate::client::{ClientOptions, Link};
use crate::error::{to_js, IntoJs, Result};

#[napi(object)]
pub struct ConfigEntry {
    pub name: String,
    pub value: String,
}

/// A topic of KafkaJS's `createTopics({ topics })`.
#[napi(object)]
pub struct TopicSpec {
    pub topic: String,
    pub num_partitions: Option<i32>,
    pub replication_factor: Option<i32>,
    pub config_entries: Option<Vec<ConfigEntry>>,
}

#[napi]
pub struct NativeAdmin {
    link: Arc<Link>,
}

#[napi]
impl NativeAdmin {
    #[napi(factory)]
    pub async fn connect(client: ClientOptions) -> Result<Self> {
        Ok(NativeAdmin {
            link: Link::connect(client).await?,
        })
    }

    fn admin(&self) -> kafkit::Admin {
        self.link.kafka.admin()
    }

    /// Creates topics; `false` when one exists already (KafkaJS's answer).
    #[napi]
    pub async fn create_topics(&self, topics: Vec<TopicSpec>) -> Result<bool> {
        let list: Vec<NewTopic> = topics
            .into_iter()
            .map(|t| {
                let mut n = NewTopic::new(t.topic, t.num_partitions.unwrap_or(-1))
                    .replication_factor(t.replication_factor.unwrap_or(-1) as i16);
                for c in t.config_entries.unwrap_or_default() {
                    n = n.config(c.name, c.value);
                }
                n
            })
            .collect();
        match self.admin().create_topics(&list).await {
            Ok(()) => Ok(true),
            Err(e)
                if e.kafka_error()
                    .map(kafkit::error::kafka_error_name)
                    .as_deref()
                    == Some("TOPIC_ALREADY_EXISTS") =>
            {
                Ok(false)
            }
            Err(e) => Err(to_js(e)),
        }
    }

    #[napi]
    pub async fn delete_topics(&self, topics: Vec<String>) -> Result<()> {
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        self.admin().delete_topics(&names).await.js()
    }

    #[napi]
    pub async fn list_topics(&self) -> Result<Vec<String>> {
        self.admin().list_topics().await.js()
    }

    /// KafkaJS's `fetchTopicMetadata`, as JSON.
    #[napi]
    pub async fn fetch_topic_metadata(&self, topics: Vec<String>) -> Result<String> {
        Ok(topic_metadata_json(&self.link.kafka, &topics)
            .await?
            .to_string())
    }

    /// KafkaJS's `describeGroups`, as JSON.
    #[napi]
    pub async fn describe_groups(&self, groups: Vec<String>) -> Result<String> {
        describe_groups_json(&self.link.kafka, &groups).await
    }

    #[napi]
    pub async fn next_events(&self) -> Option<String> {
        self.link.next_events().await
    }

    #[napi]
    pub fn want_requests(&self, on: bool) {
        self.link.want_requests(on)
    }

    #[napi]
    pub async fn disconnect(&self) {
        self.link.close().await
    }
}

/// Groups described in KafkaJS's `describeGroups` shape; `lib/admin.js` encodes each member's
/// assignment as the classic `MemberAssignment` buffer KafkaJS returns.
pub(crate) async fn describe_groups_json(kafka: &Kafka, groups: &[String]) -> Result<String> {
    let names: Vec<&str> = groups.iter().map(String::as_str).collect();
    let described = kafka.admin().describe_groups(&names).await.js()?;
    let groups: Vec<_> = described
        .into_iter()
        .map(|g| {
            json!({
                "errorCode": 0,
                "groupId": g.group_id,
                "state": g.state,
                "protocolType": "consumer",
                "protocol": g.assignor,
                "groupProtocol": format!("{:?}", g.kind).to_lowercase(),
                "groupEpoch": g.group_epoch,
                "members": g.members.into_iter().map(|m| json!({
                    "memberId": m.member_id,
                    "groupInstanceId": m.instance_id,
                    "clientId": m.client_id,
                    "clientHost": m.client_host,
                    "rackId": m.rack_id,
                    "memberEpoch": m.member_epoch,
                    "subscribedTopics": m.subscribed_topics,
                    "assignment": m.assignment.iter().map(|t| json!({"topic": t.topic, "partition": t.partition})).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(json!({ "groups": groups }).to_string())
}

/// Topic metadata in KafkaJS's `fetchTopicMetadata` shape.
pub(crate) async fn topic_metadata_json(
    kafka: &Kafka,
    topics: &[String],
) -> Result<serde_json::Value> {
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let infos = kafka.admin().topic_metadata(&names).await.js()?;
    let topics: Vec<_> = infos
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "partitions": t.partitions.iter().map(|p| json!({
                    "partitionErrorCode": p.error_code,
                    "partitionId": p.partition,
                    "leader": p.leader,
                    "leaderEpoch": p.leader_epoch,
                    "replicas": p.replicas,
                    "isr": p.isr,
                    "offlineReplicas": [],
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(json!({ "topics": topics }))
}
