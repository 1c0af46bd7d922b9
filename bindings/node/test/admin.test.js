'use strict'
// The admin client against the real broker: every call's answer in KafkaJS's shape, and its
// failures as KafkaJS's error classes.

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const {
  KafkaJSProtocolError,
  KafkaJSNonRetriableError,
  KafkaJSAggregateError,
  KafkaJSCreateTopicError,
  KafkaJSDeleteGroupsError,
  KafkaJSDeleteTopicRecordsError,
  KafkaJSOffsetOutOfRange,
  ConfigResourceTypes,
} = require('..')
const { broker, unique, newKafka, produce, waitFor } = require('./helpers')

const kafka = newKafka()
let admin

before(async () => {
  admin = kafka.admin()
  await admin.connect()
})

after(async () => {
  await admin.disconnect()
})

async function newTopic(prefix, numPartitions = 1) {
  const topic = unique(prefix)
  assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions }] }), true)
  return topic
}

// A live member of `groupId` on `topic` (KIP-848), started and in the group.
async function liveMember(groupId, topic) {
  const consumer = kafka.consumer({ groupId, groupProtocol: 'consumer' })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({ eachMessage: async () => {} })
  await waitFor(async () => {
    const { groups } = await admin.describeGroups([groupId])
    return groups[0].members.length > 0
  }, `a member in ${groupId}`)
  return consumer
}

test('createTopics: true when created, false when the topic exists; listTopics and fetchTopicMetadata show it', async () => {
  const topic = unique('adm-create')
  assert.equal(
    await admin.createTopics({
      topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
    }),
    true
  )
  assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] }), false)
  assert.ok((await admin.listTopics()).includes(topic))
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] })
  assert.equal(topics.length, 1)
  assert.equal(topics[0].name, topic)
  assert.deepEqual(topics[0].partitions.map(p => p.partitionId).sort(), [0, 1, 2])
  for (const p of topics[0].partitions) {
    assert.equal(p.partitionErrorCode, 0)
    assert.ok(p.leader >= 0)
    assert.ok(p.replicas.includes(p.leader))
    assert.ok(p.isr.includes(p.leader))
  }
  const { resources } = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['cleanup.policy'] }],
  })
  assert.equal(resources[0].configEntries[0].configValue, 'compact')
})

test('createTopics with 0 partitions fails as in KafkaJS: an aggregate of KafkaJSCreateTopicError INVALID_PARTITIONS', async () => {
  const topic = unique('adm-zero')
  const e = await admin.createTopics({ topics: [{ topic, numPartitions: 0 }] }).then(
    () => assert.fail('createTopics should fail'),
    e => e
  )
  assert.ok(e instanceof KafkaJSAggregateError, e)
  assert.equal(e.name, 'KafkaJSAggregateError')
  assert.equal(e.errors.length, 1)
  const [err] = e.errors
  assert.ok(err instanceof KafkaJSCreateTopicError)
  assert.ok(err instanceof KafkaJSProtocolError)
  assert.equal(err.type, 'INVALID_PARTITIONS')
  assert.equal(err.code, 37)
  assert.equal(err.topic, topic)
  assert.equal(err.retriable, false)
  assert.ok(!(await admin.listTopics()).includes(topic))
})

test('createTopics: one bad topic among good ones fails with that topic only; the good ones are created', async () => {
  const good = unique('adm-good')
  const bad = unique('adm-bad')
  const e = await admin
    .createTopics({ topics: [{ topic: good, numPartitions: 1 }, { topic: bad, numPartitions: 1, replicationFactor: 5 }] })
    .then(() => assert.fail('createTopics should fail'), e => e)
  assert.ok(e instanceof KafkaJSAggregateError)
  assert.deepEqual(e.errors.map(x => [x.topic, x.type]), [[bad, 'INVALID_REPLICATION_FACTOR']])
  const topics = await admin.listTopics()
  assert.ok(topics.includes(good))
  assert.ok(!topics.includes(bad))
})

