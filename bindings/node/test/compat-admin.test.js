'use strict'
// KafkaJS 2.2.4's admin behaviour, case by case, through this package: arguments are checked
// before the connection state (a disconnected admin still names the bad argument), protocol
// errors carry KafkaJS's class and message, and failures of several resources come as a
// KafkaJSAggregateError. Against the real broker where an answer is needed.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const {
  KafkaJSAggregateError,
  KafkaJSCreateTopicError,
  KafkaJSProtocolError,
  AclResourceTypes,
} = require('..')
const { unique, newKafka } = require('./helpers')

test('argument validation before connection checks: a never-connected admin names the bad argument', async () => {
  const admin = newKafka().admin()
  const cases = [
    [() => admin.createTopics({ topics: null }), /^Invalid topics array null/],
    [() => admin.createTopics({ topics: [{ topic: 1 }] }), /topic names have to be a valid string/],
    [() => admin.createPartitions({ topicPartitions: null }), /^Invalid topic partitions array null/],
    [() => admin.deleteTopics({ topics: 'x' }), /^Invalid topics array x/],
    [() => admin.fetchTopicOffsets(null), /^Invalid topic null/],
    [() => admin.fetchOffsets({ groupId: null }), /^Invalid groupId null/],
    [() => admin.setOffsets({ groupId: 'g', topic: 't' }), /^Invalid partitions/],
    [() => admin.resetOffsets({ groupId: 'g' }), /^Invalid topic undefined/],
    [() => admin.deleteTopicRecords({ topic: 't', partitions: [] }), /^Invalid partitions/],
    [() => admin.describeGroups('g'), /^Invalid groupIds array g/],
    [() => admin.deleteGroups(null), /^Invalid groupIds array null/],
    [() => admin.describeConfigs({ resources: [] }), /Resources array cannot be empty/],
    [() => admin.createAcls({ acl: null }), /Invalid ACL array/],
    [() => admin.describeAcls({ resourceType: AclResourceTypes.TOPIC }), /Invalid operation type/],
    [() => admin.deleteAcls({ filters: null }), /Invalid ACL Filter array/],
    [() => admin.alterPartitionReassignments({ topics: null }), /Invalid topics array/],
  ]
  for (const [fn, message] of cases) {
    await assert.rejects(fn(), { name: 'KafkaJSNonRetriableError', message }, String(fn))
  }
  // With valid arguments, the state.
  await assert.rejects(admin.listTopics(), { message: /not connected/ })
})

test("KafkaJS's error classes and messages: a protocol error carries KafkaJS's message, kafkit's text as detail", async () => {
  const admin = newKafka().admin()
  await admin.connect()
  const topic = unique('compat-adm')
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] })
    const e = await admin.createPartitions({ topicPartitions: [{ topic, count: 1 }] }).then(() => assert.fail('should fail'), x => x)
    assert.ok(e instanceof KafkaJSProtocolError, e)
    assert.equal(e.type, 'INVALID_PARTITIONS')
    assert.equal(e.message, 'Number of partitions is invalid')
    assert.match(e.detail, /INVALID_PARTITIONS/)
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {})
    await admin.disconnect()
  }
})

test('aggregate errors: createTopics failures come as a KafkaJSAggregateError of KafkaJSCreateTopicError with KafkaJS messages', async () => {
  const admin = newKafka().admin()
  await admin.connect()
  const a = unique('compat-agg')
  const b = unique('compat-agg')
  try {
    const e = await admin
      .createTopics({ topics: [{ topic: a, numPartitions: 0 }, { topic: b, replicationFactor: 99 }] })
      .then(() => assert.fail('should fail'), x => x)
    assert.ok(e instanceof KafkaJSAggregateError, e)
    assert.equal(e.message, 'Topic creation errors')
    const byTopic = Object.fromEntries(e.errors.map(x => [x.topic, x]))
    assert.ok(byTopic[a] instanceof KafkaJSCreateTopicError)
    assert.equal(byTopic[a].message, 'Number of partitions is invalid')
    assert.equal(byTopic[b].type, 'INVALID_REPLICATION_FACTOR')
    assert.equal(byTopic[b].message, 'Replication-factor is invalid')
  } finally {
    await admin.disconnect()
  }
})

test('connect/disconnect: overlapping calls are safe and idempotent', async () => {
  const admin = newKafka().admin()
  const seen = []
  admin.on(admin.events.CONNECT, () => seen.push('connect'))
  admin.on(admin.events.DISCONNECT, () => seen.push('disconnect'))
  await Promise.all([admin.connect(), admin.connect()])
  await Promise.all([admin.disconnect(), admin.disconnect()])
  await admin.disconnect()
  await new Promise(r => setImmediate(r))
  assert.deepEqual(seen, ['connect', 'disconnect'])
})
