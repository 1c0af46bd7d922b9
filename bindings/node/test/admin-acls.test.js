'use strict'
// ACLs against the acl broker (scripts/kafka: StandardAuthorizer, super user admin, user bob)
// and partition reassignments on the three-node cluster, through KafkaJS's admin API.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const kafkit = require('..')
const { unique, newKafka, waitFor } = require('./helpers')

const { AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = kafkit
const aclBroker = process.env.KAFKIT_ACL_BOOTSTRAP || '127.0.0.1:9192'
const clusterBrokers = (process.env.KAFKIT_CLUSTER_BOOTSTRAP || '127.0.0.1:49091,127.0.0.1:49092,127.0.0.1:49093').split(',')

const as = (username, password) =>
  newKafka({ brokers: [aclBroker], sasl: { mechanism: 'plain', username, password }, retry: { retries: 0 } })

async function withAdmin(kafka, fn) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    return await fn(admin)
  } finally {
    await admin.disconnect()
  }
}

// Whether bob may read the topic's metadata.
async function bobSees(topic) {
  return withAdmin(as('bob', 'bob-secret'), async admin => {
    try {
      await admin.fetchTopicMetadata({ topics: [topic] })
      return true
    } catch (e) {
      assert.equal(e.type, 'TOPIC_AUTHORIZATION_FAILED', `${e.name}: ${e.message}`)
      return false
    }
  })
}

test('createAcls lets bob in, describeAcls lists the ACL, deleteAcls shuts him out again', async () => {
  const topic = unique('acl')
  const acl = {
    resourceType: AclResourceTypes.TOPIC,
    resourceName: topic,
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal: 'User:bob',
    host: '*',
    operation: AclOperationTypes.DESCRIBE,
    permissionType: AclPermissionTypes.ALLOW,
  }
  await withAdmin(as('admin', 'admin-secret'), async admin => {
    await admin.createTopics({ topics: [{ topic }] })
    assert.equal(await bobSees(topic), false, 'bob reads the topic before any ACL')

    assert.equal(await admin.createAcls({ acl: [acl] }), true)
    const described = await admin.describeAcls({
      resourceType: AclResourceTypes.TOPIC,
      resourceName: topic,
      resourcePatternType: ResourcePatternTypes.ANY,
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    })
    assert.deepEqual(described.resources, [
      {
        resourceType: AclResourceTypes.TOPIC,
        resourceName: topic,
        resourcePatternType: ResourcePatternTypes.LITERAL,
        acls: [{ principal: 'User:bob', host: '*', operation: AclOperationTypes.DESCRIBE, permissionType: AclPermissionTypes.ALLOW }],
      },
    ])
    await waitFor(() => bobSees(topic), 'the ACL to take effect', 15000)

    const { filterResponses } = await admin.deleteAcls({
      filters: [{ ...acl, principal: undefined, host: undefined, operation: AclOperationTypes.ANY }],
    })
    assert.equal(filterResponses.length, 1)
    assert.equal(filterResponses[0].errorCode, 0)
    assert.deepEqual(filterResponses[0].matchingAcls.map(m => [m.resourceName, m.principal, m.operation]), [[topic, 'User:bob', AclOperationTypes.DESCRIBE]])
    await waitFor(async () => !(await bobSees(topic)), 'the ACL to be gone', 15000)
    await admin.deleteTopics({ topics: [topic] })
  })
})

test('ACL calls check their input as KafkaJS does; bob may not manage ACLs', async () => {
  await withAdmin(as('admin', 'admin-secret'), async admin => {
    await assert.rejects(admin.createAcls({ acl: [] }), { name: 'KafkaJSNonRetriableError', message: 'Empty ACL array' })
    await assert.rejects(admin.createAcls({ acl: [{ principal: 'User:x', host: '*', resourceName: 't', operation: 99 }] }), {
      name: 'KafkaJSNonRetriableError',
      message: /Invalid operation type 99/,
    })
    await assert.rejects(admin.describeAcls({ resourceType: AclResourceTypes.TOPIC }), { message: /Invalid operation type/ })
    await assert.rejects(admin.deleteAcls({ filters: [{ principal: 7 }] }), { message: /principals have to be a valid string/ })
  })
  await withAdmin(as('bob', 'bob-secret'), async bob => {
    await assert.rejects(
      bob.describeAcls({
        resourceType: AclResourceTypes.ANY,
        resourcePatternType: ResourcePatternTypes.ANY,
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY,
      }),
      err => {
        assert.ok(err instanceof kafkit.KafkaJSProtocolError, `${err.name}: ${err.message}`)
        assert.equal(err.type, 'CLUSTER_AUTHORIZATION_FAILED')
        return true
      }
    )
  })
})

test('alterPartitionReassignments moves a partition to other brokers; listPartitionReassignments shows the move', async () => {
  const kafka = newKafka({ brokers: clusterBrokers })
  await withAdmin(kafka, async admin => {
    const topic = unique('reassign')
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] })
    const [before] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0].partitions
    const target = [1, 2, 3].filter(n => n !== before.leader).slice(0, 2)
    await admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: target }] }] })
    // In flight or done: while moving, the listing names it; once done, the replicas are the new ones.
    const listed = await admin.listPartitionReassignments({ topics: [{ topic, partitions: [0] }] })
    for (const t of listed.topics) {
      assert.equal(t.topic, topic)
      assert.deepEqual(t.partitions.map(p => p.partition), [0])
    }
    await waitFor(
      async () => {
        const [p] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0].partitions
        return [...p.replicas].sort().join() === [...target].sort().join()
      },
      'the partition to move',
      60000
    )
    assert.deepEqual((await admin.listPartitionReassignments({})).topics.filter(t => t.topic === topic), [])
    await assert.rejects(admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: -1, replicas: [1] }] }] }), {
      name: 'KafkaJSNonRetriableError',
      message: /Invalid partitions index: -1/,
    })
    await admin.deleteTopics({ topics: [topic] })
  })
})
