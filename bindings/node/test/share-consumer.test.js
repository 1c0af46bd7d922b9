'use strict'
// kafka.shareConsumer() (KIP-932 share groups) against the real broker: KafkaJS's payload
// shapes plus deliveryCount, implicit and explicit acknowledgement (accept, release, reject),
// renew, commit, events, and the errors of misuse. The test broker (scripts/kafka) releases an
// acquired record 5 s after its member stops answering for it.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { KafkaJSNonRetriableError, AcknowledgeTypes } = require('..')
const { classicBroker, unique, newKafka, createTopic, produce, waitFor } = require('./helpers')

// A topic with `count` records and a new share group's id.
async function setup(kafka, count, partitions = 1) {
  const topic = unique('share')
  const groupId = unique('sg')
  await createTopic(kafka, topic, partitions)
  if (count > 0) await produce(kafka, topic, count)
  return { topic, groupId }
}

// A member that started at the beginning (fromBeginning sets the group's
// share.auto.offset.reset to earliest), recording its events.
async function started(kafka, options, topic, run) {
  const consumer = kafka.shareConsumer({ maxWaitTimeInMs: 200, ...options })
  const seen = []
  for (const type of Object.values(consumer.events)) {
    if (!type.includes('.network.')) consumer.on(type, ev => { seen.push(ev) })
  }
  consumer.seen = seen
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await consumer.run(run)
  return consumer
}

test('eachMessage: KafkaJS payload with deliveryCount; a handler that throws releases the message, which comes back', async () => {
  const kafka = newKafka()
  const { topic, groupId } = await setup(kafka, 5)
  const got = []
  let failed = false
  const consumer = await started(kafka, { groupId }, topic, {
    eachMessage: async payload => {
      got.push(payload)
      if (payload.message.value.toString() === 'value-2' && !failed) {
        failed = true
        throw new Error('not now')
      }
    },
  })
  try {
    await waitFor(() => got.some(p => p.message.value.toString() === 'value-2' && p.deliveryCount === 2), 'value-2 delivered again')
    const first = got[0]
    assert.equal(first.topic, topic)
    assert.equal(first.partition, 0)
    assert.equal(first.message.key.toString(), 'key-0')
    assert.equal(first.message.offset, '0')
    assert.equal(typeof first.message.timestamp, 'string')
    assert.deepEqual(first.message.headers, {})
    assert.equal(first.message.deliveryCount, 1)
    assert.equal(first.deliveryCount, 1)
    assert.equal(typeof first.acknowledge, 'function')
    assert.equal(typeof first.renew, 'function')
    // Every record was handled; only the one that threw twice.
    const values = got.map(p => p.message.value.toString())
    for (let i = 0; i < 5; i++) assert.ok(values.includes(`value-${i}`), `value-${i} handled`)
    assert.equal(values.filter(v => v === 'value-2').length, 2)
    assert.ok(kafka.logs.some(e => e.label === 'ERROR' && /eachMessage threw/.test(e.log.message)), 'the throw is logged')
    assert.ok(consumer.seen.some(e => e.type === consumer.events.START_BATCH_PROCESS))
    assert.ok(consumer.seen.some(e => e.type === consumer.events.END_BATCH_PROCESS && typeof e.payload.duration === 'number'))
    assert.deepEqual(await consumer.assignment(), { [topic]: [0] })
    assert.equal(typeof consumer.memberId(), 'string')
  } finally {
    await consumer.disconnect()
  }
  const types = consumer.seen.map(e => e.type)
  assert.equal(types[0], consumer.events.CONNECT)
  assert.ok(types.includes(consumer.events.STOP))
  assert.equal(types[types.length - 1], consumer.events.DISCONNECT)
})