test('createTopics with validateOnly checks the topics and creates nothing', async () => {
  const topic = unique('adm-validate')
  assert.equal(await admin.createTopics({ validateOnly: true, topics: [{ topic, numPartitions: 2 }] }), true)
  assert.ok(!(await admin.listTopics()).includes(topic))
  const e = await admin
    .createTopics({ validateOnly: true, topics: [{ topic, numPartitions: 1, replicationFactor: 5 }] })
    .then(() => assert.fail('createTopics should fail'), e => e)
  assert.ok(e instanceof KafkaJSAggregateError)
  assert.equal(e.errors[0].type, 'INVALID_REPLICATION_FACTOR')
  const existing = await newTopic('adm-validate-existing')
  assert.equal(await admin.createTopics({ validateOnly: true, topics: [{ topic: existing }] }), false)
})

test('createTopics validates its arguments with KafkaJS messages', async () => {
  await assert.rejects(admin.createTopics({ topics: 'x' }), { name: 'KafkaJSNonRetriableError', message: 'Invalid topics array x' })
  await assert.rejects(admin.createTopics({ topics: [{ topic: 'a' }, { topic: 'a' }] }), {
    name: 'KafkaJSNonRetriableError',
    message: 'Invalid topics array, it cannot have multiple entries for the same topic',
  })
  await assert.rejects(admin.createTopics({ topics: [{ topic: 'a', configEntries: [{ name: 'x' }] }] }), {
    message: 'Invalid configEntries for topic "a". Entry 0 must have a valid "value" property',
  })
})

test('createPartitions raises the partition count; lowering it is INVALID_PARTITIONS', async () => {
  const topic = await newTopic('adm-parts', 1)
  await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] })
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] })
  assert.equal(topics[0].partitions.length, 3)
  const e = await admin.createPartitions({ topicPartitions: [{ topic, count: 2 }] }).then(
    () => assert.fail('createPartitions should fail'),
    e => e
  )
  assert.ok(e instanceof KafkaJSProtocolError)
  assert.equal(e.type, 'INVALID_PARTITIONS')
  await assert.rejects(admin.createPartitions({ topicPartitions: [] }), { message: 'Empty topic partitions array' })

  // validateOnly changes nothing; assignments place the new partitions' replicas.
  await admin.createPartitions({ validateOnly: true, topicPartitions: [{ topic, count: 5 }] })
  assert.equal((await admin.fetchTopicMetadata({ topics: [topic] })).topics[0].partitions.length, 3)
  const { brokers } = await admin.describeCluster()
  const node = brokers[0].nodeId
  await admin.createPartitions({ topicPartitions: [{ topic, count: 4, assignments: [[node]] }] })
  await waitFor(async () => (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0].partitions.length === 4, '4 partitions')
  const p3 = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0].partitions.find(p => p.partitionId === 3)
  assert.deepEqual(p3.replicas, [node])
  const bad = await admin
    .createPartitions({ topicPartitions: [{ topic, count: 5, assignments: [[node + 1000]] }] })
    .then(() => assert.fail('createPartitions should fail'), e => e)
  assert.ok(bad instanceof KafkaJSProtocolError)
  assert.equal(bad.type, 'INVALID_REPLICA_ASSIGNMENT')
})

test('deleteTopics removes the topic; an unknown topic is UNKNOWN_TOPIC_OR_PARTITION', async () => {
  const topic = await newTopic('adm-del')
  await admin.deleteTopics({ topics: [topic] })
  await waitFor(async () => !(await admin.listTopics()).includes(topic), `${topic} gone`)
  const e = await admin.deleteTopics({ topics: [unique('adm-nope')] }).then(
    () => assert.fail('deleteTopics should fail'),
    e => e
  )
  assert.ok(e instanceof KafkaJSProtocolError)
  assert.equal(e.type, 'UNKNOWN_TOPIC_OR_PARTITION')
})

test('fetchTopicOffsets after producing N records shows high=N (strings), low=0', async () => {
  const topic = await newTopic('adm-offs', 2)
  await produce(kafka, topic, 10, { partition: 0 })
  const offsets = await admin.fetchTopicOffsets(topic)
  assert.deepEqual(offsets, [
    { partition: 0, offset: '10', high: '10', low: '0' },
    { partition: 1, offset: '0', high: '0', low: '0' },
  ])
  const e = await admin.fetchTopicOffsets(unique('adm-nope')).then(() => assert.fail('should fail'), e => e)
  assert.ok(e instanceof KafkaJSProtocolError)
  assert.equal(e.type, 'UNKNOWN_TOPIC_OR_PARTITION')
  await assert.rejects(admin.fetchTopicOffsets(), { name: 'KafkaJSNonRetriableError', message: 'Invalid topic undefined' })
})

