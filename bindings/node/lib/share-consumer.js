'use strict'
// kafka.shareConsumer(): a member of a share group (KIP-932, Apache Kafka 4.2+), in the shapes
// of KafkaJS's consumer: connect, subscribe, run({ eachMessage | eachBatch }), stop,
// disconnect, events. Each message carries its delivery count and is acknowledged: accepted
// (done), released (delivered again, to any member) or rejected (never again).
// Acknowledgements decided in JavaScript cross to the native side in one call per batch
// (src/share.rs), or at once when commit() is called.

const native = require('./native')
const { decodeWith } = require('./decode')
const { Instrumentation } = require('./instrumentation')
const { KafkaJSNonRetriableError, call: callNative, fromNative: fromNativeError } = require('./errors')

// The share consumer is kafkit's own API: its errors keep kafkit's text (see errors.js).
const call = promise => callNative(promise, true)
const fromNative = err => fromNativeError(err, true)

const events = {
  CONNECT: 'share_consumer.connect',
  DISCONNECT: 'share_consumer.disconnect',
  STOP: 'share_consumer.stop',
  CRASH: 'share_consumer.crash',
  COMMIT: 'share_consumer.commit',
  FETCH_START: 'share_consumer.fetch_start',
  FETCH: 'share_consumer.fetch',
  START_BATCH_PROCESS: 'share_consumer.start_batch_process',
  END_BATCH_PROCESS: 'share_consumer.end_batch_process',
  REQUEST: 'share_consumer.network.request',
  REQUEST_TIMEOUT: 'share_consumer.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'share_consumer.network.request_queue_size',
}

const fromNativeEvents = {
  FETCH_START: events.FETCH_START,
  FETCH: events.FETCH,
  REQUEST: events.REQUEST,
  REQUEST_TIMEOUT: events.REQUEST_TIMEOUT,
  REQUEST_QUEUE_SIZE: events.REQUEST_QUEUE_SIZE,
}

// What `acknowledge(type)` takes; the codes are the wire's (src/share.rs).
const AcknowledgeTypes = Object.freeze({ ACCEPT: 'accept', RELEASE: 'release', REJECT: 'reject' })
const codes = { accept: 1, release: 2, reject: 3 }
const names = { 1: 'accept', 2: 'release', 3: 'reject' }

class ShareBatch {
  constructor(topic, partition, messages) {
    this.topic = topic
    this.partition = partition
    this.messages = messages
  }
  isEmpty() { return this.messages.length === 0 }
  firstOffset() { return this.isEmpty() ? null : this.messages[0].offset }
  lastOffset() { return this.isEmpty() ? null : this.messages[this.messages.length - 1].offset }
}

// One batch while its handler runs: what was decided, and what is still to send.
class Settlement {
  constructor(nb, batch, offsets) {
    this.nb = nb
    this.batch = batch
    this.offsets = offsets
    this.decided = new Uint8Array(batch.messages.length)
    this.index = new Map(batch.messages.map((m, i) => [m.offset, i]))
    this.toSend = { offsets: [], types: [] }
    this.open = true
  }

  indexOf(message, what) {
    const offset = message && typeof message === 'object' ? message.offset : message
    const i = this.index.get(offset === undefined || offset === null ? offset : String(offset))
    if (i === undefined) {
      throw new KafkaJSNonRetriableError(`${what}: give a message of this batch (${this.batch.topic}-${this.batch.partition}), got offset ${offset}`)
    }
    return i
  }

  check(i, what) {
    if (!this.open) {
      throw new KafkaJSNonRetriableError(
        `${what}: the handler of message ${this.batch.messages[i].offset} (${this.batch.topic}-${this.batch.partition}) already returned, and its records were decided then; acknowledge while the handler runs`
      )
    }
    if (this.decided[i]) {
      throw new KafkaJSNonRetriableError(
        `${what}: message ${this.batch.messages[i].offset} of ${this.batch.topic}-${this.batch.partition} was already acknowledged (${names[this.decided[i]]}); a record is acknowledged once`
      )
    }
  }

