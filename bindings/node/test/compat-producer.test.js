'use strict'
// KafkaJS 2.2.4's producer behaviour, case by case, through this package against the real
// broker: send and sendBatch results, acks, a transactional producer's sends outside a
// transaction, idempotence settings, and the argument checks made before the connection state.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { unique, newKafka, createTopic } = require('./helpers')

async function connected(options = {}, partitions = 1) {
  const kafka = newKafka()
  const topic = unique('compat-p')
  await createTopic(kafka, topic, partitions)
  const producer = kafka.producer(options)
  await producer.connect()
  return { kafka, topic, producer }
}

test('sendBatch: two entries of one topic are merged into one send (one result per partition)', async () => {
  const { topic, producer } = await connected()
  try {
    const results = await producer.sendBatch({
      topicMessages: [
        { topic, messages: [{ value: 'a' }, { value: 'b' }] },
        { topic, messages: [{ value: 'c' }] },
      ],
    })
    assert.equal(results.length, 1)
    assert.equal(results[0].topicName, topic)
    assert.equal(results[0].partition, 0)
    assert.equal(results[0].baseOffset, '0')
    const next = await producer.send({ topic, messages: [{ value: 'd' }] })
    assert.equal(next[0].baseOffset, '3')
    // The broker's log start offset, as KafkaJS reports it (a fresh topic keeps offset 0).
    assert.equal(next[0].logStartOffset, '0')
  } finally {
    await producer.disconnect()
  }
})

test('acks: acks 0 resolves [] (the broker answers nothing); acks 1 resolves the metadata', async () => {
  const { topic, producer } = await connected()
  try {
    assert.deepEqual(await producer.send({ topic, acks: 0, messages: [{ value: 'x' }] }), [])
    const one = await producer.send({ topic, acks: 1, messages: [{ value: 'y' }] })
    assert.equal(one.length, 1)
    assert.equal(one[0].errorCode, 0)
  } finally {
    await producer.disconnect()
  }
})

test('transactions: a producer with a transactionalId sends outside a transaction, with acks 1 too', async () => {
  const { topic, producer } = await connected({ transactionalId: unique('tx') })
  try {
    const plain = await producer.send({ topic, messages: [{ value: 'outside' }] })
    assert.equal(plain[0].errorCode, 0)
    const leader = await producer.send({ topic, acks: 1, messages: [{ value: 'acks-1' }] })
    assert.equal(leader[0].errorCode, 0)
    // And its transactions still work.
    const tx = await producer.transaction()
    await tx.send({ topic, messages: [{ value: 'inside' }] })
    await tx.commit()
  } finally {
    await producer.disconnect()
  }
})

test('transactions: a transaction refuses acks other than -1, as KafkaJS', async () => {
  const { topic, producer } = await connected({ transactionalId: unique('tx'), idempotent: true })
  try {
    const tx = await producer.transaction()
    await assert.rejects(tx.send({ topic, acks: 1, messages: [{ value: 'x' }] }), {
      name: 'KafkaJSNonRetriableError',
      message: "Not requiring ack for all messages invalidates the idempotent producer's EoS guarantees",
    })
    await tx.abort()
  } finally {
    await producer.disconnect()
  }
})

test('idempotence: an idempotent producer with retries 0 is refused at creation', () => {
  const kafka = newKafka()
  assert.throws(() => kafka.producer({ idempotent: true, retry: { retries: 0 } }), {
    name: 'KafkaJSNonRetriableError',
    message: 'Idempotent producer must allow retries to protect against transient errors',
  })
  // Without idempotence retries 0 is fine.
  kafka.producer({ retry: { retries: 0 } })
})

test('errors: arguments are checked before the connection state', async () => {
  const kafka = newKafka()
  const producer = kafka.producer()
  await assert.rejects(producer.send({ topic: 't', messages: undefined }), {
    name: 'KafkaJSNonRetriableError',
    message: 'Invalid messages array [undefined] for topic "t"',
  })
  await assert.rejects(producer.send({ topic: 't', messages: [{ key: 'k' }] }), {
    message: 'Invalid message without value for topic "t": {"key":"k"}',
  })
  await assert.rejects(producer.sendBatch({ topicMessages: [{ messages: [] }] }), { message: 'Invalid topic' })
  await assert.rejects(kafka.producer({ idempotent: true }).send({ topic: 't', acks: 1, messages: [{ value: 'v' }] }), {
    message: "Not requiring ack for all messages invalidates the idempotent producer's EoS guarantees",
  })
  // With valid arguments, the state.
  await assert.rejects(producer.send({ topic: 't', messages: [{ value: 'v' }] }), { message: /disconnected/ })
})