test('fetchTopicOffsetsByTimestamp: the first offset at or after the timestamp, the end after every record', async () => {
  const topic = await newTopic('adm-ts', 1)
  const t0 = Date.now() - 1000
  await produce(kafka, topic, 5, { partition: 0 })
  assert.deepEqual(await admin.fetchTopicOffsetsByTimestamp(topic, t0), [{ partition: 0, offset: '0' }])
  assert.deepEqual(await admin.fetchTopicOffsetsByTimestamp(topic, Date.now() + 60000), [{ partition: 0, offset: '5' }])
  assert.deepEqual(await admin.fetchTopicOffsetsByTimestamp(topic), [{ partition: 0, offset: '5' }])
})

test('deleteTopicRecords moves the low watermark; past the end it is KafkaJSDeleteTopicRecordsError per partition', async () => {
  const topic = await newTopic('adm-records', 2)
  await produce(kafka, topic, 10, { partition: 0 })
  await produce(kafka, topic, 3, { partition: 1 })
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '4' }, { partition: 1, offset: '-1' }] })
  assert.deepEqual(await admin.fetchTopicOffsets(topic), [
    { partition: 0, offset: '10', high: '10', low: '4' },
    { partition: 1, offset: '3', high: '3', low: '3' },
  ])
  const e = await admin
    .deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '6' }, { partition: 1, offset: '50' }] })
    .then(() => assert.fail('deleteTopicRecords should fail'), e => e)
  assert.ok(e instanceof KafkaJSDeleteTopicRecordsError)
  assert.equal(e.partitions.length, 1)
  assert.equal(e.partitions[0].partition, 1)
  assert.equal(e.partitions[0].offset, '50')
  assert.ok(e.partitions[0].error instanceof KafkaJSOffsetOutOfRange)
  assert.equal(e.partitions[0].error.type, 'OFFSET_OUT_OF_RANGE')
  // The partition that could be done was.
  assert.equal((await admin.fetchTopicOffsets(topic))[0].low, '6')
  await assert.rejects(admin.deleteTopicRecords({ topic, partitions: [] }), { message: 'Invalid partitions' })
})

test('setOffsets then fetchOffsets returns them; resetOffsets moves them to the earliest and the latest', async () => {
  const topic = await newTopic('adm-setoffs', 3)
  await produce(kafka, topic, 20, { partition: 0 })
  await produce(kafka, topic, 7, { partition: 1 })
  const groupId = unique('adm-g')
  // Nothing committed yet: every partition at -1.
  assert.deepEqual(await admin.fetchOffsets({ groupId, topics: [topic] }), [
    {
      topic,
      partitions: [0, 1, 2].map(partition => ({ partition, offset: '-1', metadata: null })),
    },
  ])
  assert.deepEqual(await admin.fetchOffsets({ groupId }), [])

  await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '12' }, { partition: 1, offset: '3' }] })
  assert.deepEqual(await admin.fetchOffsets({ groupId, topics: [topic] }), [
    {
      topic,
      partitions: [
        { partition: 0, offset: '12', metadata: null },
        { partition: 1, offset: '3', metadata: null },
        { partition: 2, offset: '-1', metadata: null },
      ],
    },
  ])
  // Without topics: what the group committed.
  assert.deepEqual(await admin.fetchOffsets({ groupId }), [
    {
      topic,
      partitions: [
        { partition: 0, offset: '12', metadata: null },
        { partition: 1, offset: '3', metadata: null },
      ],
    },
  ])

  // kafkitStrictOffsets: resetOffsets and setOffsets look -2/-1 up and commit offsets (by
  // default they commit KafkaJS's sentinels: compat-admin.test.js).
  const strict = newKafka({ kafkitStrictOffsets: true }).admin()
  await strict.connect()
  try {
    await strict.resetOffsets({ groupId, topic })
    assert.deepEqual(
      (await strict.fetchOffsets({ groupId, topics: [topic] }))[0].partitions.map(p => p.offset),
      ['20', '7', '0']
    )
    await strict.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '5' }] })
    await strict.resetOffsets({ groupId, topic, earliest: true })
    assert.deepEqual(
      (await strict.fetchOffsets({ groupId, topics: [topic] }))[0].partitions.map(p => p.offset),
      ['5', '0', '0']
    )
    // -1 and -2 stand for the latest and the earliest offset, as in KafkaJS's seek.
    await strict.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '-1' }, { partition: 1, offset: -2 }] })
    assert.deepEqual(
      (await strict.fetchOffsets({ groupId, topics: [topic] }))[0].partitions.map(p => p.offset),
      ['20', '0', '0']
    )
  } finally {
    await strict.disconnect()
  }
})

