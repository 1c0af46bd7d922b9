'use strict'
// KafkaJS 2.2.4's admin behaviour, case by case, through this package: arguments are checked
// before the connection state (a disconnected admin still names the bad argument), protocol
// errors carry KafkaJS's class and message, and failures of several resources come as a
// KafkaJSAggregateError. Against the real broker where an answer is needed.

const { test, after } = require('node:test')
const assert = require('node:assert/strict')
const {
  KafkaJSAggregateError,
  KafkaJSCreateTopicError,
  KafkaJSProtocolError,
  AclResourceTypes,
} = require('..')
const { unique, newKafka, createTopic, produce, waitFor } = require('./helpers')
const { committed, closeOracle } = require('./support/oracle')

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

after(closeOracle)

test('resetOffsets commits the -2 (earliest) and -1 (latest) sentinels as KafkaJS; a consumer then starts by its fromBeginning', async () => {
  const kafka = newKafka()
  const topic = unique('reset')
  await createTopic(kafka, topic, 2)
  await produce(kafka, topic, 3, { partition: 0 })
  const groupId = unique('g')
  const admin = kafka.admin()
  await admin.connect()
  try {
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '2' }, { partition: 1, offset: '0' }] })
    await admin.resetOffsets({ groupId, topic, earliest: true })
    // Read back by genuine KafkaJS: the sentinels, as its own resetOffsets leaves them.
    assert.deepEqual(await committed(groupId, topic), { 0: '-2', 1: '-2' })
    // A negative committed offset is none: a consumer with fromBeginning reads from the start.
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 300 })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const seen = []
    await consumer.run({ eachMessage: async ({ message }) => { seen.push(message.offset) } })
    await waitFor(() => seen.length >= 3, 'partition 0 from its first record')
    assert.deepEqual(seen, ['0', '1', '2'])
    await consumer.disconnect()
    await admin.resetOffsets({ groupId, topic })
    assert.deepEqual(await committed(groupId, topic), { 0: '-1', 1: '-1' })
    // setOffsets takes them too, as KafkaJS's (a seek of its own consumer).
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '-2' }, { partition: 1, offset: '1' }] })
    assert.deepEqual(await committed(groupId, topic), { 0: '-2', 1: '1' })
  } finally {
    await admin.disconnect()
  }
  // kafkitStrictOffsets: the offsets are looked up and committed instead.
  const strict = newKafka({ kafkitStrictOffsets: true }).admin()
  await strict.connect()
  try {
    await strict.resetOffsets({ groupId, topic })
    assert.deepEqual(await committed(groupId, topic), { 0: '3', 1: '0' })
  } finally {
    await strict.disconnect()
  }
})
