'use strict'
// KafkaJS's producer on kafkit's core: send / sendBatch (each topic's messages cross to the
// native core as one buffer, lib/encode.js), transactions, events.

const native = require('./native')
const { encode } = require('./encode')
const { Instrumentation } = require('./instrumentation')
const { KafkaJSError, KafkaJSNonRetriableError, KafkaJSProtocolError, call } = require('./errors')
const { Turns, disconnectClient } = require('./turns')

const events = {
  CONNECT: 'producer.connect',
  DISCONNECT: 'producer.disconnect',
  REQUEST: 'producer.network.request',
  REQUEST_TIMEOUT: 'producer.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'producer.network.request_queue_size',
}

const fromNative = {
  REQUEST: events.REQUEST,
  REQUEST_TIMEOUT: events.REQUEST_TIMEOUT,
  REQUEST_QUEUE_SIZE: events.REQUEST_QUEUE_SIZE,
}

// KafkaJS's partitioners. Both compute Java's murmur2 partition, natively; a custom
// partitioner is called here, per message, with the topic's partition metadata.
const Partitioners = {
  DefaultPartitioner: Object.assign(() => null, { kafkit: 'default' }),
  JavaCompatiblePartitioner: Object.assign(() => null, { kafkit: 'default' }),
  LegacyPartitioner: Object.assign(() => null, { kafkit: 'legacy' }),
}

// kafkit's `compressionLevels` extension (KIP-390; KafkaJS has no levels): the level per codec
// that a send's `compression` uses, with the Java client's ranges. gzip and zstd honour every
// level; lz4 takes its range but the native codec compresses at one level (LZ4's fast one).
const LEVELS = {
  gzip: { min: 1, max: 9, default: 6, extra: -1 },
  lz4: { min: 1, max: 17, default: 9 },
  zstd: { min: -131072, max: 22, default: 3 },
}

function checkLevels(levels) {
  if (levels === undefined || levels === null) return undefined
  if (typeof levels !== 'object' || Array.isArray(levels)) {
    throw new KafkaJSNonRetriableError('compressionLevels must be an object such as { gzip: 9, zstd: 10 }')
  }
  const out = {}
  for (const [codec, level] of Object.entries(levels)) {
    if (level === undefined) continue
    const range = LEVELS[codec]
    if (!range) {
      throw new KafkaJSNonRetriableError(
        `compressionLevels.${codec} is not a codec with levels: give gzip, lz4 or zstd (snappy has no levels)`
      )
    }
    if (!Number.isInteger(level) || ((level < range.min || level > range.max) && level !== range.extra)) {
      throw new KafkaJSNonRetriableError(
        `compressionLevels.${codec} ${level} is out of range: ${codec} takes ${range.min}..${range.max}` +
          `${range.extra !== undefined ? ` (or ${range.extra})` : ''}; give an integer in that range, or leave it out for the default (${range.default})`
      )
    }
    out[codec] = level
  }
  return out
}

// Kafka's rule for topic names. The broker refuses any other name at once (its metadata answer
// says INVALID_TOPIC_EXCEPTION, which KafkaJS throws); checking here gives the same error
// without waiting for metadata that never comes.
const LEGAL_TOPIC = /^[a-zA-Z0-9._-]+$/
function checkTopicName(topic) {
  if (topic.length <= 249 && topic !== '.' && topic !== '..' && LEGAL_TOPIC.test(topic)) return
  const e = new KafkaJSProtocolError({
    message: 'The request attempted to perform an operation on an invalid topic',
    type: 'INVALID_TOPIC_EXCEPTION',
    code: 17,
    retriable: false,
  })
  e.detail = `topic name ${JSON.stringify(topic)} is not valid: use at most 249 of the characters a-z, A-Z, 0-9, '.', '_' and '-' (and not '.' or '..')`
  e.topic = topic
  throw e
}

class Producer {
  constructor(kafka, {
    createPartitioner,
    retry,
    idempotent,
    transactionalId,
    transactionTimeout = 60000,
    maxInFlightRequests,
    compressionLevels,
    allowAutoTopicCreation = true,
  } = {}) {
    this._kafka = kafka
    this._log = kafka.logger().namespace('Producer')
    this.logger = () => this._log
    this.events = events
    this._instr = new Instrumentation(events, this._log, kafka._clientId)
    this._retry = { ...kafka._retry, ...retry }
    if (createPartitioner && createPartitioner.kafkit === 'legacy') {
      throw new KafkaJSNonRetriableError(
        "Partitioners.LegacyPartitioner is not supported by kafkit: use Partitioners.DefaultPartitioner (Java's murmur2, KafkaJS's default since 2.0)"
      )
    }
    // As KafkaJS: the producer's own retry option (not the client's) decides.
    if (idempotent && retry && retry.retries < 1) {
      throw new KafkaJSNonRetriableError('Idempotent producer must allow retries to protect against transient errors')
    }
    this._partitioner = createPartitioner && !createPartitioner.kafkit ? createPartitioner() : null
    if (idempotent && maxInFlightRequests > 5) {
      throw new KafkaJSNonRetriableError('an idempotent producer allows at most 5 requests in flight (maxInFlightRequests)')
    }
    // KafkaJS's `idempotent` (default false) governs the sends outside a transaction, with a
    // transactionalId too; a transaction's sends are always idempotent.
    this._idempotent = !!idempotent
    this._options = {
      idempotent: this._idempotent,
      transactionalId,
      transactionTimeout,
      maxInFlightRequests,
      compressionLevels: checkLevels(compressionLevels),
    }
    this._transactionalId = transactionalId
    this._allowAutoTopicCreation = allowAutoTopicCreation
    this._native = null
    this._turns = new Turns()
    this._transaction = null
  }