test('fetchOffsets with resolveOffsets commits the high watermark where the group has no offset', async () => {
  const topic = await newTopic('adm-resolve', 2)
  await produce(kafka, topic, 4, { partition: 1 })
  const groupId = unique('adm-g')
  await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '0' }] })
  const expected = [
    {
      topic,
      partitions: [
        { partition: 0, offset: '0', metadata: null },
        { partition: 1, offset: '4', metadata: null },
      ],
    },
  ]
  assert.deepEqual(await admin.fetchOffsets({ groupId, topics: [topic], resolveOffsets: true }), expected)
  assert.deepEqual(await admin.fetchOffsets({ groupId, topics: [topic] }), expected)
})

test('a group with a live member: setOffsets refuses, deleteGroups fails with KafkaJSDeleteGroupsError, describeGroups shows it', async () => {
  const topic = await newTopic('adm-live', 1)
  const groupId = unique('adm-live-g')
  const consumer = await liveMember(groupId, topic)
  try {
    const { groups } = await admin.describeGroups([groupId])
    assert.equal(groups[0].groupId, groupId)
    assert.equal(groups[0].members.length, 1)
    assert.ok(Buffer.isBuffer(groups[0].members[0].memberAssignment))

    await assert.rejects(admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '0' }] }), e => {
      assert.ok(e instanceof KafkaJSNonRetriableError)
      assert.match(e.message, /^The consumer group must have no running instances, current state: /)
      return true
    })
    await assert.rejects(admin.resetOffsets({ groupId, topic }), /must have no running instances/)

    const e = await admin.deleteGroups([groupId]).then(() => assert.fail('deleteGroups should fail'), e => e)
    assert.ok(e instanceof KafkaJSDeleteGroupsError)
    assert.equal(e.name, 'KafkaJSDeleteGroupsError')
    assert.equal(e.message, 'Error in DeleteGroups')
    assert.equal(e.groups.length, 1)
    assert.equal(e.groups[0].groupId, groupId)
    assert.equal(e.groups[0].errorCode, 68)
    assert.ok(e.groups[0].error instanceof KafkaJSProtocolError)
    assert.equal(e.groups[0].error.type, 'NON_EMPTY_GROUP')
  } finally {
    await consumer.disconnect()
  }
})

test('listGroups lists a group; deleteGroups deletes an empty one and names an unknown one', async () => {
  const topic = await newTopic('adm-groups', 1)
  const groupId = unique('adm-list-g')
  await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '0' }] })
  const { groups } = await admin.listGroups()
  const mine = groups.find(g => g.groupId === groupId)
  assert.deepEqual(mine, { groupId, protocolType: mine.protocolType })
  assert.equal(typeof mine.protocolType, 'string')

  assert.deepEqual(await admin.deleteGroups([groupId]), [{ groupId, errorCode: 0 }])
  assert.ok(!(await admin.listGroups()).groups.some(g => g.groupId === groupId))
  assert.deepEqual(await admin.fetchOffsets({ groupId }), [])

  const unknown = unique('adm-unknown-g')
  const e = await admin.deleteGroups([unknown]).then(() => assert.fail('deleteGroups should fail'), e => e)
  assert.ok(e instanceof KafkaJSDeleteGroupsError)
  assert.deepEqual(e.groups.map(g => [g.groupId, g.errorCode, g.error.type]), [[unknown, 69, 'GROUP_ID_NOT_FOUND']])
  assert.deepEqual(await admin.deleteGroups([]), [])
})

test('describeGroups of a group that does not exist answers it Dead, as KafkaJS', async () => {
  const groupId = unique('adm-nogroup')
  const { groups } = await admin.describeGroups([groupId])
  assert.equal(groups.length, 1)
  assert.equal(groups[0].groupId, groupId)
  assert.equal(groups[0].state, 'Dead')
  assert.equal(groups[0].errorCode, 0)
  assert.deepEqual(groups[0].members, [])
})

