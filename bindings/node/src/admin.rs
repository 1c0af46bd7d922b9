//! The admin client behind KafkaJS's `kafka.admin()`; answers in KafkaJS's shapes, as typed
//! objects (offsets as strings, as KafkaJS gives them).

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::join_all;
use kafkit::admin::{
    AlterConfigOp, ConfigResource, ConfigResourceType, ConfigSource, OffsetReset, OffsetSpec,
};
use kafkit::error::ResponseError;
use kafkit::{Error, ErrorKind, NewTopic, TopicPartition};
use napi_derive::napi;

use crate::acls::{self, AclSpec, AclsDeleted, AclsDescribed, Reassignments, ReplicaMove};
use crate::client::{ClientOptions, Link};
use crate::error::{config, to_js, IntoJs, Result};
use crate::shapes::{self, GroupsShape, PartitionOffset, TopicsMetadataShape, Tp};

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

/// A topic of `createTopics` and its error (a native error reason `lib/errors.js` decodes), if
/// it failed.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct TopicResult {
    pub topic: String,
    pub error: Option<String>,
}

/// A partition of `deleteTopicRecords` and its error (a native error reason), if it failed.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct PartitionResult {
    pub partition: i32,
    pub offset: String,
    pub error: Option<String>,
}

/// A partition of KafkaJS's `fetchTopicOffsets`.
#[napi(object, object_from_js = false)]
pub struct PartitionOffsets {
    pub partition: i32,
    pub offset: String,
    pub high: String,
    pub low: String,
}

/// A partition's committed offset in KafkaJS's `fetchOffsets` (`metadata` always null).
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct CommittedOffset {
    pub partition: i32,
    pub offset: String,
    pub metadata: Option<String>,
}

/// A topic of KafkaJS's `fetchOffsets`.
#[napi(object, object_from_js = false)]
pub struct TopicCommitted {
    pub topic: String,
    pub partitions: Vec<CommittedOffset>,
}

/// A group of KafkaJS's `listGroups`.
#[napi(object, object_from_js = false)]
pub struct ListedGroup {
    pub group_id: String,
    pub protocol_type: String,
}

/// KafkaJS's `listGroups` answer.
#[napi(object, object_from_js = false)]
pub struct ListedGroups {
    pub groups: Vec<ListedGroup>,
}

/// A group of `deleteGroups` and its error (a native error reason), if it failed.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct GroupResult {
    pub group_id: String,
    pub error_code: i32,
    pub error: Option<String>,
}

/// A broker of KafkaJS's `describeCluster`.
#[napi(object, object_from_js = false)]
pub struct BrokerShape {
    pub node_id: i32,
    pub host: String,
    pub port: i32,
}

/// KafkaJS's `describeCluster` answer (`controller` null when the cluster names none).
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct ClusterShape {
    pub brokers: Vec<BrokerShape>,
    pub controller: Option<i32>,
    pub cluster_id: Option<String>,
}

/// A synonym of a config entry in KafkaJS's `describeConfigs`.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct ConfigSynonym {
    pub config_name: String,
    pub config_value: Option<String>,
    pub config_source: i32,
}

/// A config entry in KafkaJS's `describeConfigs`.
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct ConfigDescribed {
    pub config_name: String,
    pub config_value: Option<String>,
    pub read_only: bool,
    pub is_default: bool,
    pub config_source: i32,
    pub is_sensitive: bool,
    pub config_synonyms: Vec<ConfigSynonym>,
}

/// A resource of KafkaJS's `describeConfigs` answer.
#[napi(object, object_from_js = false)]
pub struct ResourceConfigs {
    pub error_code: i32,
    pub error_message: String,
    pub resource_type: i32,
    pub resource_name: String,
    pub config_entries: Vec<ConfigDescribed>,
}

/// KafkaJS's `describeConfigs` answer.
#[napi(object, object_from_js = false)]
pub struct ConfigsDescribed {
    pub resources: Vec<ResourceConfigs>,
}

/// A resource of KafkaJS's `alterConfigs` answer (`errorMessage` always null).
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct ResourceAltered {
    pub error_code: i32,
    pub error_message: Option<String>,
    pub resource_type: i32,
    pub resource_name: String,
}