  acknowledge(i, type) {
    const code = codes[type]
    if (!code) {
      throw new KafkaJSNonRetriableError(`acknowledge: the type must be 'accept', 'release' or 'reject' (AcknowledgeTypes), got ${type}`)
    }
    this.check(i, 'acknowledge')
    this.decide(i, code)
  }

  decide(i, code) {
    this.decided[i] = code
    this.toSend.offsets.push(this.offsets[2 * i])
    this.toSend.types.push(code)
  }

  undecided() {
    let n = 0
    for (const d of this.decided) if (!d) n++
    return n
  }

  async flush() {
    const { offsets, types } = this.toSend
    if (offsets.length === 0) return
    this.toSend = { offsets: [], types: [] }
    await call(this.nb.settle(offsets, types))
  }
}

class ShareConsumer {
  constructor(kafka, options = {}) {
    const {
      groupId,
      acknowledgementMode = 'implicit',
      maxRecords,
      acquireMode,
      maxWaitTimeInMs,
      minBytes,
      maxBytes,
      rackId,
    } = options
    if (typeof groupId !== 'string' || groupId.trim() === '') {
      throw new KafkaJSNonRetriableError('ShareConsumer groupId must be a non-empty string.')
    }
    if (acknowledgementMode !== 'implicit' && acknowledgementMode !== 'explicit') {
      throw new KafkaJSNonRetriableError(`ShareConsumer acknowledgementMode must be either 'implicit' or 'explicit', got ${acknowledgementMode}`)
    }
    if (acquireMode !== undefined && acquireMode !== 'batch_optimized' && acquireMode !== 'record_limit') {
      throw new KafkaJSNonRetriableError(`ShareConsumer acquireMode must be either 'batch_optimized' or 'record_limit', got ${acquireMode}`)
    }
    for (const [name, v, min] of [['maxRecords', maxRecords, 1], ['maxBytes', maxBytes, 1], ['minBytes', minBytes, 0], ['maxWaitTimeInMs', maxWaitTimeInMs, 0]]) {
      if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= 2147483647)) {
        throw new KafkaJSNonRetriableError(`ShareConsumer ${name} must be an integer of at least ${min}, got ${v}`)
      }
    }
    this._kafka = kafka
    this._log = kafka.logger().namespace('ShareConsumer')
    this.logger = () => this._log
    this.events = events
    this._instr = new Instrumentation(events, this._log, kafka._clientId)
    this._groupId = groupId
    this._explicit = acknowledgementMode === 'explicit'
    this._options = { groupId, acknowledgementMode, maxRecords, acquireMode, maxWaitTimeInMs, minBytes, maxBytes, rackId }
    this._topics = new Set()
    this._fromBeginning = false
    this._native = null
    this._running = false
    this._current = new Set()
  }

  on(eventName, listener) {
    const remove = this._instr.on(eventName, listener)
    if ((eventName === events.REQUEST || eventName === events.REQUEST_QUEUE_SIZE) && this._native) this._native.wantRequests(true)
    return remove
  }

  async connect() {
    if (this._native) return
    const options = await this._kafka._clientOptions()
    this._native = await call(native.NativeShareConsumer.connect(options))
    if (this._instr.has(events.REQUEST) || this._instr.has(events.REQUEST_QUEUE_SIZE)) this._native.wantRequests(true)
    this._pump = this._instr.pump(this._native, fromNativeEvents)
    this._instr.emit(events.CONNECT, null)
  }

  async disconnect() {
    if (!this._native) return
    await this.stop()
    const n = this._native
    this._native = null
    await call(n.disconnect())
    await this._pump
    this._instr.emit(events.DISCONNECT, null)
  }

  // Topic names (RegExps are matched against the cluster's topics now, as KafkaJS's consumer
  // does). A share group has one start position for all its members, its group config
  // share.auto.offset.reset ('latest' unless set): fromBeginning: true sets it to 'earliest'
  // when run() joins; false leaves it as it is.
  async subscribe({ topic, topics, fromBeginning = false } = {}) {
    if (this._running) {
      throw new KafkaJSNonRetriableError('Cannot subscribe to topic while the share consumer is running')
    }
    const list = topics || (topic !== undefined ? [topic] : [])
    if (list.length === 0) {
      throw new KafkaJSNonRetriableError('Missing required argument "topics"')
    }
    for (const t of list) {
      if (t instanceof RegExp) {
        if (!this._native) throw new KafkaJSNonRetriableError('The share consumer must be connected to subscribe to a RegExp')
        const all = await call(this._native.listTopics())
        const matched = all.filter(name => t.test(name))
        this._log.debug('Subscription based on RegExp', { pattern: t.toString(), topics: matched })
        for (const name of matched) this._topics.add(name)
      } else if (typeof t === 'string' && t.length > 0) {
        this._topics.add(t)
      } else {
        throw new KafkaJSNonRetriableError(`Invalid topic ${t} (${typeof t}), the topic name has to be a String or a RegExp`)
      }
    }
    if (fromBeginning) this._fromBeginning = true
  }

  async run({ eachMessage = null, eachBatch = null } = {}) {
    if (!this._native) {
      throw new KafkaJSNonRetriableError('The share consumer is not connected: call shareConsumer.connect() before shareConsumer.run()')
    }
    if (this._running) {
      this._log.warn('shareConsumer#run was called, but the share consumer is already running', { groupId: this._groupId })
      return
    }
    if (!eachBatch && !eachMessage) {
      throw new KafkaJSNonRetriableError('shareConsumer.run needs eachMessage or eachBatch')
    }
    if (this._topics.size === 0) {
      throw new KafkaJSNonRetriableError('The share consumer has no subscription: call shareConsumer.subscribe({ topics }) before shareConsumer.run()')
    }
    await call(this._native.start(this._options, [...this._topics], this._fromBeginning))
    this._running = true
    const handler = eachMessage ? this._eachMessageHandler(eachMessage) : this._eachBatchHandler(eachBatch)
    this._runPromise = this._native.run(handler).then(
      () => this._ended(null),
      err => this._ended(fromNative(err))
    )
  }

  _ended(error) {
    const wasRunning = this._running
    this._running = false
    if (!error || !wasRunning) return
    this._log.error(`Crash: ${error.name}: ${error.message}`, { groupId: this._groupId, stack: error.stack })
    this._instr.emit(events.CRASH, { error, groupId: this._groupId, restart: false })
  }

  _open(nb) {
    const { topic, partition } = nb
    const { messages, offsets } = decodeWith(nb.take())
    const counts = nb.deliveryCounts()
    for (let i = 0; i < messages.length; i++) messages[i].deliveryCount = counts[i]
    const s = new Settlement(nb, new ShareBatch(topic, partition, messages), offsets)
    this._current.add(s)
    return s
  }

  _emitBatch(name, batch, extra) {
    if (!this._instr.has(name)) return
    this._instr.emit(name, {
      topic: batch.topic,
      partition: batch.partition,
      batchSize: batch.messages.length,
      firstOffset: batch.firstOffset(),
      lastOffset: batch.lastOffset(),
      ...extra,
    })
  }

  // Sends what the handler decided; the answer to the native side decides the rest: true
  // accepts them, false releases them.
  async _close(s, rest) {
    s.open = false
    this._current.delete(s)
    const open = s.undecided()
    if (open > 0 && rest === codes.release && this._explicit && this._running) {
      this._log.warn(
        `explicit acknowledgement: ${open} message(s) of ${s.batch.topic}-${s.batch.partition} were not acknowledged and go back to the share group; call acknowledge(type) for each message`,
        { groupId: this._groupId }
      )
    }
    try {
      await s.flush()
    } catch (e) {
      if (this._running) this._log.error(`acknowledgements could not be sent: ${e.message}; their records are delivered again`, { groupId: this._groupId })
      return false
    }
    return rest === codes.accept
  }

  _eachMessageHandler(eachMessage) {
    return async nb => {
      const s = this._open(nb)
      const { topic, partition, messages } = s.batch
      const started = Date.now()
      this._emitBatch(events.START_BATCH_PROCESS, s.batch)
      let i = 0
      for (; i < messages.length && this._running; i++) {
        const message = messages[i]
        const at = i
        const payload = {
          topic,
          partition,
          message,
          deliveryCount: message.deliveryCount,
          acknowledge: type => s.acknowledge(at, type),
          renew: () => this._renew(s, at),
          heartbeat: async () => {},
        }
        try {
          await eachMessage(payload)
          // Implicit: a handled message counts as accepted (with the batch's answer).
        } catch (e) {
          if (!s.decided[at]) s.decide(at, codes.release)
          this._log.error(`eachMessage threw on ${topic}-${partition} offset ${message.offset}; the message goes back to the share group (delivery ${message.deliveryCount}): ${e && e.message}`, {
            groupId: this._groupId,
            stack: e && e.stack,
          })
        }
      }
      // Messages not handled (the consumer stopped) go back.
      for (let j = i; j < messages.length; j++) if (!s.decided[j]) s.decide(j, codes.release)
      this._emitBatch(events.END_BATCH_PROCESS, s.batch, { duration: Date.now() - started })
      return this._close(s, this._explicit ? codes.release : codes.accept)
    }
  }

  _eachBatchHandler(eachBatch) {
    return async nb => {
      const s = this._open(nb)
      const started = Date.now()
      this._emitBatch(events.START_BATCH_PROCESS, s.batch)
      const payload = {
        batch: s.batch,
        acknowledge: (message, type) => s.acknowledge(s.indexOf(message, 'acknowledge'), type),
        renew: message => this._renew(s, s.indexOf(message, 'renew')),
        commit: () => this.commit(),
        heartbeat: async () => {},
        isRunning: () => this._running,
        isStale: () => false,
      }
      let rest = this._explicit ? codes.release : codes.accept
      try {
        await eachBatch(payload)
      } catch (e) {
        rest = codes.release
        this._log.error(`eachBatch threw on ${s.batch.topic}-${s.batch.partition}; its ${s.undecided()} unacknowledged message(s) go back to the share group: ${e && e.message}`, {
          groupId: this._groupId,
          stack: e && e.stack,
        })
      }
      this._emitBatch(events.END_BATCH_PROCESS, s.batch, { duration: Date.now() - started })
      return this._close(s, rest)
    }
  }

  async _renew(s, i) {
    s.check(i, 'renew')
    await call(s.nb.renew(s.offsets[2 * i]))
  }

  // Sends every acknowledgement decided so far and resolves each partition's outcome:
  // [{ topic, partition, error }] with error null, or the KafkaJS error the broker's refusal
  // maps to (INVALID_RECORD_STATE: the record's lock ran out and it was delivered again).
  async commit() {
    const n = this._connected()
    for (const s of this._current) await s.flush()
    const outcome = await call(n.commit())
    const partitions = outcome.map(({ topic, partition, error }) => ({
      topic,
      partition,
      error: error ? fromNative(new Error(error)) : null,
    }))
    this._instr.emit(events.COMMIT, { groupId: this._groupId, partitions })
    return partitions
  }

  // The partitions the broker assigned to this member ({ topic: [partitions] }); others may
  // read the same ones.
  async assignment() {
    const out = {}
    for (const { topic, partition } of await call(this._connected().assignment())) {
      ;(out[topic] = out[topic] || []).push(partition)
    }
    return out
  }

  memberId() {
    return (this._native && this._native.memberId()) || null
  }

  async stop() {
    if (!this._native) return
    const wasRunning = this._running
    this._running = false
    await call(this._native.stop())
    // From inside a handler the run ends once that handler returns: not awaited here.
    if (this._runPromise && this._current.size === 0) await this._runPromise
    this._runPromise = null
    if (wasRunning) this._instr.emit(events.STOP, null)
  }

  _connected() {
    if (!this._native) {
      throw new KafkaJSNonRetriableError('The share consumer is not connected: call shareConsumer.connect() first')
    }
    return this._native
  }
}

module.exports = { ShareConsumer, AcknowledgeTypes, events }
