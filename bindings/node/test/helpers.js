'use strict'
// Shared by the package's tests: the broker the suite started (KAFKIT_BOOTSTRAP), unique
// names, topics made and filled through the package itself, and waiting with a deadline.

const { Kafka, logLevel } = require('..')

const broker = process.env.KAFKIT_BOOTSTRAP || '127.0.0.1:9092'
const classicBroker = process.env.KAFKIT_CLASSIC_BOOTSTRAP || '127.0.0.1:19092'

let seq = 0
function unique(prefix) {
  return `${prefix}-${process.pid}-${Date.now()}-${seq++}`
}

// Log entries are kept (tests assert warnings) and printed only with KAFKIT_TEST_LOG=1.
function newKafka(extra = {}) {
  const logs = []
  const kafka = new Kafka({
    clientId: 'kafkit-node-test',
    brokers: [broker],
    logLevel: logLevel.INFO,
    logCreator: () => entry => {
      logs.push(entry)
      if (process.env.KAFKIT_TEST_LOG) console.error(JSON.stringify({ ns: entry.namespace, level: entry.label, ...entry.log }))
    },
    ...extra,
  })
  kafka.logs = logs
  return kafka
}

async function createTopic(kafka, topic, numPartitions = 1) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions }] })
  } finally {
    await admin.disconnect()
  }
}

// Produces `count` records `value-<i>` (keys `key-<i>`) to `topic`.
async function produce(kafka, topic, count, { partition } = {}) {
  const producer = kafka.producer()
  await producer.connect()
  try {
    const messages = Array.from({ length: count }, (_, i) => ({ key: `key-${i}`, value: `value-${i}`, partition }))
    await producer.send({ topic, messages })
  } finally {
    await producer.disconnect()
  }
}

// Resolves when `predicate()` is true, polling; rejects after `ms` naming `what`.
async function waitFor(predicate, what, ms = 30000) {
  const deadline = Date.now() + ms
  for (;;) {
    if (await predicate()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise(r => setTimeout(r, 50))
  }
}

module.exports = { broker, classicBroker, unique, newKafka, createTopic, produce, waitFor }