  on(eventName, listener) {
    const remove = this._instr.on(eventName, listener)
    if ((eventName === events.REQUEST || eventName === events.REQUEST_QUEUE_SIZE) && this._native) {
      this._native.wantRequests(true)
    }
    return remove
  }

  isIdempotent() {
    return !!this._idempotent
  }

  // connect and disconnect take turns and are idempotent: overlapping calls share one.
  connect() {
    return this._turns.once('connect', async () => {
      if (this._native) return
      const options = await this._kafka._clientOptions(this._retry, this._allowAutoTopicCreation)
      this._native = await call(native.NativeProducer.connect(options, this._options))
      if (this._instr.has(events.REQUEST) || this._instr.has(events.REQUEST_QUEUE_SIZE)) this._native.wantRequests(true)
      this._pump = this._instr.pump(this._native, fromNative)
      this._instr.emit(events.CONNECT, null)
    })
  }

  disconnect() {
    return disconnectClient(this, events.DISCONNECT, call)
  }

  _connected() {
    if (!this._native) throw new KafkaJSError('The producer is disconnected', { retriable: false })
    return this._native
  }

  async send({ topic, messages, acks = -1, timeout = 30000, compression = 0 } = {}) {
    return this.sendBatch({ topicMessages: [{ topic, messages }], acks, timeout, compression })
  }

  async sendBatch({ topicMessages = [], acks = -1, timeout = 30000, compression = 0 } = {}) {
    return this._sendBatch({ topicMessages, acks, timeout, compression, inTransaction: false })
  }

  // KafkaJS's checks (arguments before the connection state), then one send per topic, two
  // entries of one topic merged. With acks 0 the broker answers nothing: the result is [].
  async _sendBatch({ topicMessages, acks, timeout, compression, inTransaction }) {
    if (!Array.isArray(topicMessages)) throw new KafkaJSNonRetriableError(`Invalid topicMessages ${topicMessages}`)
    if (topicMessages.some(tm => !tm || !tm.topic)) throw new KafkaJSNonRetriableError('Invalid topic')
    if ((this._idempotent || inTransaction) && acks !== -1) {
      throw new KafkaJSNonRetriableError("Not requiring ack for all messages invalidates the idempotent producer's EoS guarantees")
    }
    for (const { topic, messages } of topicMessages) {
      if (typeof topic !== 'string') throw new KafkaJSNonRetriableError(`Invalid topic ${topic}`)
      checkTopicName(topic)
      if (!messages) throw new KafkaJSNonRetriableError(`Invalid messages array [${messages}] for topic "${topic}"`)
      const noValue = messages.find(m => !m || m.value === undefined)
      if (noValue !== undefined) {
        throw new KafkaJSNonRetriableError(`Invalid message without value for topic "${topic}": ${JSON.stringify(noValue)}`)
      }
    }
    if (this._turns.pending('disconnect')) {
      throw new KafkaJSNonRetriableError("The producer is disconnecting; therefore, it can't safely accept messages anymore")
    }
    this._connected()
    const merged = new Map()
    for (const { topic, messages } of topicMessages) merged.set(topic, (merged.get(topic) || []).concat(messages))
    const results = await Promise.all(
      [...merged].map(([topic, messages]) => this._send({ topic, messages, acks, timeout, compression, inTransaction }))
    )
    return acks === 0 ? [] : results.flat()
  }

  async _send({ topic, messages, acks, timeout, compression, inTransaction }) {
    const n = this._connected()
    if (this._partitioner) messages = await this._partition(topic, messages)
    const { data, layout, timestamps } = encode(topic, messages)
    return call(n.send(topic, data, layout, timestamps, { acks, compression, timeout, inTransaction }))
  }

  // A custom partitioner picks each message's partition from the topic's metadata.
  async _partition(topic, messages) {
    const metadata = await call(this._native.partitionMetadata(topic))
    return messages.map(message => {
      if (message.partition !== undefined && message.partition !== null) return message
      const partition = this._partitioner({ topic, partitionMetadata: metadata, message })
      return { ...message, partition }
    })
  }

  async transaction() {
    if (!this._transactionalId) {
      throw new KafkaJSNonRetriableError('Must provide transactional id for transactional producer')
    }
    if (this._transaction && this._transaction._active) {
      throw new KafkaJSNonRetriableError('There is already an ongoing transaction for this producer. Please end the transaction before beginning another.')
    }
    const n = this._connected()
    await call(n.beginTransaction())
    const producer = this
    const tx = {
      _active: true,
      isActive: () => tx._active,
      send: async ({ topic, messages, acks = -1, timeout = 30000, compression = 0 } = {}) => {
        tx._check()
        return producer._sendBatch({ topicMessages: [{ topic, messages }], acks, timeout, compression, inTransaction: true })
      },
      sendBatch: async ({ topicMessages = [], acks = -1, timeout = 30000, compression = 0 } = {}) => {
        tx._check()
        return producer._sendBatch({ topicMessages, acks, timeout, compression, inTransaction: true })
      },
      sendOffsets: async ({ consumerGroupId, topics = [] }) => {
        tx._check()
        const offsets = []
        for (const { topic, partitions } of topics) {
          for (const { partition, offset } of partitions) offsets.push({ topic, partition, offset: String(offset) })
        }
        await call(n.sendOffsets(consumerGroupId, offsets))
      },
      commit: async () => {
        tx._check()
        tx._active = false
        await call(n.commitTransaction())
      },
      abort: async () => {
        tx._check()
        tx._active = false
        await call(n.abortTransaction())
      },
      _check: () => {
        if (!tx._active) throw new KafkaJSNonRetriableError('Transaction is not active: it was committed or aborted')
      },
    }
    this._transaction = tx
    return tx
  }
}

module.exports = { Producer, Partitioners, events }