test('explicit acknowledgement: reject is never delivered again, release comes back, a second acknowledgement is refused', async () => {
  const kafka = newKafka()
  const { topic, groupId } = await setup(kafka, 4)
  const got = []
  const misuse = []
  const consumer = await started(kafka, { groupId, acknowledgementMode: 'explicit' }, topic, {
    eachMessage: async ({ message, acknowledge }) => {
      const v = message.value.toString()
      got.push([v, message.deliveryCount])
      if (v === 'value-1') acknowledge(AcknowledgeTypes.REJECT)
      else if (v === 'value-3' && message.deliveryCount === 1) acknowledge('release')
      else acknowledge('accept')
      for (const again of [() => acknowledge('accept'), () => acknowledge('maybe')]) {
        try {
          again()
        } catch (e) {
          misuse.push(e)
        }
      }
    },
  })
  try {
    await waitFor(() => got.some(([v, n]) => v === 'value-3' && n === 2), 'value-3 delivered again')
    // The rejected one stays away past the released one's return (and its lock).
    await new Promise(r => setTimeout(r, 1500))
    assert.deepEqual(got.filter(([v]) => v === 'value-1'), [['value-1', 1]])
    assert.deepEqual(got.filter(([v]) => v === 'value-0'), [['value-0', 1]])
    assert.ok(misuse.length >= 2 * got.length)
    for (const e of misuse) assert.ok(e instanceof KafkaJSNonRetriableError)
    assert.match(misuse[0].message, /already acknowledged \(/)
    assert.match(misuse[1].message, /'accept', 'release' or 'reject'/)
  } finally {
    await consumer.disconnect()
  }
})

test('explicit mode: a message left unacknowledged goes back, with a warning', async () => {
  const kafka = newKafka()
  const { topic, groupId } = await setup(kafka, 1)
  const counts = []
  const consumer = await started(kafka, { groupId, acknowledgementMode: 'explicit' }, topic, {
    eachMessage: async ({ message, acknowledge }) => {
      counts.push(message.deliveryCount)
      if (message.deliveryCount >= 2) acknowledge('accept')
    },
  })
  try {
    await waitFor(() => counts.includes(2), 'the unacknowledged message delivered again')
    assert.ok(kafka.logs.some(e => e.label === 'WARN' && /were not acknowledged and go back/.test(e.log.message)))
  } finally {
    await consumer.disconnect()
  }
})

test('eachBatch: acknowledge(message, type), renew, commit() reports each partition', async () => {
  const kafka = newKafka()
  const { topic, groupId } = await setup(kafka, 3)
  const commits = []
  const batches = []
  const consumer = await started(kafka, { groupId }, topic, {
    eachBatch: async ({ batch, acknowledge, renew, commit, isRunning, heartbeat }) => {
      batches.push(batch)
      assert.equal(isRunning(), true)
      await heartbeat()
      await renew(batch.messages[0])
      for (const m of batch.messages) acknowledge(m, m.value.toString() === 'value-1' ? 'reject' : 'accept')
      commits.push(await commit())
      assert.throws(() => acknowledge({ offset: '999' }, 'accept'), /give a message of this batch/)
    },
  })
  try {
    await waitFor(() => commits.length > 0, 'a commit')
    const batch = batches[0]
    assert.equal(batch.topic, topic)
    assert.equal(batch.partition, 0)
    assert.equal(batch.firstOffset(), '0')
    assert.ok(batch.messages.every(m => m.deliveryCount === 1))
    assert.deepEqual(commits[0], [{ topic, partition: 0, error: null }])
    assert.ok(consumer.seen.some(e => e.type === consumer.events.COMMIT && e.payload.groupId === groupId))
  } finally {
    await consumer.disconnect()
  }
})

test('acknowledging after the handler returned is refused', async () => {
  const kafka = newKafka()
  const { topic, groupId } = await setup(kafka, 1)
  let later
  const consumer = await started(kafka, { groupId }, topic, {
    eachMessage: async ({ acknowledge }) => { later = later || acknowledge },
  })
  try {
    await waitFor(() => later, 'a message')
    await new Promise(r => setTimeout(r, 200))
    assert.throws(() => later('accept'), e => e instanceof KafkaJSNonRetriableError && /already returned/.test(e.message))
  } finally {
    await consumer.disconnect()
  }
})

test('two members share the records: each is accepted once', async () => {
  const kafka = newKafka()
  const { topic, groupId } = await setup(kafka, 0, 2)
  const seen = new Map()
  const members = []
  for (let m = 0; m < 2; m++) {
    members.push(await started(kafka, { groupId, maxRecords: 5 }, topic, {
      eachMessage: async ({ message }) => {
        const v = message.value.toString()
        seen.set(v, (seen.get(v) || 0) + 1)
      },
    }))
  }
  try {
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic, messages: Array.from({ length: 40 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })) })
    await producer.disconnect()
    await waitFor(() => seen.size === 40, 'all 40 records')
    assert.ok([...seen.values()].every(n => n === 1), 'no record handled twice')
  } finally {
    for (const c of members) await c.disconnect()
  }
})

test('misuse fails with KafkaJS errors naming the fix', async () => {
  const kafka = newKafka()
  assert.throws(() => kafka.shareConsumer({}), e => e instanceof KafkaJSNonRetriableError && /groupId/.test(e.message))
  assert.throws(() => kafka.shareConsumer({ groupId: 'g', acknowledgementMode: 'auto' }), /'implicit' or 'explicit'/)
  assert.throws(() => kafka.shareConsumer({ groupId: 'g', acquireMode: 'all' }), /'batch_optimized' or 'record_limit'/)
  assert.throws(() => kafka.shareConsumer({ groupId: 'g', maxRecords: 0 }), /maxRecords/)
  const c = kafka.shareConsumer({ groupId: unique('sg') })
  await assert.rejects(c.run({ eachMessage: async () => {} }), /call shareConsumer.connect\(\)/)
  await c.connect()
  try {
    await assert.rejects(c.run({ eachMessage: async () => {} }), /no subscription/)
    await c.subscribe({ topics: ['t'] })
    await assert.rejects(c.run({}), /eachMessage or eachBatch/)
    await assert.rejects(c.commit(), e => e instanceof KafkaJSNonRetriableError && /run\(\) first/.test(e.message))
  } finally {
    await c.disconnect()
  }
})

