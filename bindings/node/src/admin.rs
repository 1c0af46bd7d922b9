//! The admin client behind KafkaJS's `kafka.admin()`; answers in KafkaJS's shapes (JSON).

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::join_all;
use kafkit::admin::{
    AlterConfigOp, ConfigResource, ConfigResourceType, ConfigSource, OffsetReset, OffsetSpec,
};
use kafkit::error::ResponseError;
use kafkit::{Error, ErrorKind, Kafka, NewTopic, TopicPartition};
use napi_derive::napi;
use serde_json::{json, Value};

use crate::acls::{self, AclSpec, ReplicaMove};
use crate::client::{ClientOptions, Link};
use crate::consumer::Tp;
use crate::error::{config, to_js, IntoJs, Result};

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

/// A topic of KafkaJS's `createPartitions({ topicPartitions })`.
#[napi(object)]
pub struct PartitionsSpec {
    pub topic: String,
    pub count: i32,
    pub assignments: Option<Vec<Vec<i32>>>,
}

/// A partition and an offset (a string, as KafkaJS gives offsets).
#[napi(object)]
pub struct PartitionOffset {
    pub partition: i32,
    pub offset: String,
}

/// A resource of KafkaJS's `describeConfigs({ resources })`.
#[napi(object)]
pub struct ConfigQuery {
    pub resource_type: i32,
    pub name: String,
    pub config_names: Option<Vec<String>>,
}

/// A resource of KafkaJS's `alterConfigs({ resources })`.
#[napi(object)]
pub struct ConfigChange {
    pub resource_type: i32,
    pub name: String,
    pub config_entries: Vec<ConfigEntry>,
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

    /// Creates topics (or, with `validate_only`, asks whether they could be created), one
    /// request each (the broker treats them independently anyway), so
    /// that every topic's error is known: the answer is a JSON array of
    /// `{ topic, error }`, `error` a native error reason or null; `lib/admin.js` turns it into
    /// KafkaJS's answer (`true`, `false` when every failure is TOPIC_ALREADY_EXISTS, or a
    /// KafkaJSAggregateError of KafkaJSCreateTopicError).
    #[napi]
    pub async fn create_topics(
        &self,
        topics: Vec<TopicSpec>,
        validate_only: bool,
    ) -> Result<String> {
        let admin = self.admin();
        let calls = topics.into_iter().map(|t| {
            let admin = admin.clone();
            async move {
                let partitions = t.num_partitions.unwrap_or(-1);
                let mut n = NewTopic::new(t.topic.clone(), partitions)
                    .replication_factor(t.replication_factor.unwrap_or(-1) as i16);
                for c in t.config_entries.unwrap_or_default() {
                    n = n.config(c.name, c.value);
                }
                // kafkit refuses these before asking the broker; say what the broker would.
                let result = if partitions == 0 || partitions < -1 {
                    Err(Error::new(
                        ErrorKind::Kafka(ResponseError::InvalidPartitions),
                        "create_topics",
                        format!(
                            "topic '{}': Number of partitions is invalid ({partitions}; give a positive count, or -1 for the broker default)",
                            t.topic
                        ),
                    ))
                } else if validate_only {
                    admin.validate_topics(std::slice::from_ref(&n)).await
                } else {
                    admin.create_topics(std::slice::from_ref(&n)).await
                };
                json!({ "topic": t.topic, "error": result.err().map(reason) })
            }
        });
        Ok(Value::Array(join_all(calls).await).to_string())
    }