test('describeCluster names the broker, the controller and the cluster id', async () => {
  const { brokers, controller, clusterId } = await admin.describeCluster()
  const [host, port] = broker.split(':')
  assert.ok(brokers.some(b => b.host === host && b.port === Number(port)), JSON.stringify(brokers))
  for (const b of brokers) assert.deepEqual(Object.keys(b).sort(), ['host', 'nodeId', 'port'])
  assert.ok(brokers.some(b => b.nodeId === controller))
  assert.equal(typeof clusterId, 'string')
  assert.ok(clusterId.length > 0)
})

test('describeConfigs and alterConfigs: KafkaJS shapes; alterConfigs replaces the resource configs', async () => {
  const topic = await newTopic('adm-configs', 1)
  const TOPIC = ConfigResourceTypes.TOPIC
  const altered = await admin.alterConfigs({
    resources: [
      {
        type: TOPIC,
        name: topic,
        configEntries: [
          { name: 'retention.ms', value: '3600000' },
          { name: 'max.message.bytes', value: '100000' },
        ],
      },
    ],
  })
  assert.deepEqual(altered, { resources: [{ errorCode: 0, errorMessage: null, resourceType: TOPIC, resourceName: topic }] })
  const describe = async () =>
    (
      await admin.describeConfigs({
        resources: [{ type: TOPIC, name: topic, configNames: ['retention.ms', 'max.message.bytes'] }],
        includeSynonyms: true,
      })
    ).resources
  let resources
  await waitFor(async () => {
    resources = await describe()
    return resources[0].configEntries.find(e => e.configName === 'retention.ms').configValue === '3600000'
  }, 'retention.ms set')
  assert.equal(resources.length, 1)
  assert.equal(resources[0].errorCode, 0)
  assert.equal(resources[0].resourceType, TOPIC)
  assert.equal(resources[0].resourceName, topic)
  const retention = resources[0].configEntries.find(e => e.configName === 'retention.ms')
  assert.deepEqual(Object.keys(retention).sort(), [
    'configName',
    'configSource',
    'configSynonyms',
    'configValue',
    'isDefault',
    'isSensitive',
    'readOnly',
  ])
  assert.equal(retention.isDefault, false)
  assert.equal(retention.configSource, 1)
  assert.equal(retention.readOnly, false)
  assert.equal(retention.isSensitive, false)
  assert.ok(retention.configSynonyms.some(s => s.configName === 'retention.ms' && s.configValue === '3600000'))

  // As Kafka's AlterConfigs (what KafkaJS sends): the configs not given go back to the default.
  await admin.alterConfigs({ resources: [{ type: TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '7200000' }] }] })
  await waitFor(async () => {
    resources = await describe()
    const byName = Object.fromEntries(resources[0].configEntries.map(e => [e.configName, e]))
    return byName['retention.ms'].configValue === '7200000' && byName['max.message.bytes'].isDefault
  }, 'retention.ms changed and max.message.bytes back to its default')

  // Without synonyms, all configs, of the broker too.
  const all = await admin.describeConfigs({ resources: [{ type: TOPIC, name: topic }] })
  assert.ok(all.resources[0].configEntries.length > 10)
  assert.ok(all.resources[0].configEntries.every(e => e.configSynonyms.length === 0))
  const { brokers } = await admin.describeCluster()
  const brokerConfigs = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.BROKER, name: String(brokers[0].nodeId), configNames: ['log.retention.hours'] }],
  })
  assert.equal(brokerConfigs.resources[0].configEntries[0].configName, 'log.retention.hours')

  await assert.rejects(admin.describeConfigs({ resources: [{ type: 99, name: topic }] }), /^Error: Invalid resource type 99|Invalid resource type 99/)
  const e = await admin
    .describeConfigs({ resources: [{ type: TOPIC, name: unique('adm-nope') }] })
    .then(() => assert.fail('should fail'), e => e)
  assert.ok(e instanceof KafkaJSProtocolError)
  assert.equal(e.type, 'UNKNOWN_TOPIC_OR_PARTITION')
})

test('admin calls before connect fail with a KafkaJS error', async () => {
  const a = kafka.admin()
  await assert.rejects(a.listTopics(), { name: 'KafkaJSError', retriable: false })
})
