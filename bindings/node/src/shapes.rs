//! Shapes that more than one client passes across the boundary (partitions, offsets, group
//! descriptions, topic metadata), as typed objects JavaScript receives as plain objects. The
//! admin, consumer and producer modules all import them from here, and none from another.
//! Offsets are strings, as KafkaJS gives them, so 64-bit values stay exact.

use futures::future::join_all;
use kafkit::admin::GroupDescription;
use kafkit::error::ResponseError;
use kafkit::Kafka;
use napi_derive::napi;

use crate::error::{to_js, IntoJs, Result};

/// A topic's partition.
#[napi(object)]
pub struct Tp {
    pub topic: String,
    pub partition: i32,
}

impl From<kafkit::TopicPartition> for Tp {
    fn from(t: kafkit::TopicPartition) -> Self {
        Tp {
            topic: t.topic,
            partition: t.partition,
        }
    }
}

/// A partition and an offset (a string, as KafkaJS gives offsets).
#[napi(object)]
pub struct PartitionOffset {
    pub partition: i32,
    pub offset: String,
}

/// A partition of a topic and an offset (a string, as KafkaJS gives offsets).
#[napi(object)]
pub struct TopicOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: String,
}

/// A group member as `describeGroups` gives it before `lib/consumer.js` (`toKafkaJSGroup`)
/// encodes its subscription and assignment as KafkaJS's classic buffers.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct GroupMemberShape {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rack_id: Option<String>,
    pub member_epoch: i32,
    pub subscribed_topics: Vec<String>,
    pub assignment: Vec<Tp>,
}

/// A group as `describeGroups` gives it (see [`GroupMemberShape`]).
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct GroupShape {
    pub error_code: i32,
    pub group_id: String,
    pub state: String,
    pub protocol_type: String,
    pub protocol: String,
    /// `classic` or `consumer`; null for a group that does not exist.
    pub group_protocol: Option<String>,
    pub group_epoch: i32,
    pub members: Vec<GroupMemberShape>,
}

/// `describeGroups`'s answer.
#[napi(object, object_from_js = false)]
pub struct GroupsShape {
    pub groups: Vec<GroupShape>,
}

/// A partition in KafkaJS's `fetchTopicMetadata` (and `partitionMetadata`) shape.
#[napi(object, object_from_js = false)]
pub struct PartitionMetadataShape {
    pub partition_error_code: i32,
    pub partition_id: i32,
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub offline_replicas: Vec<i32>,
}

/// A topic in KafkaJS's `fetchTopicMetadata` shape.
#[napi(object, object_from_js = false)]
pub struct TopicMetadataShape {
    pub name: String,
    pub partitions: Vec<PartitionMetadataShape>,
}

/// KafkaJS's `fetchTopicMetadata` answer.
#[napi(object, object_from_js = false)]
pub struct TopicsMetadataShape {
    pub topics: Vec<TopicMetadataShape>,
}

/// Groups described in KafkaJS's `describeGroups` shape. A group that does not exist is
/// `Dead` without members, as brokers before Kafka 4.0 (which KafkaJS knows) answer.
pub(crate) async fn describe_groups(kafka: &Kafka, groups: &[String]) -> Result<GroupsShape> {
    let admin = kafka.admin();
    let calls = groups.iter().map(|g| {
        let admin = admin.clone();
        async move {
            match admin.describe_groups(&[g.as_str()]).await {
                Ok(mut d) if !d.is_empty() => Ok(group(d.remove(0))),
                Ok(_) => Ok(dead_group(g)),
                Err(e) if e.kafka_error() == Some(ResponseError::GroupIdNotFound) => {
                    Ok(dead_group(g))
                }
                Err(e) => Err(to_js(e)),
            }
        }
    });
    let groups = join_all(calls).await.into_iter().collect::<Result<_>>()?;
    Ok(GroupsShape { groups })
}

fn dead_group(group: &str) -> GroupShape {
    GroupShape {
        error_code: 0,
        group_id: group.to_string(),
        state: "Dead".into(),
        protocol_type: String::new(),
        protocol: String::new(),
        group_protocol: None,
        group_epoch: -1,
        members: Vec::new(),
    }
}

fn group(g: GroupDescription) -> GroupShape {
    GroupShape {
        error_code: 0,
        group_id: g.group_id,
        state: g.state,
        protocol_type: "consumer".into(),
        protocol: g.assignor,
        group_protocol: Some(format!("{:?}", g.kind).to_lowercase()),
        group_epoch: g.group_epoch,
        members: g
            .members
            .into_iter()
            .map(|m| GroupMemberShape {
                member_id: m.member_id,
                group_instance_id: m.instance_id,
                client_id: m.client_id,
                client_host: m.client_host,
                rack_id: m.rack_id,
                member_epoch: m.member_epoch,
                subscribed_topics: m.subscribed_topics,
                assignment: m.assignment.into_iter().map(Tp::from).collect(),
            })
            .collect(),
    }
}

/// Topic metadata in KafkaJS's `fetchTopicMetadata` shape.
pub(crate) async fn topic_metadata(
    kafka: &Kafka,
    topics: &[String],
) -> Result<TopicsMetadataShape> {
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let infos = kafka.admin().describe_topics(&names).await.js()?;
    let topics = infos
        .iter()
        .map(|t| TopicMetadataShape {
            name: t.name.clone(),
            partitions: t
                .partitions
                .iter()
                .map(|p| PartitionMetadataShape {
                    partition_error_code: p.error_code.into(),
                    partition_id: p.partition,
                    leader: p.leader,
                    leader_epoch: p.leader_epoch,
                    replicas: p.replicas.clone(),
                    isr: p.isr.clone(),
                    offline_replicas: Vec::new(),
                })
                .collect(),
        })
        .collect();
    Ok(TopicsMetadataShape { topics })
}