    /// Raises partition counts, topic by topic (`assignments`: the brokers of each new
    /// partition's replicas); the first refusal fails the call (as KafkaJS).
    #[napi]
    pub async fn create_partitions(
        &self,
        topics: Vec<PartitionsSpec>,
        validate_only: bool,
    ) -> Result<()> {
        let admin = self.admin();
        for t in topics {
            admin
                .create_partitions_assigned(
                    &t.topic,
                    t.count,
                    &t.assignments.unwrap_or_default(),
                    validate_only,
                )
                .await
                .js()?;
        }
        Ok(())
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

    /// KafkaJS's `fetchTopicOffsets`: `[{ partition, offset, high, low }]` (JSON).
    #[napi]
    pub async fn fetch_topic_offsets(&self, topic: String) -> Result<String> {
        let admin = self.admin();
        let parts = admin.partitions_of(&topic).await.js()?;
        let high = admin
            .list_offsets(&parts, OffsetSpec::Latest, false)
            .await
            .js()?;
        let low = admin
            .list_offsets(&parts, OffsetSpec::Earliest, false)
            .await
            .js()?;
        let low: BTreeMap<i32, i64> = low
            .into_iter()
            .map(|o| (o.partition.partition, o.offset))
            .collect();
        let out: Vec<Value> = high
            .into_iter()
            .map(|o| {
                let p = o.partition.partition;
                json!({
                    "partition": p,
                    "offset": o.offset.to_string(),
                    "high": o.offset.to_string(),
                    "low": low.get(&p).copied().unwrap_or(0).to_string(),
                })
            })
            .collect();
        Ok(Value::Array(out).to_string())
    }

    /// KafkaJS's `fetchTopicOffsetsByTimestamp`: the first offset at or after `timestamp` on
    /// each partition, the end offset where every record is older (or without a timestamp).
    #[napi]
    pub async fn fetch_topic_offsets_by_timestamp(
        &self,
        topic: String,
        timestamp: Option<f64>,
    ) -> Result<String> {
        let admin = self.admin();
        let parts = admin.partitions_of(&topic).await.js()?;
        let high: BTreeMap<i32, i64> = admin
            .list_offsets(&parts, OffsetSpec::Latest, false)
            .await
            .js()?
            .into_iter()
            .map(|o| (o.partition.partition, o.offset))
            .collect();
        let found = match timestamp {
            Some(t) => admin
                .list_offsets(&parts, OffsetSpec::Timestamp(t as i64), false)
                .await
                .js()?
                .into_iter()
                .map(|o| (o.partition.partition, o.offset))
                .collect(),
            None => high.clone(),
        };
        let out: Vec<Value> = found
            .into_iter()
            .map(|(p, o)| {
                let o = if o >= 0 {
                    o
                } else {
                    high.get(&p).copied().unwrap_or(0)
                };
                json!({ "partition": p, "offset": o.to_string() })
            })
            .collect();
        Ok(Value::Array(out).to_string())
    }

    /// KafkaJS's `fetchOffsets` (before `resolveOffsets`, which `lib/admin.js` applies): the
    /// committed offset of every partition of each topic (`-1` where none), or of every
    /// partition the group committed when `topics` is empty.
    #[napi]
    pub async fn fetch_offsets(&self, group_id: String, topics: Vec<String>) -> Result<String> {
        let admin = self.admin();
        let committed: BTreeMap<TopicPartition, i64> = admin
            .group_offsets(&group_id)
            .await
            .js()?
            .into_iter()
            .map(|o| (o.partition, o.committed))
            .collect();
        let mut out: Vec<(String, Vec<(i32, i64)>)> = Vec::new();
        if topics.is_empty() {
            for (tp, o) in &committed {
                match out.last_mut() {
                    Some((t, parts)) if *t == tp.topic => parts.push((tp.partition, *o)),
                    _ => out.push((tp.topic.clone(), vec![(tp.partition, *o)])),
                }
            }
        } else {
            for topic in topics {
                let parts = admin.partitions_of(&topic).await.js()?;
                let offsets = parts
                    .into_iter()
                    .map(|tp| {
                        let o = committed.get(&tp).copied().unwrap_or(-1);
                        (tp.partition, o)
                    })
                    .collect();
                out.push((topic, offsets));
            }
        }
        let out: Vec<Value> = out
            .into_iter()
            .map(|(topic, parts)| {
                json!({
                    "topic": topic,
                    "partitions": parts.into_iter().map(|(p, o)| json!({
                        "partition": p,
                        "offset": o.to_string(),
                        "metadata": null,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        Ok(Value::Array(out).to_string())
    }

    /// KafkaJS's `setOffsets`: commits these offsets for the group (which `lib/admin.js` has
    /// checked has no live members); `-2` means the earliest offset, `-1` the latest, as in
    /// KafkaJS's `seek`.
    #[napi]
    pub async fn set_offsets(
        &self,
        group_id: String,
        topic: String,
        partitions: Vec<PartitionOffset>,
    ) -> Result<()> {
        let admin = self.admin();
        let mut wanted = Vec::with_capacity(partitions.len());
        for p in partitions {
            let o: i64 = p.offset.trim().parse().map_err(|_| {
                config(format!(
                    "setOffsets: offset '{}' of partition {} is not a number",
                    p.offset, p.partition
                ))
            })?;
            if o < -2 {
                return Err(config(format!(
                    "setOffsets: offset {o} of partition {} is invalid: give an offset >= 0, -1 (latest) or -2 (earliest)",
                    p.partition
                )));
            }
            wanted.push((TopicPartition::new(topic.clone(), p.partition), o));
        }
        for (special, spec) in [(-1, OffsetSpec::Latest), (-2, OffsetSpec::Earliest)] {
            let parts: Vec<TopicPartition> = wanted
                .iter()
                .filter(|(_, o)| *o == special)
                .map(|(tp, _)| tp.clone())
                .collect();
            if parts.is_empty() {
                continue;
            }
            let found = admin.list_offsets(&parts, spec, false).await.js()?;
            for (tp, o) in wanted.iter_mut() {
                if *o == special {
                    if let Some(f) = found.iter().find(|f| f.partition == *tp) {
                        *o = f.offset;
                    }
                }
            }
        }
        admin.set_group_offsets(&group_id, &wanted).await.js()
    }

    /// KafkaJS's `resetOffsets`: the group's offsets on every partition of `topic` to the
    /// earliest or the latest offset.
    #[napi]
    pub async fn reset_offsets(
        &self,
        group_id: String,
        topic: String,
        earliest: bool,
    ) -> Result<()> {
        let to = if earliest {
            OffsetReset::Earliest
        } else {
            OffsetReset::Latest
        };
        self.admin()
            .reset_group_offsets(&group_id, &topic, to)
            .await
            .js()
            .map(|_| ())
    }

    /// KafkaJS's `deleteTopicRecords`, a request per partition so that each partition's error
    /// is known: a JSON array of `{ partition, offset, error }` (`error` a native error reason
    /// or null).
    #[napi]
    pub async fn delete_topic_records(
        &self,
        topic: String,
        partitions: Vec<PartitionOffset>,
    ) -> Result<String> {
        let admin = self.admin();
        let calls = partitions.into_iter().map(|p| {
            let admin = admin.clone();
            let tp = TopicPartition::new(topic.clone(), p.partition);
            async move {
                let result = match p.offset.trim().parse::<i64>() {
                    Ok(o) => admin.delete_records(&[(tp, o)]).await.map(|_| ()),
                    Err(_) => Err(Error::new(
                        ErrorKind::Config,
                        "delete_records",
                        format!("offset '{}' of partition {} is not a number", p.offset, p.partition),
                    )),
                };
                json!({ "partition": p.partition, "offset": p.offset, "error": result.err().map(reason) })
            }
        });
        Ok(Value::Array(join_all(calls).await).to_string())
    }

    /// KafkaJS's `listGroups`: `{ groups: [{ groupId, protocolType }] }` (JSON).
    #[napi]
    pub async fn list_groups(&self) -> Result<String> {
        let groups = self.admin().list_groups(&[], &[]).await.js()?;
        let groups: Vec<Value> = groups
            .into_iter()
            .map(|g| {
                // KIP-848 groups have no embedded protocol type; their members speak `consumer`.
                let protocol_type = if g.protocol_type.is_empty() && g.group_type == "consumer" {
                    "consumer".to_string()
                } else {
                    g.protocol_type
                };
                json!({ "groupId": g.group_id, "protocolType": protocol_type })
            })
            .collect();
        Ok(json!({ "groups": groups }).to_string())
    }

    /// KafkaJS's `deleteGroups`, group by group: a JSON array of `{ groupId, errorCode, error }`
    /// (`error` a native error reason or null).
    #[napi]
    pub async fn delete_groups(&self, group_ids: Vec<String>) -> Result<String> {
        let admin = self.admin();
        let calls = group_ids.into_iter().map(|g| {
            let admin = admin.clone();
            async move {
                let result = admin.delete_groups(&[g.as_str()]).await;
                let code = result.as_ref().err().and_then(Error::code).unwrap_or(0);
                match result {
                    Err(e) if e.kafka_error().is_none() => Err(to_js(e)),
                    r => {
                        Ok(json!({ "groupId": g, "errorCode": code, "error": r.err().map(reason) }))
                    }
                }
            }
        });
        let results: Vec<Value> = join_all(calls).await.into_iter().collect::<Result<_>>()?;
        Ok(Value::Array(results).to_string())
    }

    /// KafkaJS's `describeCluster`: `{ brokers: [{ nodeId, host, port }], controller, clusterId }`.
    #[napi]
    pub async fn describe_cluster(&self) -> Result<String> {
        let c = self.admin().describe_cluster().await.js()?;
        let brokers: Vec<Value> = c
            .brokers
            .iter()
            .map(|b| json!({ "nodeId": b.node_id, "host": b.host, "port": b.port }))
            .collect();
        Ok(json!({
            "brokers": brokers,
            "controller": (c.controller_id >= 0).then_some(c.controller_id),
            "clusterId": c.cluster_id,
        })
        .to_string())
    }

    /// KafkaJS's `describeConfigs` (JSON), a resource at a time (each has its own names).
    #[napi]
    pub async fn describe_configs(
        &self,
        resources: Vec<ConfigQuery>,
        include_synonyms: bool,
    ) -> Result<String> {
        let admin = self.admin();
        let mut out = Vec::with_capacity(resources.len());
        for q in resources {
            let r = config_resource(q.resource_type, &q.name)?;
            let names = q.config_names.unwrap_or_default();
            let keys: Vec<&str> = names.iter().map(String::as_str).collect();
            let described = admin
                .describe_configs(std::slice::from_ref(&r), &keys)
                .await
                .js()?;
            let entries: Vec<Value> = described
                .into_iter()
                .flat_map(|d| d.entries)
                .map(|e| {
                    let synonyms: Vec<Value> = if include_synonyms {
                        e.synonyms
                            .iter()
                            .map(|(n, v, s)| json!({ "configName": n, "configValue": v, "configSource": s.code() }))
                            .collect()
                    } else {
                        Vec::new()
                    };
                    json!({
                        "configName": e.name,
                        "configValue": e.value,
                        "readOnly": e.read_only,
                        "isDefault": e.source == ConfigSource::Default,
                        "configSource": e.source.code(),
                        "isSensitive": e.sensitive,
                        "configSynonyms": synonyms,
                    })
                })
                .collect();
            out.push(json!({
                "errorCode": 0,
                "errorMessage": "",
                "resourceType": q.resource_type,
                "resourceName": q.name,
                "configEntries": entries,
            }));
        }
        Ok(json!({ "resources": out }).to_string())
    }

    /// KafkaJS's `alterConfigs`: each resource's configs become the ones given, as with Kafka's
    /// (non-incremental) AlterConfigs that KafkaJS sends: the given entries are set, and the
    /// values set on the resource itself that are not given go back to their defaults.
    #[napi]
    pub async fn alter_configs(
        &self,
        resources: Vec<ConfigChange>,
        validate_only: bool,
    ) -> Result<String> {
        let admin = self.admin();
        let mut out = Vec::with_capacity(resources.len());
        for c in resources {
            let r = config_resource(c.resource_type, &c.name)?;
            let own = match r.kind {
                ConfigResourceType::Topic => Some(ConfigSource::DynamicTopic),
                ConfigResourceType::Broker if r.name.is_empty() => {
                    Some(ConfigSource::DynamicDefaultBroker)
                }
                ConfigResourceType::Broker => Some(ConfigSource::DynamicBroker),
                ConfigResourceType::BrokerLogger => Some(ConfigSource::DynamicBrokerLogger),
                _ => None,
            };
            let mut ops: Vec<AlterConfigOp> = c
                .config_entries
                .iter()
                .map(|e| AlterConfigOp::set(e.name.clone(), e.value.clone()))
                .collect();
            if let Some(own) = own {
                let current = admin
                    .describe_configs(std::slice::from_ref(&r), &[])
                    .await
                    .js()?;
                for e in current.iter().flat_map(|d| &d.entries) {
                    if e.source == own && !c.config_entries.iter().any(|g| g.name == e.name) {
                        ops.push(AlterConfigOp::delete(e.name.clone()));
                    }
                }
            }
            if !ops.is_empty() {
                admin
                    .incremental_alter_configs(&[(r, ops)], validate_only)
                    .await
                    .js()?;
            }
            out.push(json!({
                "errorCode": 0,
                "errorMessage": null,
                "resourceType": c.resource_type,
                "resourceName": c.name,
            }));
        }
        Ok(json!({ "resources": out }).to_string())
    }

    /// KafkaJS's `createAcls({ acl })`.
    #[napi]
    pub async fn create_acls(&self, acl: Vec<AclSpec>) -> Result<()> {
        let acls: Vec<_> = acl.into_iter().map(acls::binding).collect();
        self.admin().create_acls(&acls).await.js()
    }

    /// KafkaJS's `describeAcls(filter)` (JSON).
    #[napi]
    pub async fn describe_acls(&self, filter: AclSpec) -> Result<String> {
        let found = self
            .admin()
            .describe_acls(&acls::filter(filter))
            .await
            .js()?;
        Ok(acls::described(found).to_string())
    }

    /// KafkaJS's `deleteAcls({ filters })` (JSON): a filter at a time, so that each one's
    /// answer lists what it deleted.
    #[napi]
    pub async fn delete_acls(&self, filters: Vec<AclSpec>) -> Result<String> {
        let admin = self.admin();
        let mut per_filter = Vec::with_capacity(filters.len());
        for f in filters {
            let f = acls::filter(f);
            per_filter.push(admin.delete_acls(std::slice::from_ref(&f)).await.js()?);
        }
        Ok(acls::deleted(per_filter).to_string())
    }

    /// KafkaJS's `alterPartitionReassignments({ topics })`, flattened to partitions.
    #[napi]
    pub async fn alter_partition_reassignments(&self, moves: Vec<ReplicaMove>) -> Result<()> {
        self.admin()
            .alter_partition_reassignments(&acls::moves(moves))
            .await
            .js()
    }

    /// KafkaJS's `listPartitionReassignments({ topics })` (JSON); no partitions: all.
    #[napi]
    pub async fn list_partition_reassignments(&self, partitions: Vec<Tp>) -> Result<String> {
        let tps: Vec<TopicPartition> = partitions
            .into_iter()
            .map(|t| TopicPartition::new(t.topic, t.partition))
            .collect();
        let ongoing = self.admin().list_partition_reassignments(&tps).await.js()?;
        Ok(acls::ongoing(ongoing).to_string())
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

/// A kafkit error as the reason string `lib/errors.js` decodes, for answers that carry an
/// error per topic, partition or group.
fn reason(e: Error) -> String {
    to_js(e).reason
}

/// KafkaJS's config resource type (`ConfigResourceTypes`) and name as kafkit's resource.
fn config_resource(kind: i32, name: &str) -> Result<ConfigResource> {
    let kind = i8::try_from(kind)
        .ok()
        .map(ConfigResourceType::from_code)
        .filter(|k| !matches!(k, ConfigResourceType::Unknown(_)))
        .ok_or_else(|| config(format!("Invalid resource type {kind}")))?;
    Ok(ConfigResource::new(kind, name))
}

/// Groups described in KafkaJS's `describeGroups` shape; `lib/admin.js` encodes each member's
/// assignment as the classic `MemberAssignment` buffer KafkaJS returns. A group that does not
/// exist is `Dead` without members, as brokers before Kafka 4.0 (which KafkaJS knows) answer.
pub(crate) async fn describe_groups_json(kafka: &Kafka, groups: &[String]) -> Result<String> {
    let admin = kafka.admin();
    let calls = groups.iter().map(|g| {
        let admin = admin.clone();
        async move {
            match admin.describe_groups(&[g.as_str()]).await {
                Ok(mut d) if !d.is_empty() => Ok(group_json(d.remove(0))),
                Ok(_) => Ok(dead_group_json(g)),
                Err(e) if e.kafka_error() == Some(ResponseError::GroupIdNotFound) => {
                    Ok(dead_group_json(g))
                }
                Err(e) => Err(to_js(e)),
            }
        }
    });
    let groups: Vec<Value> = join_all(calls).await.into_iter().collect::<Result<_>>()?;
    Ok(json!({ "groups": groups }).to_string())
}

fn dead_group_json(group: &str) -> Value {
    json!({
        "errorCode": 0,
        "groupId": group,
        "state": "Dead",
        "protocolType": "",
        "protocol": "",
        "groupProtocol": null,
        "groupEpoch": -1,
        "members": [],
    })
}

fn group_json(g: kafkit::admin::GroupDescription) -> Value {
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
}

/// Topic metadata in KafkaJS's `fetchTopicMetadata` shape.
pub(crate) async fn topic_metadata_json(
    kafka: &Kafka,
    topics: &[String],
) -> Result<serde_json::Value> {
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let infos = kafka.admin().describe_topics(&names).await.js()?;
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
