'use strict'
// What `require('kafkajs')` gives a block of the reference document in
// test/reference-examples.test.js: this package (`require('../..')`), with the run's names:
//   - the brokers are the test broker (KAFKIT_BOOTSTRAP), whatever the block wrote;
//   - group ids and topic names get the run's suffix (KAFKIT_EXAMPLE_SUFFIX), so each run has
//     fresh groups and topics although the block's text names fixed ones;
//   - log entries go to stderr (stdout is the example's own output), and what the block builds
//     and what its consumers do is reported on stdout as `@@kafkit <json>` lines.
// Nothing else is changed: the consumers are the package's own, options as the block gave them.

const pkg = require('../..')

const broker = process.env.KAFKIT_BOOTSTRAP || '127.0.0.1:9092'
const suffix = process.env.KAFKIT_EXAMPLE_SUFFIX || ''
const rename = name => (suffix && typeof name === 'string' ? `${name}-${suffix}` : name)

function report(o) {
  process.stdout.write(`@@kafkit ${JSON.stringify(o)}\n`)
}

const logCreator = () => ({ namespace, label, log }) => {
  process.stderr.write(`${JSON.stringify({ namespace, level: label, ...log })}\n`)
  if (label === 'WARN' || label === 'ERROR') report({ type: 'log', level: label, namespace, message: log.message })
}

const consumers = []

class Kafka extends pkg.Kafka {
  constructor(config = {}) {
    report({ type: 'kafka', clientId: config.clientId, brokers: config.brokers })
    super({ ...config, brokers: [broker], logCreator })
  }

  consumer(options = {}) {
    const groupId = rename(options.groupId)
    const consumer = super.consumer({ ...options, groupId })
    const entry = { consumer, ran: false }
    consumers.push(entry)
    const shown = {}
    for (const [k, v] of Object.entries(options)) shown[k] = typeof v === 'function' || (Array.isArray(v) && typeof v[0] === 'function') ? `[${typeof v}]` : v
    report({ type: 'consumer', groupId, options: shown })
    const subscribe = consumer.subscribe.bind(consumer)
    consumer.subscribe = ({ topic, topics, ...rest } = {}) =>
      subscribe({ ...rest, topic: rename(topic), topics: topics && topics.map(rename) })
    const run = consumer.run.bind(consumer)
    consumer.run = (...args) => {
      entry.ran = true
      return run(...args)
    }
    const e = consumer.events
    consumer.on(e.GROUP_JOIN, ({ payload }) => report({ type: 'event', name: 'GROUP_JOIN', groupId, payload }))
    consumer.on(e.COMMIT_OFFSETS, ({ payload }) => report({ type: 'event', name: 'COMMIT_OFFSETS', groupId, payload }))
    consumer.on(e.CRASH, ({ payload }) => report({ type: 'event', name: 'CRASH', groupId, error: String(payload.error && payload.error.message) }))
    return consumer
  }
}

// The test's driver, after the block: a block that only builds a consumer (the assignor and
// monitoring examples) has it joined by connecting, subscribing to 'my-topic' and running.
globalThis.__kafkitExamples = {
  processed(fn, message) {
    report({ type: 'processed', fn, offset: message.offset, value: message.value && message.value.toString() })
  },
  async done() {
    report({ type: 'block-done' })
    if (process.env.KAFKIT_EXAMPLE_DRIVE !== '1') return
    for (const entry of consumers) {
      if (entry.ran) continue
      await entry.consumer.connect()
      await entry.consumer.subscribe({ topic: 'my-topic' })
      await entry.consumer.run({ eachMessage: async () => {} })
    }
    report({ type: 'driven' })
  },
  failed(e) {
    report({ type: 'block-error', message: String(e && e.message), stack: String(e && e.stack) })
    process.exit(1)
  },
}

module.exports = { ...pkg, Kafka }
