'use strict'
// RegExp subscriptions. With groupProtocol 'consumer' the RegExp goes to the broker as an RE2/J
// regular expression (lib/regex.js), so a topic created later that matches joins without a new
// subscribe; what cannot be translated is refused naming the construct. With 'classic' the
// RegExp is matched when subscribe is called, as in KafkaJS.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { KafkaJSNonRetriableError } = require('..')
const { brokerRegex } = require('../lib/regex')
const { unique, newKafka, createTopic, produce, waitFor } = require('./helpers')

test('translation: matches what RegExp.test matches, as a whole-name expression', () => {
  const cases = [
    [/^orders-.*/, '^orders-.*'],
    [/orders/, '.*orders.*'],
    [/\.v2$/, '.*\\.v2$'],
    [/^a|b$/, '.*(?:^a|b$).*'],
    [/^Jobs-\d+$/i, '(?i)^Jobs-\\d+$'],
    [/^(?<env>prod|dev)-x$/, '^(?:prod|dev)-x$'],
    [/^\u0041[^]$/, '^\\x{0041}(?s:.)$'],
    [/^\e\z$/, '^ez$'],
    [/^[[:a]$/, '^[\\[:a]$'],
  ]
  for (const [re, want] of cases) assert.equal(brokerRegex(re), want, String(re))
})

test('translation: constructs RE2/J does not have are refused, naming them', () => {
  const refused = [
    [/a(?=b)/, /lookahead/],
    [/(?<!a)b/, /lookbehind/],
    [/(a)\1/, /backreference/],
    [/(?<n>a)\k<n>/, /named backreference/],
    [/a/g, /flag 'g'/],
    [/a/y, /flag 'y'/],
    [/a/u, /flag 'u'/],
    [/a/s, /flag 's'/],
    [/[]a/, /empty class/],
    [/\cJ/, /control escape/],
    [/a{2000}/, /above 1000/],
  ]
  for (const [re, why] of refused) {
    assert.throws(() => brokerRegex(re), e => e instanceof KafkaJSNonRetriableError && why.test(e.message) && /admin.listTopics/.test(e.message), String(re))
  }
})

test("groupProtocol 'consumer': an untranslatable RegExp fails subscribe", async () => {
  const kafka = newKafka()
  const consumer = kafka.consumer({ groupId: unique('g'), groupProtocol: 'consumer' })
  await assert.rejects(consumer.subscribe({ topics: [/^(?!internal).*/] }), e => e instanceof KafkaJSNonRetriableError && /lookahead/.test(e.message))
})

test("groupProtocol 'consumer': a topic created after subscribe that matches the RegExp is consumed without a new subscribe", async () => {
  const kafka = newKafka()
  const prefix = unique('re').replace(/-/g, '_')
  const first = `${prefix}-a`
  const later = `${prefix}-b`
  await createTopic(kafka, first)
  await createTopic(kafka, `${prefix}x-no`)
  await produce(kafka, first, 2)
  await produce(kafka, `${prefix}x-no`, 1)
  const consumer = kafka.consumer({ groupId: unique('g'), groupProtocol: 'consumer', maxWaitTimeInMs: 200 })
  const seen = []
  const unsubscribed = []
  consumer.on(consumer.events.RECEIVED_UNSUBSCRIBED_TOPICS, e => unsubscribed.push(e))
  await consumer.connect()
  try {
    // Subscribed before it is connected to any group, and before `later` exists.
    await consumer.subscribe({ topics: [new RegExp(`^${prefix}-`)], fromBeginning: true })
    await consumer.run({ eachMessage: async ({ topic, message }) => { seen.push(`${topic}:${message.value}`) } })
    await waitFor(() => seen.length >= 2, 'the records of the topic that matched at subscribe')
    await createTopic(kafka, later)
    await produce(kafka, later, 3)
    await waitFor(() => seen.filter(s => s.startsWith(`${later}:`)).length >= 3, 'the records of the topic created later', 90000)
    assert.deepEqual(seen.filter(s => s.startsWith(`${first}:`)).sort(), [`${first}:value-0`, `${first}:value-1`])
    assert.deepEqual(seen.filter(s => s.startsWith(`${later}:`)).sort(), [`${later}:value-0`, `${later}:value-1`, `${later}:value-2`])
    assert.ok(!seen.some(s => s.startsWith(`${prefix}x-no:`)), 'a topic the RegExp does not match is not consumed')
    // Topics the RegExp matched are subscribed ones: no RECEIVED_UNSUBSCRIBED_TOPICS for them.
    assert.deepEqual(unsubscribed, [])
  } finally {
    await consumer.disconnect()
  }
})

test("groupProtocol 'classic': the RegExp is matched when subscribe is called (KafkaJS), any JS syntax", async () => {
  const kafka = newKafka()
  const prefix = unique('rc')
  await createTopic(kafka, `${prefix}-a`)
  await createTopic(kafka, `${prefix}-skip`)
  await produce(kafka, `${prefix}-a`, 1)
  await produce(kafka, `${prefix}-skip`, 1)
  const consumer = kafka.consumer({ groupId: unique('g'), groupProtocol: 'classic', maxWaitTimeInMs: 200 })
  const seen = []
  await consumer.connect()
  try {
    // A lookahead: fine here, JavaScript matches it.
    await consumer.subscribe({ topics: [new RegExp(`^${prefix}-(?!skip)`)], fromBeginning: true })
    await consumer.run({ eachMessage: async ({ topic }) => { seen.push(topic) } })
    await waitFor(() => seen.length >= 1, 'the matching topic')
    await new Promise(r => setTimeout(r, 1000))
    assert.deepEqual(seen, [`${prefix}-a`])
  } finally {
    await consumer.disconnect()
  }
})
