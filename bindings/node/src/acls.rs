//! KafkaJS's ACL and partition-reassignment shapes (numeric enums, as Kafka's protocol codes)
//! to and from the core's typed ones. lib/admin.js has already checked every value against
//! KafkaJS's enums, as KafkaJS does before sending.

use kafkit::admin::{
    AclBinding, AclBindingFilter, AclOperation, AclPermission, PatternType, Reassignment,
    ResourceType,
};
use kafkit::TopicPartition;
use napi_derive::napi;

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

/// An ACL of a resource in `describeAcls`'s answer.
#[napi(object, object_from_js = false)]
pub struct AclEntry {
    pub principal: String,
    pub host: String,
    pub operation: i32,
    pub permission_type: i32,
}

/// A resource and its ACLs in `describeAcls`'s answer.
#[napi(object, object_from_js = false)]
pub struct AclResource {
    pub resource_type: i32,
    pub resource_name: String,
    pub resource_pattern_type: i32,
    pub acls: Vec<AclEntry>,
}

/// `describeAcls`'s answer.
#[napi(object, object_from_js = false)]
pub struct AclsDescribed {
    pub throttle_time: i32,
    pub error_code: i32,
    pub resources: Vec<AclResource>,
}

/// An ACL a filter of `deleteAcls` deleted (`errorMessage` always null).
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct DeletedAcl {
    pub error_code: i32,
    pub error_message: Option<String>,
    pub resource_type: i32,
    pub resource_name: String,
    pub resource_pattern_type: i32,
    pub principal: String,
    pub host: String,
    pub operation: i32,
    pub permission_type: i32,
}

/// A filter's answer in `deleteAcls` (`errorMessage` always null).
#[napi(object, use_nullable = true, object_from_js = false)]
pub struct FilterResponse {
    pub error_code: i32,
    pub error_message: Option<String>,
    pub matching_acls: Vec<DeletedAcl>,
}

/// `deleteAcls`'s answer.
#[napi(object, object_from_js = false)]
pub struct AclsDeleted {
    pub throttle_time: i32,
    pub filter_responses: Vec<FilterResponse>,
}

/// A partition being reassigned. KafkaJS's runtime names it `partition`, its types
/// `partitionIndex`: both are given.
#[napi(object, object_from_js = false)]
pub struct PartitionReassignment {
    pub partition: i32,
    pub partition_index: i32,
    pub replicas: Vec<i32>,
    pub adding_replicas: Vec<i32>,
    pub removing_replicas: Vec<i32>,
}

/// A topic's partitions being reassigned. KafkaJS's runtime names the topic `name`, its
/// types `topic`: both are given.
#[napi(object, object_from_js = false)]
pub struct TopicReassignments {
    pub topic: String,
    pub name: String,
    pub partitions: Vec<PartitionReassignment>,
}

/// `listPartitionReassignments`'s answer.
#[napi(object, object_from_js = false)]
pub struct Reassignments {
    pub topics: Vec<TopicReassignments>,
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

fn acl_entry(a: &AclBinding) -> AclEntry {
    AclEntry {
        principal: a.principal.clone(),
        host: a.host.clone(),
        operation: a.operation.code().into(),
        permission_type: a.permission.code().into(),
    }
}

/// `describeAcls`'s answer: the ACLs grouped by resource.
pub(crate) fn described(acls: Vec<AclBinding>) -> AclsDescribed {
    let mut resources: Vec<AclResource> = Vec::new();
    for a in &acls {
        let found = resources.iter_mut().find(|r| {
            r.resource_type == i32::from(a.resource_type.code())
                && r.resource_name == a.resource_name
                && r.resource_pattern_type == i32::from(a.pattern_type.code())
        });
        match found {
            Some(r) => r.acls.push(acl_entry(a)),
            None => resources.push(AclResource {
                resource_type: a.resource_type.code().into(),
                resource_name: a.resource_name.clone(),
                resource_pattern_type: a.pattern_type.code().into(),
                acls: vec![acl_entry(a)],
            }),
        }
    }
    AclsDescribed {
        throttle_time: 0,
        error_code: 0,
        resources,
    }
}

/// `deleteAcls`'s answer: per filter, the ACLs it deleted.
pub(crate) fn deleted(per_filter: Vec<Vec<AclBinding>>) -> AclsDeleted {
    let filter_responses = per_filter
        .into_iter()
        .map(|acls| FilterResponse {
            error_code: 0,
            error_message: None,
            matching_acls: acls
                .into_iter()
                .map(|a| DeletedAcl {
                    error_code: 0,
                    error_message: None,
                    resource_type: a.resource_type.code().into(),
                    resource_name: a.resource_name,
                    resource_pattern_type: a.pattern_type.code().into(),
                    principal: a.principal,
                    host: a.host,
                    operation: a.operation.code().into(),
                    permission_type: a.permission.code().into(),
                })
                .collect(),
        })
        .collect();
    AclsDeleted {
        throttle_time: 0,
        filter_responses,
    }
}

pub(crate) fn moves(list: Vec<ReplicaMove>) -> Vec<(TopicPartition, Option<Vec<i32>>)> {
    list.into_iter()
        .map(|m| (TopicPartition::new(m.topic, m.partition), Some(m.replicas)))
        .collect()
}

/// `listPartitionReassignments`'s answer, by topic.
pub(crate) fn ongoing(list: Vec<Reassignment>) -> Reassignments {
    let mut topics: Vec<TopicReassignments> = Vec::new();
    for r in list {
        let p = PartitionReassignment {
            partition: r.partition.partition,
            partition_index: r.partition.partition,
            replicas: r.replicas,
            adding_replicas: r.adding,
            removing_replicas: r.removing,
        };
        match topics.iter_mut().find(|t| t.topic == r.partition.topic) {
            Some(t) => t.partitions.push(p),
            None => topics.push(TopicReassignments {
                topic: r.partition.topic.clone(),
                name: r.partition.topic,
                partitions: vec![p],
            }),
        }
    }
    Reassignments { topics }
}
