'use strict'
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { unique, newKafka, createTopic, produce, waitFor } = require('./helpers')

for (const groupProtocol of ['consumer', 'classic']) {
  test(`produce then consume every record with groupProtocol '${groupProtocol}'`, async () => {
    const kafka = newKafka()
    const topic = unique('basic')
    await createTopic(kafka, topic, 3)
    await produce(kafka, topic, 100)
    const consumer = kafka.consumer({ groupId: unique('g'), groupProtocol })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const seen = new Set()
    await consumer.run({
      eachMessage: async ({ topic: t, partition, message }) => {
        assert.equal(t, topic)
        assert.ok(Buffer.isBuffer(message.value))
        assert.equal(typeof message.offset, 'string')
        assert.equal(typeof message.timestamp, 'string')
        assert.equal(message.value.toString().replace('value', 'key'), message.key.toString())
        seen.add(`${partition}:${message.offset}`)
      },
    })
    await waitFor(() => seen.size === 100, '100 records')
    await consumer.disconnect()
    assert.equal(seen.size, 100)
  })
}
