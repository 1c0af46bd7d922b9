'use strict'
// KafkaJS 2.2.4's instrumentation events, case by case, through this package against the real
// broker: `network.request` for every request, those of connecting included (ApiVersions,
// Metadata, the SASL exchange), in KafkaJS's payload shape; and the batch events of a fetch
// that brought only records the application never sees (a transaction's commit marker, an
// aborted transaction), which KafkaJS emits without calling the handler.

const { test, after } = require('node:test')
const assert = require('node:assert/strict')
const { broker, unique, newKafka, createTopic, waitFor } = require('./helpers')
const { committed, closeOracle } = require('./support/oracle')

after(closeOracle)

const saslBroker = process.env.KAFKIT_SASL_BOOTSTRAP || '127.0.0.1:9094'

// KafkaJS's `network.request` payload keys, in its order (network/requestQueue/socketRequest.js).
const REQUEST_KEYS = ['broker', 'clientId', 'correlationId', 'size', 'createdAt', 'sentAt', 'pendingDuration', 'duration', 'apiName', 'apiKey', 'apiVersion']

function makeClient(kafka, kind) {
  if (kind === 'consumer') return kafka.consumer({ groupId: unique('g') })
  return kafka[kind]()
}

function checkRequest(e, { type, apiName, apiKey, brokerAddress }) {
  assert.equal(e.type, type)
  assert.deepEqual(Object.keys(e.payload), REQUEST_KEYS)
  const p = e.payload
  assert.equal(p.apiName, apiName)
  assert.equal(p.apiKey, apiKey)
  assert.equal(p.broker, brokerAddress)
  assert.equal(p.clientId, 'kafkit-node-test')
  for (const k of ['correlationId', 'size', 'createdAt', 'sentAt', 'pendingDuration', 'duration', 'apiVersion']) {
    assert.ok(Number.isInteger(p[k]), `${k} is an integer`)
    assert.ok(p[k] >= 0, `${k} is not negative`)
  }
  assert.ok(p.size > 0, 'size is the response size')
  assert.equal(p.pendingDuration, p.sentAt - p.createdAt)
  assert.ok(Math.abs(p.sentAt - Date.now()) < 60000, 'sentAt is a wall-clock time in ms')
}

for (const kind of ['consumer', 'producer', 'admin']) {
  test(`network.request (${kind}): the requests of connect() are emitted, in KafkaJS's payload shape`, async () => {
    const kafka = newKafka()
    const client = makeClient(kafka, kind)
    const seen = []
    const order = []
    client.on(client.events.REQUEST, e => {
      seen.push(e)
      order.push(e.payload.apiName)
    })
    client.on(client.events.CONNECT, () => order.push('CONNECT'))
    await client.connect()
    try {
      await waitFor(() => order.includes('CONNECT'), 'CONNECT')
      // As KafkaJS: the requests of connecting come before CONNECT.
      assert.ok(order.indexOf('ApiVersions') >= 0 && order.indexOf('ApiVersions') < order.indexOf('CONNECT'), order.join(' '))
      assert.ok(order.indexOf('Metadata') >= 0 && order.indexOf('Metadata') < order.indexOf('CONNECT'), order.join(' '))
      const type = `${kind}.network.request`
      checkRequest(seen.find(e => e.payload.apiName === 'ApiVersions'), { type, apiName: 'ApiVersions', apiKey: 18, brokerAddress: broker })
      checkRequest(seen.find(e => e.payload.apiName === 'Metadata'), { type, apiName: 'Metadata', apiKey: 3, brokerAddress: broker })
    } finally {
      await client.disconnect()
    }
  })
}

test('network.request: the SASL exchange of connect() is emitted (SaslHandshake, SaslAuthenticate)', async () => {
  const kafka = newKafka({ brokers: [saslBroker], sasl: { mechanism: 'plain', username: 'alice', password: 'alice-secret' } })
  const admin = kafka.admin()
  const seen = []
  admin.on(admin.events.REQUEST, e => seen.push(e))
  await admin.connect()
  try {
    await waitFor(() => seen.some(e => e.payload.apiName === 'SaslAuthenticate'), 'SaslAuthenticate from connect()')
    const type = 'admin.network.request'
    checkRequest(seen.find(e => e.payload.apiName === 'SaslHandshake'), { type, apiName: 'SaslHandshake', apiKey: 17, brokerAddress: saslBroker })
    checkRequest(seen.find(e => e.payload.apiName === 'SaslAuthenticate'), { type, apiName: 'SaslAuthenticate', apiKey: 36, brokerAddress: saslBroker })
  } finally {
    await admin.disconnect()
  }
})

