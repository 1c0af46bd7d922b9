'use strict'
// The producer through KafkaJS's API: send and sendBatch answers, keys, headers, explicit
// partitions, every codec, acks, transactions (committed records visible, aborted ones not).
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { CompressionTypes } = require('..')
const { unique, newKafka, createTopic, waitFor } = require('./helpers')

// Reads `count` records of `topic` with a fresh group (read_committed unless told).
async function readAll(kafka, topic, count, { readUncommitted = false, settleMs = 0 } = {}) {
  const consumer = kafka.consumer({ groupId: unique('read'), groupProtocol: 'consumer', readUncommitted })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const got = []
  await consumer.run({ eachMessage: async ({ partition, message }) => { got.push({ partition, ...message }) } })
  await waitFor(() => got.length >= count, `${count} records of ${topic}`)
  if (settleMs) await new Promise(r => setTimeout(r, settleMs))
  await consumer.disconnect()
  return got
}

test('send answers per partition with the first offset written there, KafkaJS-style', async () => {
  const kafka = newKafka()
  const topic = unique('p-send')
  await createTopic(kafka, topic, 2)
  const producer = kafka.producer()
  await producer.connect()
  const first = await producer.send({ topic, messages: [{ value: 'a', partition: 0 }, { value: 'b', partition: 0 }, { value: 'c', partition: 1 }] })
  const second = await producer.send({ topic, messages: [{ value: 'd', partition: 0 }] })
  await producer.disconnect()
  assert.deepEqual(first.map(r => [r.topicName, r.partition, r.errorCode, r.baseOffset]), [[topic, 0, 0, '0'], [topic, 1, 0, '0']])
  assert.deepEqual(second.map(r => [r.partition, r.baseOffset]), [[0, '2']])
})

test('keys, values, headers (repeated too), null values and timestamps arrive as sent', async () => {
  const kafka = newKafka()
  const topic = unique('p-fields')
  await createTopic(kafka, topic, 1)
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({
    topic,
    messages: [
      { key: 'k1', value: Buffer.from([0, 1, 2, 255]), headers: { trace: 'abc', multi: ['x', Buffer.from('y')] }, timestamp: '1700000000000' },
      { key: null, value: null },
      { key: Buffer.from('k3'), value: 'ünïcödé' },
    ],
  })
  await producer.disconnect()
  const got = await readAll(kafka, topic, 3)
  got.sort((a, b) => Number(a.offset) - Number(b.offset))
  assert.equal(got[0].key.toString(), 'k1')
  assert.deepEqual([...got[0].value], [0, 1, 2, 255])
  assert.equal(got[0].headers.trace.toString(), 'abc')
  assert.deepEqual(got[0].headers.multi.map(String), ['x', 'y'])
  assert.equal(got[0].timestamp, '1700000000000')
  assert.equal(got[1].key, null)
  assert.equal(got[1].value, null)
  assert.equal(got[2].value.toString(), 'ünïcödé')
})

test('every compression type round-trips, and sendBatch sends to several topics', async () => {
  const kafka = newKafka()
  const topics = Object.keys(CompressionTypes).map(name => unique(`p-codec-${name.toLowerCase()}`))
  for (const t of topics) await createTopic(kafka, t, 1)
  const producer = kafka.producer()
  await producer.connect()
  const codecs = Object.values(CompressionTypes)
  for (let i = 0; i < topics.length; i++) {
    const messages = Array.from({ length: 50 }, (_, j) => ({ value: `codec-${codecs[i]}-${j}`.repeat(10) }))
    await producer.send({ topic: topics[i], messages, compression: codecs[i] })
  }
  const batch = await producer.sendBatch({ topicMessages: topics.map(topic => ({ topic, messages: [{ value: 'batch' }] })) })
  await producer.disconnect()
  assert.equal(batch.length, topics.length)
  for (let i = 0; i < topics.length; i++) {
    const got = await readAll(kafka, topics[i], 51)
    assert.equal(got.filter(m => m.value.toString().startsWith(`codec-${codecs[i]}-`)).length, 50)
  }
})

test('acks 1 and 0 are honoured; an idempotent producer refuses acks other than -1', async () => {
  const kafka = newKafka()
  const topic = unique('p-acks')
  await createTopic(kafka, topic, 1)
  const loose = kafka.producer({ idempotent: false })
  await loose.connect()
  const one = await loose.send({ topic, acks: 1, messages: [{ value: 'one' }] })
  assert.equal(one[0].baseOffset, '0')
  const none = await loose.send({ topic, acks: 0, messages: [{ value: 'zero' }] })
  assert.deepEqual(none, []) // acks=0: the broker answers nothing; KafkaJS resolves []
  await loose.disconnect()
  const strict = kafka.producer({ idempotent: true })
  await strict.connect()
  await assert.rejects(strict.send({ topic, acks: 1, messages: [{ value: 'x' }] }), { name: 'KafkaJSNonRetriableError', message: /idempotent/ })
  await strict.disconnect()
  assert.equal((await readAll(kafka, topic, 2)).length, 2)
})