/// KafkaJS's `alterConfigs` answer.
#[napi(object, object_from_js = false)]
pub struct ConfigsAltered {
    pub resources: Vec<ResourceAltered>,
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
    /// that every topic's error is known: the answer is a list of `{ topic, error }`; `lib/admin.js` turns it into
    /// KafkaJS's answer (`true`, `false` when every failure is TOPIC_ALREADY_EXISTS, or a
    /// KafkaJSAggregateError of KafkaJSCreateTopicError).
    #[napi]
    pub async fn create_topics(
        &self,
        topics: Vec<TopicSpec>,
        validate_only: bool,
    ) -> Result<Vec<TopicResult>> {
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
                TopicResult {
                    topic: t.topic,
                    error: result.err().map(reason),
                }
            }
        });
        Ok(join_all(calls).await)
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

    /// KafkaJS's `fetchTopicMetadata`.
    #[napi]
    pub async fn fetch_topic_metadata(&self, topics: Vec<String>) -> Result<TopicsMetadataShape> {
        shapes::topic_metadata(&self.link.kafka, &topics).await
    }

    /// KafkaJS's `describeGroups`, before `lib/consumer.js` (`toKafkaJSGroup`) encodes each
    /// member's subscription and assignment as KafkaJS's classic buffers.
    #[napi]
    pub async fn describe_groups(&self, groups: Vec<String>) -> Result<GroupsShape> {
        shapes::describe_groups(&self.link.kafka, &groups).await
    }

    /// KafkaJS's `fetchTopicOffsets`: `[{ partition, offset, high, low }]`.
    #[napi]
    pub async fn fetch_topic_offsets(&self, topic: String) -> Result<Vec<PartitionOffsets>> {
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
        Ok(high
            .into_iter()
            .map(|o| {
                let p = o.partition.partition;
                PartitionOffsets {
                    partition: p,
                    offset: o.offset.to_string(),
                    high: o.offset.to_string(),
                    low: low.get(&p).copied().unwrap_or(0).to_string(),
                }
            })
            .collect())
    }

    /// KafkaJS's `fetchTopicOffsetsByTimestamp`: the first offset at or after `timestamp` on
    /// each partition, the end offset where every record is older (or without a timestamp).
    #[napi]
    pub async fn fetch_topic_offsets_by_timestamp(
        &self,
        topic: String,
        timestamp: Option<f64>,
    ) -> Result<Vec<PartitionOffset>> {
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
        Ok(found
            .into_iter()
            .map(|(p, o)| {
                let o = if o >= 0 {
                    o
                } else {
                    high.get(&p).copied().unwrap_or(0)
                };
                PartitionOffset {
                    partition: p,
                    offset: o.to_string(),
                }
            })
            .collect())
    }

    /// KafkaJS's `fetchOffsets` (before `resolveOffsets`, which `lib/admin.js` applies): the
    /// committed offset of every partition of each topic (`-1` where none), or of every
    /// partition the group committed when `topics` is empty.
    #[napi]
    pub async fn fetch_offsets(
        &self,
        group_id: String,
        topics: Vec<String>,
    ) -> Result<Vec<TopicCommitted>> {
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
        Ok(out
            .into_iter()
            .map(|(topic, parts)| TopicCommitted {
                topic,
                partitions: parts
                    .into_iter()
                    .map(|(p, o)| CommittedOffset {
                        partition: p,
                        offset: o.to_string(),
                        metadata: None,
                    })
                    .collect(),
            })
            .collect())
    }

    /// KafkaJS's `setOffsets`: commits these offsets for the group (which `lib/admin.js` has
    /// checked has no live members); `-2` (earliest) and `-1` (latest) are committed as they
    /// are, as KafkaJS does, or with `resolve` (`kafkitStrictOffsets`) looked up and
    /// committed as offsets.
    #[napi]
    pub async fn set_offsets(
        &self,
        group_id: String,
        topic: String,
        partitions: Vec<PartitionOffset>,
        resolve: bool,
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
        if !resolve {
            // KafkaJS's way: -2 and -1 committed as they are (each consumer then starts by
            // its own `fromBeginning`).
            return admin
                .set_group_offsets_keeping_sentinels(&group_id, &wanted)
                .await
                .js();
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

    /// KafkaJS's `resetOffsets`: the group's offsets on every partition of `topic` to -2
    /// (earliest) or -1 (latest), as KafkaJS commits them; with `resolve`
    /// (`kafkitStrictOffsets`), to the earliest or latest offset looked up.
    #[napi]
    pub async fn reset_offsets(
        &self,
        group_id: String,
        topic: String,
        earliest: bool,
        resolve: bool,
    ) -> Result<()> {
        if !resolve {
            // As KafkaJS: the sentinel (-2 earliest, -1 latest) on every partition.
            let admin = self.admin();
            let sentinel = if earliest { -2 } else { -1 };
            let wanted: Vec<(TopicPartition, i64)> = admin
                .partitions_of(&topic)
                .await
                .js()?
                .into_iter()
                .map(|tp| (tp, sentinel))
                .collect();
            return admin
                .set_group_offsets_keeping_sentinels(&group_id, &wanted)
                .await
                .js();
        }
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
    /// is known: a list of `{ partition, offset, error }`.
    #[napi]
    pub async fn delete_topic_records(
        &self,
        topic: String,
        partitions: Vec<PartitionOffset>,
    ) -> Result<Vec<PartitionResult>> {
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
                        format!(
                            "offset '{}' of partition {} is not a number",
                            p.offset, p.partition
                        ),
                    )),
                };
                PartitionResult {
                    partition: p.partition,
                    offset: p.offset,
                    error: result.err().map(reason),
                }
            }
        });
        Ok(join_all(calls).await)
    }

    /// KafkaJS's `listGroups`: `{ groups: [{ groupId, protocolType }] }`.
    #[napi]
    pub async fn list_groups(&self) -> Result<ListedGroups> {
        let groups = self.admin().list_groups(&[], &[]).await.js()?;
        let groups = groups
            .into_iter()
            .map(|g| {
                // KIP-848 groups have no embedded protocol type; their members speak `consumer`.
                let protocol_type = if g.protocol_type.is_empty() && g.group_type == "consumer" {
                    "consumer".to_string()
                } else {
                    g.protocol_type
                };
                ListedGroup {
                    group_id: g.group_id,
                    protocol_type,
                }
            })
            .collect();
        Ok(ListedGroups { groups })
    }

    /// KafkaJS's `deleteGroups`, group by group: a list of `{ groupId, errorCode, error }`.
    #[napi]
    pub async fn delete_groups(&self, group_ids: Vec<String>) -> Result<Vec<GroupResult>> {
        let admin = self.admin();
        let calls = group_ids.into_iter().map(|g| {
            let admin = admin.clone();
            async move {
                let result = admin.delete_groups(&[g.as_str()]).await;
                let code = result.as_ref().err().and_then(Error::code).unwrap_or(0);
                match result {
                    Err(e) if e.kafka_error().is_none() => Err(to_js(e)),
                    r => Ok(GroupResult {
                        group_id: g,
                        error_code: code.into(),
                        error: r.err().map(reason),
                    }),
                }
            }
        });
        join_all(calls).await.into_iter().collect()
    }

    /// KafkaJS's `describeCluster`: `{ brokers: [{ nodeId, host, port }], controller, clusterId }`.
    #[napi]
    pub async fn describe_cluster(&self) -> Result<ClusterShape> {
        let c = self.admin().describe_cluster().await.js()?;
        Ok(ClusterShape {
            brokers: c
                .brokers
                .into_iter()
                .map(|b| BrokerShape {
                    node_id: b.node_id,
                    host: b.host,
                    port: b.port,
                })
                .collect(),
            controller: (c.controller_id >= 0).then_some(c.controller_id),
            cluster_id: c.cluster_id,
        })
    }

    /// KafkaJS's `describeConfigs`, a resource at a time (each has its own names).
    #[napi]
    pub async fn describe_configs(
        &self,
        resources: Vec<ConfigQuery>,
        include_synonyms: bool,
    ) -> Result<ConfigsDescribed> {
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
            let entries = described
                .into_iter()
                .flat_map(|d| d.entries)
                .map(|e| {
                    let synonyms = if include_synonyms {
                        e.synonyms
                            .into_iter()
                            .map(|(n, v, s)| ConfigSynonym {
                                config_name: n,
                                config_value: v,
                                config_source: s.code().into(),
                            })
                            .collect()
                    } else {
                        Vec::new()
                    };
                    ConfigDescribed {
                        config_name: e.name,
                        config_value: e.value,
                        read_only: e.read_only,
                        is_default: e.source == ConfigSource::Default,
                        config_source: e.source.code().into(),
                        is_sensitive: e.sensitive,
                        config_synonyms: synonyms,
                    }
                })
                .collect();
            out.push(ResourceConfigs {
                error_code: 0,
                error_message: String::new(),
                resource_type: q.resource_type,
                resource_name: q.name,
                config_entries: entries,
            });
        }
        Ok(ConfigsDescribed { resources: out })
    }

    /// KafkaJS's `alterConfigs`: each resource's configs become the ones given, as with Kafka's
    /// (non-incremental) AlterConfigs that KafkaJS sends: the given entries are set, and the
    /// values set on the resource itself that are not given go back to their defaults.
    #[napi]
    pub async fn alter_configs(
        &self,
        resources: Vec<ConfigChange>,
        validate_only: bool,
    ) -> Result<ConfigsAltered> {
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
            out.push(ResourceAltered {
                error_code: 0,
                error_message: None,
                resource_type: c.resource_type,
                resource_name: c.name,
            });
        }
        Ok(ConfigsAltered { resources: out })
    }

    /// KafkaJS's `createAcls({ acl })`.
    #[napi]
    pub async fn create_acls(&self, acl: Vec<AclSpec>) -> Result<()> {
        let acls: Vec<_> = acl.into_iter().map(acls::binding).collect();
        self.admin().create_acls(&acls).await.js()
    }

    /// KafkaJS's `describeAcls(filter)`.
    #[napi]
    pub async fn describe_acls(&self, filter: AclSpec) -> Result<AclsDescribed> {
        let found = self
            .admin()
            .describe_acls(&acls::filter(filter))
            .await
            .js()?;
        Ok(acls::described(found))
    }

    /// KafkaJS's `deleteAcls({ filters })`: a filter at a time, so that each one's answer
    /// lists what it deleted.
    #[napi]
    pub async fn delete_acls(&self, filters: Vec<AclSpec>) -> Result<AclsDeleted> {
        let admin = self.admin();
        let mut per_filter = Vec::with_capacity(filters.len());
        for f in filters {
            let f = acls::filter(f);
            per_filter.push(admin.delete_acls(std::slice::from_ref(&f)).await.js()?);
        }
        Ok(acls::deleted(per_filter))
    }

    /// KafkaJS's `alterPartitionReassignments({ topics })`, flattened to partitions.
    #[napi]
    pub async fn alter_partition_reassignments(&self, moves: Vec<ReplicaMove>) -> Result<()> {
        self.admin()
            .alter_partition_reassignments(&acls::moves(moves))
            .await
            .js()
    }

    /// KafkaJS's `listPartitionReassignments({ topics })`; no partitions: all.
    #[napi]
    pub async fn list_partition_reassignments(&self, partitions: Vec<Tp>) -> Result<Reassignments> {
        let tps: Vec<TopicPartition> = partitions
            .into_iter()
            .map(|t| TopicPartition::new(t.topic, t.partition))
            .collect();
        let ongoing = self.admin().list_partition_reassignments(&tps).await.js()?;
        Ok(acls::ongoing(ongoing))
    }

    #[napi]
    pub async fn next_events(&self) -> Option<Vec<crate::events::NativeEvent>> {
        self.link.next_events().await
    }

    /// The events already received, without waiting (those of connecting).
    #[napi]
    pub fn take_events(&self) -> Vec<crate::events::NativeEvent> {
        self.link.take_events()
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