// A consumer of `topic` (one partition) that records its batch events and the records it gets.
async function batchWatcher(kafka, topic, options) {
  const groupId = unique('g')
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 300, ...options })
  const starts = []
  const ends = []
  const records = []
  consumer.on(consumer.events.START_BATCH_PROCESS, e => starts.push(e.payload))
  consumer.on(consumer.events.END_BATCH_PROCESS, e => ends.push(e.payload))
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  return { consumer, groupId, starts, ends, records }
}

const BATCH_KEYS = ['topic', 'partition', 'highWatermark', 'offsetLag', 'offsetLagLow', 'batchSize', 'firstOffset', 'lastOffset']

function checkControlBatch(starts, ends, { topic, first, last, highWatermark }) {
  const start = starts.find(p => p.batchSize === 0)
  const end = ends.find(p => p.batchSize === 0)
  assert.deepEqual(start, {
    topic,
    partition: 0,
    highWatermark: String(highWatermark),
    offsetLag: String(highWatermark - 1 - last),
    offsetLagLow: String(highWatermark - 1 - first),
    batchSize: 0,
    firstOffset: String(first),
    lastOffset: String(last),
  })
  assert.deepEqual(Object.keys(end), [...BATCH_KEYS, 'duration'])
  assert.deepEqual({ ...end, duration: 0 }, { ...start, duration: 0 })
  assert.equal(typeof end.duration, 'number')
}

for (const readUncommitted of [true, false]) {
  const isolation = readUncommitted ? 'read_uncommitted' : 'read_committed'
  test(`batch events (${isolation}): a fetch of a commit marker alone emits START/END_BATCH_PROCESS, batchSize 0, without calling eachMessage`, async () => {
    const kafka = newKafka()
    const topic = unique('ctl')
    await createTopic(kafka, topic, 1)
    const producer = kafka.producer({ transactionalId: unique('tx'), maxInFlightRequests: 1 })
    await producer.connect()
    const { consumer, groupId, starts, ends, records } = await batchWatcher(kafka, topic, { readUncommitted })
    try {
      const tx = await producer.transaction()
      await tx.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] })
      if (readUncommitted) {
        // The records are read before the commit: the marker (offset 2) then comes alone.
        await consumer.run({ autoCommitThreshold: 1, eachMessage: async ({ message }) => { records.push(message.offset) } })
        await waitFor(() => records.length === 2, 'the transaction records, before the commit')
        await tx.commit()
      } else {
        // Under read_committed the records come with their marker: the group starts at the
        // marker so that it comes alone.
        await tx.commit()
        const admin = kafka.admin()
        await admin.connect()
        await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '2' }] })
        await admin.disconnect()
        await consumer.run({ autoCommitThreshold: 1, eachMessage: async ({ message }) => { records.push(message.offset) } })
      }
      await waitFor(() => ends.some(p => p.batchSize === 0), 'END_BATCH_PROCESS of the marker')
      checkControlBatch(starts, ends, { topic, first: 2, last: 2, highWatermark: 3 })
      assert.deepEqual(records, readUncommitted ? ['0', '1'] : [], 'eachMessage never sees the marker')
      // As KafkaJS, the marker's offset is resolved: the group commits past it.
      await waitFor(async () => (await committed(groupId, topic))[0] === '3', 'offset 3 committed')
    } finally {
      await consumer.disconnect()
      await producer.disconnect()
    }
  })
}

test('batch events (read_committed): an aborted transaction alone is a batch of none, its offsets those of the records left out', async () => {
  const kafka = newKafka()
  const topic = unique('abort')
  await createTopic(kafka, topic, 1)
  const producer = kafka.producer({ transactionalId: unique('tx'), maxInFlightRequests: 1 })
  await producer.connect()
  const { consumer, starts, ends, records } = await batchWatcher(kafka, topic, { readUncommitted: false })
  const batches = []
  try {
    const tx = await producer.transaction()
    await tx.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] })
    await tx.abort()
    await consumer.run({ eachBatch: async ({ batch }) => { batches.push(batch.messages.length); records.push(...batch.messages) } })
    await waitFor(() => ends.some(p => p.batchSize === 0), 'END_BATCH_PROCESS of the aborted transaction')
    checkControlBatch(starts, ends, { topic, first: 0, last: 2, highWatermark: 3 })
    assert.deepEqual(batches, [], 'eachBatch is not called for it')
  } finally {
    await consumer.disconnect()
    await producer.disconnect()
  }
})
