'use strict'
// Bad input gets KafkaJS's error classes with a message naming the cause and the fix.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const kafkit = require('..')
const { unique, newKafka, createTopic } = require('./helpers')

test('config errors are thrown at once as KafkaJSNonRetriableError', () => {
  assert.throws(() => new kafkit.Kafka({}), { name: 'KafkaJSNonRetriableError', message: /brokers/ })
  const kafka = newKafka()
  assert.throws(() => kafka.consumer({ groupId: 'g', groupProtocol: 'foo' }), {
    name: 'KafkaJSNonRetriableError',
    message: "Consumer groupProtocol must be either 'classic' or 'consumer'",
  })
  assert.throws(() => kafka.consumer({}), { name: 'KafkaJSNonRetriableError', message: /groupId/ })
  assert.throws(() => kafka.consumer({ groupId: 'g', groupProtocol: 'consumer', groupRemoteAssignor: '' }), { name: 'KafkaJSNonRetriableError', message: /remote_assignor/ })
  assert.throws(() => new kafkit.Kafka({ brokers: ['x:1'], sasl: { mechanism: 'aws' } }), { message: /not supported/ })
  assert.throws(() => new kafkit.Kafka({ brokers: ['x:1'], ssl: { rejectUnauthorized: false } }), { message: /ssl.ca/ })
})

test('a broker that is down gives a retriable KafkaJSConnectionError naming it', async () => {
  const kafka = newKafka({ brokers: ['127.0.0.1:1'], retry: { retries: 0 }, connectionTimeout: 500 })
  const producer = kafka.producer()
  await assert.rejects(producer.connect(), err => {
    assert.ok(err instanceof kafkit.KafkaJSConnectionError, err.name)
    assert.ok(err instanceof kafkit.KafkaJSError)
    assert.equal(err.retriable, true)
    assert.match(err.message, /127\.0\.0\.1:1/)
    // The fix names this surface's option, not the Rust core's.
    assert.match(err.message, /`brokers` lists its host:port/)
    return true
  })
})

test('Kafka error codes become KafkaJSProtocolError with type and code', async () => {
  const kafka = newKafka()
  const admin = kafka.admin()
  await admin.connect()
  try {
    // One broker cannot hold 3 replicas: the broker refuses the topic. As in KafkaJS, topic
    // creation errors come as a KafkaJSAggregateError of KafkaJSCreateTopicError (protocol errors).
    await assert.rejects(admin.createTopics({ topics: [{ topic: unique('bad'), numPartitions: 1, replicationFactor: 3 }] }), err => {
      assert.equal(err.name, 'KafkaJSAggregateError', `${err.name}: ${err.message}`)
      const [e] = err.errors
      assert.ok(e instanceof kafkit.KafkaJSProtocolError, `${e.name}: ${e.message}`)
      assert.equal(e.type, 'INVALID_REPLICATION_FACTOR')
      assert.equal(e.code, 38)
      assert.equal(e.retriable, false)
      return true
    })
  } finally {
    await admin.disconnect()
  }
})

test('a record larger than the broker takes is refused with a clear error, and the producer goes on', async () => {
  const kafka = newKafka()
  const topic = unique('too-large')
  await createTopic(kafka, topic, 1)
  const producer = kafka.producer()
  await producer.connect()
  await assert.rejects(producer.send({ topic, messages: [{ value: Buffer.alloc(2 * 1024 * 1024) }] }), err => {
    assert.ok(err instanceof kafkit.KafkaJSError, err.name)
    assert.match(err.message, /large|size/i)
    return true
  })
  const ok = await producer.send({ topic, messages: [{ value: 'small' }] })
  assert.equal(ok[0].errorCode, 0)
  await producer.disconnect()
})

test('using a client before connect or after disconnect says so', async () => {
  const kafka = newKafka()
  const producer = kafka.producer()
  await assert.rejects(producer.send({ topic: 't', messages: [{ value: 'x' }] }), { message: /disconnected/ })
  const consumer = kafka.consumer({ groupId: unique('g') })
  await assert.rejects(consumer.run({ eachMessage: async () => {} }), { message: /connect/ })
  await consumer.connect()
  assert.throws(() => consumer.seek({ topic: 't', partition: 0, offset: '0' }), { message: /consumer#run must be called first/ })
  await consumer.disconnect()
  assert.throws(() => consumer.on('consumer.nope', () => {}), { name: 'KafkaJSError', message: /Event name should be one of/ })
})

test('records that cannot be read are KafkaJS CORRUPT_MESSAGE, not retried, naming topic, partition and offset', () => {
  const { fromNative } = require('../lib/errors')
  const reason = {
    kind: 'corrupt_record',
    type: null,
    code: null,
    retriable: false,
    operation: 'fetch',
    message: 'fetch failed (CorruptRecord error): records of orders-2 at offset 41 cannot be read: record batch at offset 41 fails its CRC; seek orders-2 to offset 45 to skip the batch',
    topic: 'orders',
    partition: 2,
    offset: '41',
  }
  const err = fromNative(new Error('KAFKIT_ERROR:' + JSON.stringify(reason)))
  assert.ok(err instanceof kafkit.KafkaJSProtocolError, err.name)
  assert.equal(err.type, 'CORRUPT_MESSAGE')
  assert.equal(err.code, 2)
  assert.equal(err.retriable, false)
  assert.deepEqual([err.topic, err.partition, err.offset], ['orders', 2, '41'])
  assert.match(err.message, /seek orders-2 to offset 45/)
})