test('a committed transaction is read, an aborted one is not (read_committed)', async () => {
  const kafka = newKafka()
  const topic = unique('p-tx')
  await createTopic(kafka, topic, 1)
  const producer = kafka.producer({ transactionalId: unique('tx'), idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const aborted = await producer.transaction()
  await aborted.send({ topic, messages: [{ value: 'aborted' }] })
  await aborted.abort()
  assert.equal(aborted.isActive(), false)
  const committed = await producer.transaction()
  await committed.send({ topic, messages: [{ value: 'committed-1' }, { value: 'committed-2' }] })
  await committed.commit()
  await assert.rejects(committed.send({ topic, messages: [{ value: 'late' }] }), /not active/)
  await producer.disconnect()
  const got = await readAll(kafka, topic, 2, { settleMs: 1000 })
  assert.deepEqual(got.map(m => m.value.toString()), ['committed-1', 'committed-2'])
  const all = await readAll(kafka, topic, 3, { readUncommitted: true })
  assert.ok(all.some(m => m.value.toString() === 'aborted'))
})

test('a transaction commits consumed offsets with sendOffsets', async () => {
  const kafka = newKafka()
  const topic = unique('p-txoff')
  await createTopic(kafka, topic, 1)
  const group = unique('txgroup')
  const producer = kafka.producer({ transactionalId: unique('tx'), idempotent: true })
  await producer.connect()
  const tx = await producer.transaction()
  await tx.send({ topic, messages: [{ value: 'v' }] })
  await tx.sendOffsets({ consumerGroupId: group, topics: [{ topic, partitions: [{ partition: 0, offset: '1' }] }] })
  await tx.commit()
  await producer.disconnect()
  // The group starts after the committed offset: it reads only what comes next.
  const consumer = kafka.consumer({ groupId: group, groupProtocol: 'consumer' })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const got = []
  await consumer.run({ eachMessage: async ({ message }) => { got.push(message.offset) } })
  const p2 = kafka.producer()
  await p2.connect()
  await p2.send({ topic, messages: [{ value: 'next' }] })
  await p2.disconnect()
  await waitFor(() => got.length >= 1, 'the record after the committed offset')
  await consumer.disconnect()
  // Offset 0 was consumed-and-committed in the transaction; offset 1 is the commit marker.
  assert.ok(!got.includes('0'), `offset 0 was committed in the transaction, yet read: ${got}`)
  assert.deepEqual(got, ['2'])
})

test('kafkit extension compressionLevels: sends at a chosen level of each codec round-trip, and a bad level is refused naming the option', async () => {
  const kafka = newKafka()
  const producer = kafka.producer({ compressionLevels: { gzip: 9, lz4: 12, zstd: -5 } })
  await producer.connect()
  const cases = [[CompressionTypes.GZIP, 'gzip'], [CompressionTypes.LZ4, 'lz4'], [CompressionTypes.ZSTD, 'zstd']]
  const topics = []
  for (const [codec, name] of cases) {
    const topic = unique(`p-level-${name}`)
    topics.push(topic)
    await createTopic(kafka, topic, 1)
    const messages = Array.from({ length: 40 }, (_, j) => ({ key: `k${j}`, value: JSON.stringify({ id: j, codec: name, pad: 'x'.repeat(50) }) }))
    await producer.send({ topic, messages, compression: codec })
  }
  await producer.disconnect()
  for (let i = 0; i < cases.length; i++) {
    const got = await readAll(kafka, topics[i], 40)
    got.sort((a, b) => Number(a.offset) - Number(b.offset))
    assert.deepEqual(got.map(m => JSON.parse(m.value.toString()).id), Array.from({ length: 40 }, (_, j) => j))
    assert.ok(got.every(m => JSON.parse(m.value.toString()).codec === cases[i][1]))
  }
  // gzip's -1 is zlib's default, as in the Java client.
  kafka.producer({ compressionLevels: { gzip: -1 } })
  for (const [levels, parts] of [
    [{ zstd: 23 }, ['compressionLevels.zstd 23 is out of range', '-131072..22', 'default (3)']],
    [{ gzip: 0 }, ['compressionLevels.gzip 0', '1..9 (or -1)', 'default (6)']],
    [{ lz4: 2.5 }, ['compressionLevels.lz4 2.5', '1..17']],
    [{ snappy: 1 }, ['compressionLevels.snappy', 'snappy has no levels']],
  ]) {
    assert.throws(() => kafka.producer({ compressionLevels: levels }), e => {
      assert.equal(e.name, 'KafkaJSNonRetriableError')
      for (const p of parts) assert.ok(e.message.includes(p), `${e.message} lacks ${p}`)
      return true
    })
  }
})
