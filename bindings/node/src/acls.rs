//! KafkaJS's ACL and partition-reassignment shapes (numeric enums, as Kafka's protocol codes)
//! to and from the core's typed ones. lib/admin.js has already checked every value against
//! KafkaJS's enums, as KafkaJS does before sending.

use kafkit::admin::{
    AclBinding, AclBindingFilter, AclOperation, AclPermission, PatternType, Reassignment,
    ResourceType,
};
use kafkit::TopicPartition;
use napi_derive::napi;
use serde_json::{json, Value};

/// An ACL of `createAcls({ acl })`, or a filter of `describeAcls`/`deleteAcls` (names,
/// principals and hosts left out match any).
#[napi(object)]
pub struct AclSpec {
    pub resource_type: i32,
    pub resource_name: Option<String>,
    pub resource_pattern_type: i32,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: i32,
    pub permission_type: i32,
}

/// A partition's new replicas of `alterPartitionReassignments`.
#[napi(object)]
pub struct ReplicaMove {
    pub topic: String,
    pub partition: i32,
    pub replicas: Vec<i32>,
}

fn code(v: i32) -> i8 {
    // The JavaScript side allows only KafkaJS's enum values (0..=12).
    i8::try_from(v).unwrap_or(0)
}

pub(crate) fn binding(a: AclSpec) -> AclBinding {
    AclBinding {
        resource_type: ResourceType::from_code(code(a.resource_type)),
        resource_name: a.resource_name.unwrap_or_default(),
        pattern_type: PatternType::from_code(code(a.resource_pattern_type)),
        principal: a.principal.unwrap_or_default(),
        host: a.host.unwrap_or_else(|| "*".into()),
        operation: AclOperation::from_code(code(a.operation)),
        permission: AclPermission::from_code(code(a.permission_type)),
    }
}

pub(crate) fn filter(a: AclSpec) -> AclBindingFilter {
    AclBindingFilter {
        resource_type: ResourceType::from_code(code(a.resource_type)),
        resource_name: a.resource_name,
        pattern_type: PatternType::from_code(code(a.resource_pattern_type)),
        principal: a.principal,
        host: a.host,
        operation: AclOperation::from_code(code(a.operation)),
        permission: AclPermission::from_code(code(a.permission_type)),
    }
}

fn acl_fields(a: &AclBinding) -> Value {
    json!({
        "principal": a.principal,
        "host": a.host,
        "operation": a.operation.code(),
        "permissionType": a.permission.code(),
    })
}

/// `describeAcls`'s answer: the ACLs grouped by resource.
pub(crate) fn described(acls: Vec<AclBinding>) -> Value {
    let mut resources: Vec<(ResourceType, String, PatternType, Vec<Value>)> = Vec::new();
    for a in &acls {
        let key = (a.resource_type, &a.resource_name, a.pattern_type);
        match resources.iter_mut().find(|r| (r.0, &r.1, r.2) == key) {
            Some(r) => r.3.push(acl_fields(a)),
            None => resources.push((
                a.resource_type,
                a.resource_name.clone(),
                a.pattern_type,
                vec![acl_fields(a)],
            )),
        }
    }
    let resources: Vec<Value> = resources
        .into_iter()
        .map(|(t, name, p, acls)| {
            json!({
                "resourceType": t.code(),
                "resourceName": name,
                "resourcePatternType": p.code(),
                "acls": acls,
            })
        })
        .collect();
    json!({ "throttleTime": 0, "errorCode": 0, "resources": resources })
}

/// `deleteAcls`'s answer: per filter, the ACLs it deleted.
pub(crate) fn deleted(per_filter: Vec<Vec<AclBinding>>) -> Value {
    let responses: Vec<Value> = per_filter
        .into_iter()
        .map(|acls| {
            let matching: Vec<Value> = acls
                .iter()
                .map(|a| {
                    json!({
                        "errorCode": 0,
                        "errorMessage": null,
                        "resourceType": a.resource_type.code(),
                        "resourceName": a.resource_name,
                        "resourcePatternType": a.pattern_type.code(),
                        "principal": a.principal,
                        "host": a.host,
                        "operation": a.operation.code(),
                        "permissionType": a.permission.code(),
                    })
                })
                .collect();
            json!({ "errorCode": 0, "errorMessage": null, "matchingAcls": matching })
        })
        .collect();
    json!({ "throttleTime": 0, "filterResponses": responses })
}

pub(crate) fn moves(list: Vec<ReplicaMove>) -> Vec<(TopicPartition, Option<Vec<i32>>)> {
    list.into_iter()
        .map(|m| (TopicPartition::new(m.topic, m.partition), Some(m.replicas)))
        .collect()
}

/// `listPartitionReassignments`'s answer, by topic. KafkaJS's runtime names a topic `name`
/// and a partition `partition`, its types `topic` and `partitionIndex`: both are given.
pub(crate) fn ongoing(list: Vec<Reassignment>) -> Value {
    let mut topics: Vec<(String, Vec<Value>)> = Vec::new();
    for r in list {
        let p = json!({
            "partition": r.partition.partition,
            "partitionIndex": r.partition.partition,
            "replicas": r.replicas,
            "addingReplicas": r.adding,
            "removingReplicas": r.removing,
        });
        match topics.iter_mut().find(|t| t.0 == r.partition.topic) {
            Some(t) => t.1.push(p),
            None => topics.push((r.partition.topic.clone(), vec![p])),
        }
    }
    let topics: Vec<Value> = topics
        .into_iter()
        .map(|(name, partitions)| json!({ "topic": name, "name": name, "partitions": partitions }))
        .collect();
    json!({ "topics": topics })
}