test('errors: an invalid topic name is refused at once, as the broker refuses it', async () => {
  const { producer } = await connected()
  try {
    await assert.rejects(producer.send({ topic: 'bad topic!', messages: [{ value: 'v' }] }), {
      name: 'KafkaJSProtocolError',
      type: 'INVALID_TOPIC_EXCEPTION',
      retriable: false,
    })
  } finally {
    await producer.disconnect()
  }
})

test('connect/disconnect: overlapping calls are safe and idempotent', async () => {
  const kafka = newKafka()
  const producer = kafka.producer()
  const seen = []
  producer.on(producer.events.CONNECT, () => seen.push('connect'))
  producer.on(producer.events.DISCONNECT, () => seen.push('disconnect'))
  await Promise.all([producer.connect(), producer.connect()])
  await Promise.all([producer.disconnect(), producer.disconnect()])
  await producer.disconnect()
  await new Promise(r => setImmediate(r))
  assert.deepEqual(seen, ['connect', 'disconnect'])
})

// Needs a broker with auto.create.topics.enable=true (the suite's brokers disable it); set
// KAFKIT_AUTOCREATE_BOOTSTRAP to one to run these.
const autoCreate = process.env.KAFKIT_AUTOCREATE_BOOTSTRAP
test('allowAutoTopicCreation (default true): a send to a missing topic lets the broker create it, as KafkaJS', { skip: !autoCreate && 'KAFKIT_AUTOCREATE_BOOTSTRAP is not set' }, async () => {
  const kafka = newKafka({ brokers: [autoCreate] })
  const topic = unique('compat-autocreate')
  const producer = kafka.producer()
  await producer.connect()
  try {
    const [r] = await producer.send({ topic, messages: [{ value: 'first' }] })
    assert.equal(r.topicName, topic)
    assert.equal(r.baseOffset, '0')
  } finally {
    await producer.disconnect()
  }
  const admin = kafka.admin()
  await admin.connect()
  try {
    assert.ok((await admin.listTopics()).includes(topic))
  } finally {
    await admin.disconnect()
  }
})

test('allowAutoTopicCreation: false leaves a missing topic missing', { skip: !autoCreate && 'KAFKIT_AUTOCREATE_BOOTSTRAP is not set' }, async () => {
  const kafka = newKafka({ brokers: [autoCreate] })
  const topic = unique('compat-noautocreate')
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  try {
    await assert.rejects(producer.send({ topic, timeout: 3000, messages: [{ value: 'x' }] }))
  } finally {
    await producer.disconnect()
  }
  const admin = kafka.admin()
  await admin.connect()
  try {
    assert.ok(!(await admin.listTopics()).includes(topic))
  } finally {
    await admin.disconnect()
  }
})

// Needs the suite's acl broker (scripts/kafka --profile acl); KAFKIT_ACL_BOOTSTRAP names it.
const aclBroker = process.env.KAFKIT_ACL_BOOTSTRAP
test('errors: a topic the user may not write to is refused at once with TOPIC_AUTHORIZATION_FAILED, as KafkaJS', { skip: !aclBroker && 'KAFKIT_ACL_BOOTSTRAP is not set' }, async () => {
  const as = (username, password, extra = {}) => newKafka({ brokers: [aclBroker], sasl: { mechanism: 'plain', username, password }, ...extra })
  const topic = unique('compat-acl')
  const admin = as('admin', 'admin-secret').admin()
  await admin.connect()
  try {
    await admin.createTopics({ topics: [{ topic }] })
  } finally {
    await admin.disconnect()
  }
  const producer = as('bob', 'bob-secret').producer()
  await producer.connect()
  try {
    // No timeout is given: without the immediate refusal this waits for requestTimeout (30 s)
    // and the metadata retries, and the error would say so.
    const e = await producer.send({ topic, messages: [{ value: 'x' }] }).then(() => assert.fail('should be refused'), x => x)
    assert.equal(e.name, 'KafkaJSProtocolError')
    assert.equal(e.type, 'TOPIC_AUTHORIZATION_FAILED')
    assert.equal(e.message, 'Not authorized to access topics: [Topic authorization failed]')
    assert.doesNotMatch(e.detail, /after waiting/)
  } finally {
    await producer.disconnect()
  }
})
