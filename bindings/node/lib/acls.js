'use strict'
// KafkaJS's ACL enums (Kafka's protocol codes) and the checks KafkaJS makes before an ACL or
// reassignment call, with its messages.

const { KafkaJSNonRetriableError } = require('./errors')

const AclResourceTypes = { UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6 }
const AclOperationTypes = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
}
const AclPermissionTypes = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 }
const ResourcePatternTypes = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 }

const fail = message => {
  throw new KafkaJSNonRetriableError(message)
}
const optionalString = v => v === undefined || typeof v === 'string'

const enums = [
  ['operation', AclOperationTypes, 'operation type'],
  ['resourcePatternType', ResourcePatternTypes, 'resource pattern type'],
  ['permissionType', AclPermissionTypes, 'permission type'],
  ['resourceType', AclResourceTypes, 'resource type'],
]

// The ACLs of createAcls (`filter` false: every string given) or the filters of deleteAcls.
function checkAclList(list, { filter }) {
  const what = filter ? 'ACL Filter' : 'ACL'
  if (!Array.isArray(list)) fail(`Invalid ${what} array ${list}`)
  if (list.length === 0) fail(`Empty ${what} array`)
  const ok = filter ? optionalString : v => typeof v === 'string'
  for (const [field, label] of [['principal', 'principals'], ['host', 'hosts'], ['resourceName', 'resourceNames']]) {
    if (list.some(a => !a || !ok(a[field]))) fail(`Invalid ${what} array, the ${label} have to be a valid string`)
  }
  for (const [field, values, label] of enums) {
    const bad = list.find(a => !Object.values(values).includes(a[field]))
    if (bad) fail(`Invalid ${label} ${bad[field]}: ${JSON.stringify(bad)}`)
  }
  return list.map(native)
}

// The filter of describeAcls.
function checkAclFilter(f = {}) {
  if (!optionalString(f.principal)) fail('Invalid principal, the principal have to be a valid string')
  if (!optionalString(f.host)) fail('Invalid host, the host have to be a valid string')
  if (!optionalString(f.resourceName)) fail('Invalid resourceName, the resourceName have to be a valid string')
  if (!Object.values(AclOperationTypes).includes(f.operation)) fail(`Invalid operation type ${f.operation}`)
  if (!Object.values(ResourcePatternTypes).includes(f.resourcePatternType)) {
    fail(`Invalid resource pattern filter type ${f.resourcePatternType}`)
  }
  if (!Object.values(AclPermissionTypes).includes(f.permissionType)) fail(`Invalid permission type ${f.permissionType}`)
  if (!Object.values(AclResourceTypes).includes(f.resourceType)) fail(`Invalid resource type ${f.resourceType}`)
  return native(f)
}

function native(a) {
  return {
    resourceType: a.resourceType,
    resourceName: a.resourceName,
    resourcePatternType: a.resourcePatternType,
    principal: a.principal,
    host: a.host,
    operation: a.operation,
    permissionType: a.permissionType,
  }
}

function checkTopicNames(topics) {
  if (topics.some(t => !t || typeof t.topic !== 'string')) {
    fail('Invalid topics array, the topic names have to be a valid string')
  }
  if (new Set(topics.map(t => t.topic)).size < topics.length) {
    fail('Invalid topics array, it cannot have multiple entries for the same topic')
  }
}

const isIndex = v => typeof v === 'number' && Number.isInteger(v) && v >= 0

// alterPartitionReassignments's topics, flattened to { topic, partition, replicas }.
function checkReassignments(topics) {
  if (!Array.isArray(topics)) fail(`Invalid topics array ${topics}`)
  checkTopicNames(topics)
  const moves = []
  for (const { topic, partitionAssignment } of topics) {
    if (!Array.isArray(partitionAssignment)) fail(`Invalid partitions array: ${partitionAssignment} for topic: ${topic}`)
    for (const { partition, replicas } of partitionAssignment) {
      if (!isIndex(partition)) fail(`Invalid partitions index: ${partition} for topic: ${topic}`)
      if (!Array.isArray(replicas)) {
        fail(`Invalid replica assignment: ${replicas} for topic: ${topic} on partition: ${partition}`)
      }
      if (replicas.some(r => !isIndex(r))) {
        fail(
          `Invalid replica assignment: ${replicas} for topic: ${topic} on partition: ${partition}. Replicas must be a non negative number`
        )
      }
      moves.push({ topic, partition, replicas })
    }
  }
  return moves
}

// listPartitionReassignments's topics (null: all), flattened to { topic, partition }.
function checkReassignmentQuery(topics) {
  if (topics === null || topics === undefined) return []
  if (!Array.isArray(topics)) fail(`Invalid topics array ${topics}`)
  checkTopicNames(topics)
  const out = []
  for (const { topic, partitions } of topics) {
    if (!Array.isArray(partitions)) fail(`Invalid partition array: ${partitions} for topic: ${topic}`)
    if (partitions.some(p => !isIndex(p))) {
      fail(
        `Invalid partition array: ${partitions} for topic: ${topic}. The partition indices have to be a valid number greater than 0.`
      )
    }
    for (const partition of partitions) out.push({ topic, partition })
  }
  return out
}

module.exports = {
  AclResourceTypes,
  AclOperationTypes,
  AclPermissionTypes,
  ResourcePatternTypes,
  checkAclList,
  checkAclFilter,
  checkReassignments,
  checkReassignmentQuery,
}