test('a share group may not take a consumer group id: run fails naming it', async () => {
  const kafka = newKafka()
  const topic = unique('share-clash')
  await createTopic(kafka, topic)
  await produce(kafka, topic, 1)
  const groupId = unique('clash')
  const consumer = kafka.consumer({ groupId, groupProtocol: 'consumer', maxWaitTimeInMs: 200 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  let got = false
  await consumer.run({ eachMessage: async () => { got = true } })
  const share = kafka.shareConsumer({ groupId })
  try {
    await waitFor(() => got, 'the consumer group to consume')
    await share.connect()
    await share.subscribe({ topic })
    await assert.rejects(share.run({ eachMessage: async () => {} }), e => e.name === 'KafkaJSProtocolError' && /give the share group a name of its own/.test(e.message))
  } finally {
    await share.disconnect()
    await consumer.disconnect()
  }
})

test('stop() from a handler leaves the group (the rest of the batch goes back); run() again resumes', async () => {
  const kafka = newKafka()
  const { topic, groupId } = await setup(kafka, 6)
  const handled = []
  let stopped = null
  let atStop = 0
  let consumer = null
  consumer = await started(kafka, { groupId }, topic, {
    eachMessage: async ({ message }) => {
      handled.push(message.value.toString())
      if (!stopped && consumer) {
        atStop = handled.length
        stopped = consumer.stop()
      }
    },
  })
  try {
    await waitFor(() => stopped !== null, 'a message handled once running')
    await stopped
    await new Promise(r => setTimeout(r, 300))
    assert.equal(handled.length, atStop, 'nothing handled after stop')
    assert.ok(consumer.seen.some(e => e.type === consumer.events.STOP))
    await consumer.run({ eachMessage: async ({ message }) => { handled.push(message.value.toString()) } })
    await waitFor(() => new Set(handled).size === 6, 'every message after the new run')
  } finally {
    await consumer.disconnect()
  }
})

test('a broker without share groups: run fails naming share.version and Kafka 4.2+', async () => {
  const kafka = newKafka({ brokers: [classicBroker] })
  const consumer = kafka.shareConsumer({ groupId: unique('sg') })
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [unique('t')] })
    await assert.rejects(consumer.run({ eachMessage: async () => {} }), e => e.name === 'KafkaJSProtocolError' && /share\.version/.test(e.message) && /4\.2/.test(e.message))
  } finally {
    await consumer.disconnect()
  }
})

test('eachBatch that throws: the messages it did not acknowledge come back, the one it accepted does not', async () => {
  const kafka = newKafka()
  const { topic, groupId } = await setup(kafka, 3)
  const deliveries = []
  const consumer = await started(kafka, { groupId }, topic, {
    eachBatch: async ({ batch, acknowledge }) => {
      for (const m of batch.messages) deliveries.push([m.value.toString(), m.deliveryCount])
      if (batch.messages[0].deliveryCount === 1) {
        acknowledge(batch.messages[0], 'accept')
        throw new Error('batch failed')
      }
    },
  })
  try {
    await waitFor(() => deliveries.filter(([, n]) => n === 2).length >= 2, 'the unacknowledged messages again')
    await new Promise(r => setTimeout(r, 500))
    const again = deliveries.filter(([, n]) => n === 2).map(([v]) => v).sort()
    assert.deepEqual(again, ['value-1', 'value-2'])
    assert.ok(kafka.logs.some(e => e.label === 'ERROR' && /eachBatch threw/.test(e.log.message)))
  } finally {
    await consumer.disconnect()
  }
})

test("acquireMode 'record_limit': no batch holds more than maxRecords", async () => {
  const kafka = newKafka()
  const { topic, groupId } = await setup(kafka, 7)
  const sizes = []
  const consumer = await started(kafka, { groupId, maxRecords: 2, acquireMode: 'record_limit' }, topic, {
    eachBatch: async ({ batch }) => { sizes.push(batch.messages.length) },
  })
  try {
    await waitFor(() => sizes.reduce((a, b) => a + b, 0) >= 7, 'all 7 messages')
    assert.ok(sizes.every(n => n <= 2), `batch sizes ${sizes}`)
  } finally {
    await consumer.disconnect()
  }
})

test('commit() after the acquisition lock ran out: that partition reports the broker refusal as a KafkaJS error', async () => {
  const kafka = newKafka()
  const { topic, groupId } = await setup(kafka, 1)
  const results = []
  const consumer = await started(kafka, { groupId }, topic, {
    eachBatch: async ({ batch, acknowledge, commit }) => {
      if (results.length > 0) return
      // The test broker's lock lasts 5 s: past it the record is no longer this member's.
      await new Promise(r => setTimeout(r, 7000))
      acknowledge(batch.messages[0], 'accept')
      results.push(await commit())
    },
  })
  try {
    await waitFor(() => results.length > 0, 'the late commit')
    const [{ topic: t, partition, error }] = results[0]
    assert.equal(t, topic)
    assert.equal(partition, 0)
    assert.ok(error instanceof Error && error.name === 'KafkaJSProtocolError', `error: ${error}`)
    assert.equal(error.type, 'INVALID_RECORD_STATE')
  } finally {
    await consumer.disconnect()
  }
})
