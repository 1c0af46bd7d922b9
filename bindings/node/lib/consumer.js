'use strict'
// KafkaJS's consumer on kafkit's core: options and defaults, subscribe (strings and RegExp),
// run with eachMessage / eachBatch, commitOffsets, seek, pause/resume, describeGroup, events.
// The group protocol, fetching and offsets run natively; each batch crosses to JavaScript in
// one call (src/consumer.rs), its messages decoded here (lib/decode.js).

const { AsyncLocalStorage } = require('async_hooks')
const native = require('./native')
const { decode, decodeWith } = require('./decode')
const { Instrumentation } = require('./instrumentation')
const { resolveAssigners, runAssigner, assignerUserData, PartitionAssigners, AssignerProtocol } = require('./assigners')
const { retrying, backoff } = require('./retry')
const { brokerRegex } = require('./regex')
const {
  KafkaJSError,
  KafkaJSNonRetriableError,
  call,
  callSync,
  fromNative: nativeError,
} = require('./errors')
const { Turns } = require('./turns')

// The consumer whose handler is running in this async context: stop() and disconnect() called
// from inside a handler must not wait for that handler (it would wait for itself).
const inHandler = new AsyncLocalStorage()

const NOT_INITIALIZED = 'Consumer group was not initialized, consumer#run must be called first'

const events = {
  HEARTBEAT: 'consumer.heartbeat',
  COMMIT_OFFSETS: 'consumer.commit_offsets',
  GROUP_JOIN: 'consumer.group_join',
  FETCH_START: 'consumer.fetch_start',
  FETCH: 'consumer.fetch',
  START_BATCH_PROCESS: 'consumer.start_batch_process',
  END_BATCH_PROCESS: 'consumer.end_batch_process',
  CONNECT: 'consumer.connect',
  DISCONNECT: 'consumer.disconnect',
  STOP: 'consumer.stop',
  CRASH: 'consumer.crash',
  REBALANCING: 'consumer.rebalancing',
  RECEIVED_UNSUBSCRIBED_TOPICS: 'consumer.received_unsubscribed_topics',
  REQUEST: 'consumer.network.request',
  REQUEST_TIMEOUT: 'consumer.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'consumer.network.request_queue_size',
}

const fromNative = {
  GROUP_JOIN: events.GROUP_JOIN,
  HEARTBEAT: events.HEARTBEAT,
  REBALANCING: events.REBALANCING,
  COMMIT_OFFSETS: events.COMMIT_OFFSETS,
  FETCH_START: events.FETCH_START,
  FETCH: events.FETCH,
  // Only for a batch of a transaction marker alone, which JavaScript never sees.
  START_BATCH_PROCESS: events.START_BATCH_PROCESS,
  END_BATCH_PROCESS: events.END_BATCH_PROCESS,
  REQUEST: events.REQUEST,
  REQUEST_TIMEOUT: events.REQUEST_TIMEOUT,
  REQUEST_QUEUE_SIZE: events.REQUEST_QUEUE_SIZE,
}

// Options the KIP-848 protocol configures on the broker (the reference document's
// "Deprecated Client-Side Options"), with where they live now.
const ignoredByConsumerProtocol = {
  sessionTimeout: "sessionTimeout is ignored with groupProtocol 'consumer': it is configured on the broker via group.consumer.session.timeout.ms",
  heartbeatInterval: "heartbeatInterval is ignored with groupProtocol 'consumer': it is configured on the broker via group.consumer.heartbeat.interval.ms",
  partitionAssigners: "partitionAssigners is ignored with groupProtocol 'consumer': assignment is server-side; choose it with groupRemoteAssignor ('uniform' or 'range')",
}

class Batch {
  constructor(topic, partition, highWatermark, messages) {
    this.topic = topic
    this.partition = partition
    this.highWatermark = highWatermark
    this.messages = messages
  }
  isEmpty() { return this.messages.length === 0 }
  firstOffset() { return this.isEmpty() ? null : this.messages[0].offset }
  lastOffset() {
    return this.isEmpty() ? String(BigInt(this.highWatermark) - 1n) : this.messages[this.messages.length - 1].offset
  }
  offsetLag() {
    const lag = BigInt(this.highWatermark) - 1n - BigInt(this.lastOffset())
    return String(lag < 0n ? 0n : lag)
  }
  offsetLagLow() {
    if (this.isEmpty()) return '0'
    const lag = BigInt(this.highWatermark) - 1n - BigInt(this.firstOffset())
    return String(lag < 0n ? 0n : lag)
  }
}

class Consumer {
  constructor(kafka, options = {}) {
    const {
      groupId,
      groupProtocol = 'classic',
      groupRemoteAssignor,
      partitionAssigners,
      sessionTimeout,
      rebalanceTimeout = 60000,
      heartbeatInterval,
      maxBytesPerPartition = 1048576,
      minBytes = 1,
      maxBytes = 10485760,
      maxWaitTimeInMs = 5000,
      retry = {},
      readUncommitted = false,
      rackId,
      groupInstanceId,
      allowAutoTopicCreation = true,
      fallbackToClassic,
    } = options
    if (typeof groupId !== 'string' || groupId.trim() === '') {
      throw new KafkaJSNonRetriableError('Consumer groupId must be a non-empty string.')
    }
    if (groupProtocol !== 'classic' && groupProtocol !== 'consumer') {
      throw new KafkaJSNonRetriableError("Consumer groupProtocol must be either 'classic' or 'consumer'")
    }
    this._kafka = kafka
    this.logger = () => this._log
    this._log = kafka.logger().namespace('Consumer')
    this.events = events
    this._instr = new Instrumentation(events, this._log, kafka._clientId)
    this._retry = { retries: 5, initialRetryTime: 300, maxRetryTime: 30000, factor: 0.2, multiplier: 2, ...kafka._retry, ...retry }
    this._restartOnFailure = retry.restartOnFailure || (async () => true)
    this._groupId = groupId
    const consumerProtocol = groupProtocol === 'consumer'
    if (consumerProtocol) {
      for (const [name, message] of Object.entries(ignoredByConsumerProtocol)) {
        if (options[name] !== undefined) this._log.warn(message, { groupId })
      }
    }
    // Custom assigners are KafkaJS factories, called now as KafkaJS does; the native core
    // calls their assign() when this member leads a classic group.
    this._assignCounts = {}
    const cluster = {
      findTopicPartitionMetadata: topic =>
        Array.from({ length: this._assignCounts[topic] || 0 }, (_, partitionId) => ({ partitionId, partitionErrorCode: 0, leader: -1, replicas: [], isr: [] })),
    }
    const assigners = consumerProtocol
      ? { names: undefined, custom: [] }
      : resolveAssigners(partitionAssigners || [PartitionAssigners.roundRobin], { cluster, groupId, logger: this._log })
    this._customAssigners = assigners.custom
    // Under classic, KafkaJS's defaults apply to what the broker does not configure.
    this._options = {
      groupId,
      groupProtocol,
      groupRemoteAssignor,
      rebalanceTimeout,
      sessionTimeout: consumerProtocol ? undefined : (sessionTimeout ?? 30000),
      heartbeatInterval: consumerProtocol ? undefined : (heartbeatInterval ?? 3000),
      partitionAssigners: assigners.names,
      maxBytesPerPartition,
      minBytes,
      maxBytes,
      maxWaitTimeInMs,
      rackId,
      readUncommitted,
      groupInstanceId,
      fallbackToClassic,
    }
    this._allowAutoTopicCreation = allowAutoTopicCreation
    const { heartbeatInterval: hb, sessionTimeout: st } = this._options
    if (hb !== undefined && st !== undefined && hb >= st) {
      throw new KafkaJSNonRetriableError(
        `Consumer heartbeatInterval (${hb}) must be lower than sessionTimeout (${st}). It is recommended to set heartbeatInterval to approximately a third of the sessionTimeout.`
      )
    }
    const customNames = new Set(assigners.custom.map(a => a.name))
    callSync(() => native.validateConsumer({
      ...this._options,
      partitionAssigners: this._options.partitionAssigners && this._options.partitionAssigners.filter(n => !customNames.has(n)),
    }))
    this._subscriptions = new Map()
    // RegExps the broker evaluates (groupProtocol 'consumer'): RE2/J source -> fromBeginning.
    this._patterns = new Map()
    this._patternRegExps = []
    this._paused = new Map()
    this._native = null
    this._running = false
    // Lifecycle: connect, disconnect, stop and the start of a run take turns (lib/turns.js), so
    // overlapping calls never see a half-built or half-torn-down client. _runState is
    // 'starting' from the moment run() is called (KafkaJS's consumerGroup exists from then:
    // seek and pause are accepted) and 'running' once the group is joined.
    this._turns = new Turns()
    this._runState = null
    this._pendingSeeks = new Map()
    this._restartTimer = null
    this._lastHeartbeat = 0
  }

  // Native event payloads in KafkaJS's form: node ids are strings (KafkaJS keys brokers by
  // them); COMMIT_OFFSETS names the member and the generation it committed in.
  _shapeEvent(name, payload) {
    if (!payload) return payload
    if (name === 'REBALANCING') {
      this._rebalanceEmitted = true
      return payload
    }
    if (name === 'GROUP_JOIN' || name === 'HEARTBEAT') {
      if (payload.memberId !== undefined) this._memberId = payload.memberId
      const generation = payload.groupGenerationId ?? payload.memberEpoch
      // Under KIP-848 a rebalance is a new member epoch (a member joined or left, the
      // subscription changed) even when nothing is revoked from this member; KafkaJS's users
      // watch REBALANCING for it. A revocation already reported it.
      if (name === 'HEARTBEAT' && this._options.groupProtocol === 'consumer' && this._generationId !== undefined && generation > this._generationId) {
        if (!this._rebalanceEmitted) this._instr.emit(events.REBALANCING, { groupId: this._groupId, memberId: payload.memberId })
      }
      if (generation !== undefined && generation !== this._generationId) this._rebalanceEmitted = false
      if (generation !== undefined) this._generationId = generation
      if (name === 'GROUP_JOIN') this._checkUnsubscribed(payload)
      return payload
    }
    if (name === 'START_BATCH_PROCESS') {
      const { duration, ...start } = payload
      return start
    }
    if (name === 'FETCH' || name === 'FETCH_START') {
      return payload.nodeId == null ? payload : { ...payload, nodeId: String(payload.nodeId) }
    }
    if (name === 'COMMIT_OFFSETS') {
      let memberId = this._memberId
      try {
        if (this._native) memberId = this._native.memberId() ?? memberId
      } catch (_) {}
      return { groupId: payload.groupId, memberId, groupGenerationId: this._generationId, topics: payload.topics }
    }
    return payload
  }

  // As KafkaJS: an assignment with topics this member does not subscribe to is reported (a
  // classic leader of another subscription assigned them).
  _checkUnsubscribed(join) {
    const assignedTopics = Object.keys(join.memberAssignment || {})
    const topicsSubscribed = [...this._subscriptions.keys()]
    // A topic a broker-side RegExp matched is subscribed, though not by name.
    const topicsNotSubscribed = assignedTopics.filter(t => !this._subscriptions.has(t) && !this._patternRegExps.some(re => re.test(t)))
    if (topicsNotSubscribed.length === 0) return
    const payload = { groupId: this._groupId, generationId: this._generationId, memberId: join.memberId, assignedTopics, topicsSubscribed, topicsNotSubscribed }
    this._instr.emit(events.RECEIVED_UNSUBSCRIBED_TOPICS, payload)
    this._log.warn('Consumer group received unsubscribed topics', payload)
  }

  _serial(fn) {
    return this._turns.run(fn)
  }

  _inOwnHandler() {
    return inHandler.getStore() === this
  }

  on(eventName, listener) {
    const remove = this._instr.on(eventName, listener)
    if (eventName === events.REQUEST || eventName === events.REQUEST_QUEUE_SIZE) {
      if (this._native) this._native.wantRequests(true)
    }
    return remove
  }

  async connect() {
    return this._serial(async () => {
      if (this._native) return
      const options = await this._kafka._clientOptions(this._retry, this._allowAutoTopicCreation)
      this._native = await call(native.NativeConsumer.connect(options))
      if (this._instr.has(events.REQUEST) || this._instr.has(events.REQUEST_QUEUE_SIZE)) this._native.wantRequests(true)
      this._pump = this._instr.pump(this._native, fromNative, (name, payload) => this._shapeEvent(name, payload))
      this._instr.emit(events.CONNECT, null)
    })
  }

  // Idempotent, and safe in every state: overlapping calls share one disconnect; called from
  // inside this consumer's handler it asks for the stop and returns, the disconnect finishing
  // once the handler returns (what it resolved is committed).
  disconnect() {
    if (this._inOwnHandler()) {
      this._requestStopFromHandler()
      if (!this._disconnectAfterRun) {
        const ended = this._runPromise || Promise.resolve()
        // Out of the handler's async context, or the disconnect would think it is still inside.
        this._disconnectAfterRun = ended
          .then(() => inHandler.exit(() => this.disconnect()))
          .catch(e => this._log.error(`Caught error when disconnecting the consumer: ${e.message}`, { groupId: this._groupId }))
          .finally(() => {
            this._disconnectAfterRun = null
          })
      }
      return Promise.resolve()
    }
    return this._turns.once('disconnect', async () => {
      if (!this._native) return
      await this._stopNow()
      const n = this._native
      this._native = null
      this._pendingSeeks.clear()
      try {
        await call(n.disconnect())
      } finally {
        await this._pump
        this._instr.emit(events.DISCONNECT, null)
      }
    })
  }

  async subscribe({ topic, topics, fromBeginning = false } = {}) {
    if (this._running) {
      throw new KafkaJSNonRetriableError('Cannot subscribe to topic while consumer is running')
    }
    const list = topics || (topic !== undefined ? [topic] : [])
    if (list.length === 0) {
      throw new KafkaJSNonRetriableError('Missing required argument "topics"')
    }
    for (const t of list) {
      if (t instanceof RegExp && this._options.groupProtocol === 'consumer') {
        // Sent to the broker (lib/regex.js), so topics created later join the subscription.
        this._patterns.set(brokerRegex(t), fromBeginning)
        this._patternRegExps.push(new RegExp(t.source, t.flags.replace(/[gy]/g, '')))
      } else if (t instanceof RegExp) {
        if (!this._native) throw new KafkaJSError('The consumer must be connected to subscribe to a RegExp', { retriable: false })
        // As KafkaJS: the RegExp is matched against the cluster's topics now.
        const all = await call(this._native.listTopics())
        const matched = all.filter(name => t.test(name))
        this._log.debug('Subscription based on RegExp', { pattern: t.toString(), topics: matched })
        for (const name of matched) this._subscriptions.set(name, fromBeginning)
      } else if (typeof t === 'string' && t.length > 0) {
        this._subscriptions.set(t, fromBeginning)
      } else {
        throw new KafkaJSNonRetriableError(`Invalid topic ${t} (${typeof t}), the topic name has to be a String or a RegExp`)
      }
    }
  }

  async run({
    autoCommit = true,
    autoCommitInterval = null,
    autoCommitThreshold = null,
    eachBatchAutoResolve = true,
    partitionsConsumedConcurrently = 1,
    eachBatch = null,
    eachMessage = null,
  } = {}) {
    if (this._runState) {
      this._log.warn('consumer#run was called, but the consumer is already running', { groupId: this._groupId })
      return
    }
    if (!eachBatch && !eachMessage) {
      throw new KafkaJSNonRetriableError('consumer.run needs eachMessage or eachBatch')
    }
    for (const [name, fn] of [['eachMessage', eachMessage], ['eachBatch', eachBatch]]) {
      if (fn != null && typeof fn !== 'function') {
        throw new KafkaJSNonRetriableError(`consumer.run: ${name} must be a function, got ${typeof fn}`)
      }
    }
    if (!this._native && !this._turns.pending('disconnect')) {
      throw new KafkaJSNonRetriableError('The consumer is not connected: call consumer.connect() before consumer.run()')
    }
    if (this._subscriptions.size === 0 && this._patterns.size === 0) {
      throw new KafkaJSNonRetriableError('The consumer has no subscription: call consumer.subscribe({ topics }) before consumer.run()')
    }
    this._runConfig = {
      autoCommit,
      autoCommitInterval: autoCommitInterval ?? undefined,
      // KafkaJS commits after every batch when neither interval nor threshold is set.
      autoCommitThreshold: autoCommitInterval == null && autoCommitThreshold == null ? 1 : (autoCommitThreshold ?? undefined),
      eachBatchAutoResolve: eachMessage ? false : eachBatchAutoResolve,
      partitionsConsumedConcurrently,
      eachBatch,
      eachMessage,
    }
    this._runState = 'starting'
    try {
      await this._serial(() => this._start())
    } catch (e) {
      this._runState = null
      this._pendingSeeks.clear()
      throw e
    }
  }

  // Runs under _serial: a disconnect or stop that came in first leaves nothing to start.
  async _start() {
    const n = this._native
    if (!n || !this._runState) {
      if (!n && this._runState) throw new KafkaJSNonRetriableError('The consumer is not connected: call consumer.connect() before consumer.run()')
      return
    }
    const c = this._runConfig
    const subs = [...this._subscriptions].map(([topic, fromBeginning]) => ({ topic, fromBeginning }))
    for (const [pattern, fromBeginning] of this._patterns) subs.push({ topic: pattern, fromBeginning, pattern: true })
    for (const a of this._customAssigners) {
      const userData = assignerUserData(a, subs.map(s => s.topic))
      n.addAssigner(a.name, userData, input => runAssigner(a, input, counts => { this._assignCounts = counts }))
    }
    await call(n.start({ ...this._options, autoCommit: c.autoCommit, autoCommitInterval: c.autoCommitInterval, autoCommitThreshold: c.autoCommitThreshold }, subs))
    this._running = true
    this._runState = 'running'
    this._runError = null
    for (const [topic, partitions] of this._paused) this._applyPause(topic, partitions, true)
    this._runState = 'running'
    const handler = c.eachMessage ? this._eachMessageHandler(c.eachMessage) : this._eachBatchHandler(c.eachBatch)
    const settings = {
      partitionsConsumedConcurrently: Math.max(1, partitionsOf(c.partitionsConsumedConcurrently)),
      eachBatchAutoResolve: c.eachBatchAutoResolve,
    }
    this._runPromise = n.run(settings, handler).then(
      () => this._ended(null),
      err => this._ended(this._runError || nativeError(err))
    )
  }

  async _ended(error) {
    const wasRunning = this._running
    this._running = false
    if (this._stopRequested) {
      // stop() from inside a handler: the run has now ended.
      await this._handlerStop
      this._stopRequested = false
      this._runState = null
      this._instr.emit(events.STOP, null)
      return
    }
    if (!error || error.abandoned) return
    if (!wasRunning && !this._native) return
    let restart = false
    const retriable = error.retriable || error.name === 'KafkaJSNumberOfRetriesExceeded'
    if (retriable && this._native) {
      try {
        restart = await this._restartOnFailure(error)
      } catch (e) {
        this._log.error('restartOnFailure threw', { error: e.message })
      }
    }
    this._log.error(`Crash: ${error.name}: ${error.message}`, { groupId: this._groupId, retryCount: error.retryCount, stack: error.stack })
    this._instr.emit(events.CRASH, { error, groupId: this._groupId, restart })
    if (restart) {
      const wait = backoff(this._retry, 0)
      this._log.error(`Restarting the consumer in ${wait}ms`, { groupId: this._groupId })
      this._restartTimer = setTimeout(() => {
        this._restartTimer = null
        this._serial(() => this._start()).catch(e => this._ended(e))
      }, wait)
    } else {
      this._runState = null
    }
  }

  _batchControls(nb) {
    return {
      // As KafkaJS: a heartbeat is sent only when heartbeatInterval has passed since the last.
      heartbeat: async () => {
        const now = Date.now()
        if (now - this._lastHeartbeat < (this._options.heartbeatInterval ?? 3000)) return
        this._lastHeartbeat = now
        await call(nb.heartbeat())
      },
      pause: () => {
        callSync(() => nb.pause())
        this._rememberPause(nb.topic, [nb.partition])
        return () => this.resume([{ topic: nb.topic, partitions: [nb.partition] }])
      },
    }
  }

  // A seek made before the partition was assigned, applied now that a batch of it came: the
  // batch is then stale (true returned).
  _applyPendingSeek(nb) {
    if (this._pendingSeeks.size === 0) return false
    const key = `${nb.partition}:${nb.topic}`
    const s = this._pendingSeeks.get(key)
    if (!s) return false
    this._pendingSeeks.delete(key)
    callSync(() => this._native.seek(s.topic, s.partition, s.offset, this._kafka._strictOffsets))
    return true
  }

  // The records of the batch from `offset` on come again when the partition is resumed (the
  // batch ended early for a pause).
  _rewind(nb, offset) {
    try {
      if (this._native) callSync(() => this._native.seek(nb.topic, nb.partition, String(offset), true))
    } catch (e) {
      this._log.warn(`Could not keep the rest of the batch for after the pause: ${e.message}`, { topic: nb.topic, partition: nb.partition })
    }
  }

  _isPaused(topic, partition) {
    const held = this._paused.get(topic)
    return !!held && (held.has('*') || held.has(partition))
  }

  // KafkaJS commits what the batch resolved before a failing handler's error goes on.
  async _commitResolved(nb) {
    if (!this._runConfig.autoCommit || !this._native) return
    const offset = nb.uncommittedOffset()
    if (offset == null) return
    try {
      await call(this._native.commitOffsets([{ topic: nb.topic, partition: nb.partition, offset }]))
    } catch (e) {
      this._log.error(`Could not commit the offsets resolved before the handler failed: ${e.message}`, { groupId: this._groupId })
    }
  }

  _emitBatch(name, batch, extra) {
    if (!this._instr.has(name)) return
    this._instr.emit(name, {
      topic: batch.topic,
      partition: batch.partition,
      highWatermark: batch.highWatermark,
      offsetLag: batch.offsetLag(),
      offsetLagLow: batch.offsetLagLow(),
      batchSize: batch.messages.length,
      firstOffset: batch.firstOffset(),
      lastOffset: batch.lastOffset(),
      ...extra,
    })
  }

  _eachMessageHandler(eachMessage) {
    return async nb => {
      try {
        const { topic, partition } = nb
        if (this._applyPendingSeek(nb)) return true
        const { messages, offsets } = decodeWith(nb.take())
        const batch = new Batch(topic, partition, nb.highWatermark, messages)
        const started = Date.now()
        this._emitBatch(events.START_BATCH_PROCESS, batch)
        const { heartbeat, pause } = this._batchControls(nb)
        const call1 = payload => inHandler.run(this, () => eachMessage(payload))
        // As KafkaJS's loop: the run state is checked before each record, so the record in
        // progress when stop() or disconnect() comes in is resolved (and committed); a pause
        // ends the batch after the record that asked for it.
        for (let i = 0; i < messages.length; i++) {
          if (!this._running || nb.isStale()) break
          if (this._isPaused(topic, partition)) {
            this._rewind(nb, messages[i].offset)
            break
          }
          const payload = { topic, partition, message: messages[i], heartbeat, pause }
          try {
            await call1(payload)
          } catch (e) {
            await this._commitResolved(nb)
            // A handler that paused its partition (or a stop) before throwing leaves the
            // record for later, as KafkaJS's refetch does.
            if (!this._running) break
            if (this._isPaused(topic, partition)) {
              this._rewind(nb, messages[i].offset)
              break
            }
            // Retried in place per `retry`; the record is resolved only once it is handled.
            try {
              await retrying(this._retry, () => call1(payload), this._log, e, () => !this._running || this._isPaused(topic, partition))
            } catch (err) {
              if (!err || !err.abandoned) throw err
              if (this._running) this._rewind(nb, messages[i].offset)
              break
            }
          }
          nb.advance(offsets[2 * i])
        }
        this._emitBatch(events.END_BATCH_PROCESS, batch, { duration: Date.now() - started })
        return true
      } catch (e) {
        if (e && e.abandoned) return true
        this._runError = e
        return false
      }
    }
  }

  _eachBatchHandler(eachBatch) {
    return async nb => {
      try {
        const { topic, partition } = nb
        this._applyPendingSeek(nb)
        const batch = new Batch(topic, partition, nb.highWatermark, decode(nb.take()))
        const started = Date.now()
        this._emitBatch(events.START_BATCH_PROCESS, batch)
        const { heartbeat, pause } = this._batchControls(nb)
        const payload = {
          batch,
          resolveOffset: offset => callSync(() => nb.resolveOffset(Number(offset))),
          heartbeat,
          pause,
          commitOffsetsIfNecessary: async offsets => {
            if (offsets) return this.commitOffsets(flatten(offsets))
            return call(nb.commitOffsetsIfNecessary())
          },
          uncommittedOffsets: () => {
            const offset = nb.uncommittedOffset()
            return { topics: offset == null ? [] : [{ topic, partitions: [{ partition, offset }] }] }
          },
          isRunning: () => this._running && nb.isRunning(),
          isStale: () => nb.isStale(),
        }
        const once = () => inHandler.run(this, () => eachBatch(payload))
        try {
          await once()
        } catch (e) {
          // As KafkaJS: what the batch resolved is committed before the error goes on.
          await this._commitResolved(nb)
          await retrying(this._retry, once, this._log, e, () => !this._running)
        }
        this._emitBatch(events.END_BATCH_PROCESS, batch, { duration: Date.now() - started })
        return true
      } catch (e) {
        this._runError = e
        return false
      }
    }
  }

  // Idempotent; overlapping calls share one stop. From inside this consumer's handler it asks
  // for the stop and returns at once: the run ends when the handler returns.
  stop() {
    if (this._inOwnHandler()) {
      this._requestStopFromHandler()
      return Promise.resolve()
    }
    if (!this._stopping) {
      this._stopping = this._serial(() => this._stopNow()).finally(() => {
        this._stopping = null
      })
    }
    return this._stopping
  }

  _requestStopFromHandler() {
    if (!this._running || this._stopRequested) return
    this._running = false
    this._stopRequested = true
    // Not awaited: the core's stop waits for the handler that is calling it. The run's end
    // waits for it (STOP comes once the offsets are committed and the group left).
    this._handlerStop = call(this._native.stop()).catch(e =>
      this._log.error(`Caught error when stopping the consumer: ${e.message}`, { groupId: this._groupId })
    )
  }

  // Under _serial. The handler in progress finishes (and its offsets are committed) first.
  async _stopNow() {
    if (this._restartTimer) {
      clearTimeout(this._restartTimer)
      this._restartTimer = null
    }
    const hadRun = this._runState !== null && !this._stopRequested
    this._runState = null
    this._running = false
    this._pendingSeeks.clear()
    this._paused.clear()
    if (!this._native) return
    await call(this._native.stop())
    const run = this._runPromise
    this._runPromise = null
    if (run) await run
    if (hadRun) this._instr.emit(events.STOP, null)
    this._stopRequested = false
  }

  async commitOffsets(topicPartitions = []) {
    const offsets = topicPartitions.map(({ topic, partition, offset }) => ({ topic, partition, offset: String(offset) }))
    await call(this._connected().commitOffsets(offsets))
  }

  // As KafkaJS: accepted from the moment run() is called (not awaited, as KafkaJS's docs show);
  // a seek made while the group is still being joined applies once it is joined.
  seek({ topic, partition, offset } = {}) {
    if (!topic) throw new KafkaJSNonRetriableError(`Invalid topic ${topic}`)
    if (Number.isNaN(Number(partition))) throw new KafkaJSNonRetriableError(`Invalid partition, expected a number received ${partition}`)
    let o
    try {
      o = BigInt(offset)
    } catch (_) {
      throw new KafkaJSNonRetriableError(`Invalid offset, expected a long received ${offset}`)
    }
    if (o < 0n && o !== -1n && o !== -2n) throw new KafkaJSNonRetriableError('Offset must not be a negative number')
    if (!this._runState) throw new KafkaJSNonRetriableError(NOT_INITIALIZED)
    // As KafkaJS: -1 and -2 both mean "no offset", resolved as the topic's subscription says
    // (fromBeginning: the earliest offset, else the latest). kafkitStrictOffsets refuses them.
    if (o < 0n && !this._kafka._strictOffsets) o = this._fromBeginning(topic) ? -2n : -1n
    const s = { topic, partition: Number(partition), offset: String(o) }
    // Before the group is joined the partition is not assigned yet: the seek waits for the
    // partition's first batch.
    if (this._runState === 'starting' || !this._native) this._pendingSeeks.set(`${s.partition}:${s.topic}`, s)
    else callSync(() => this._native.seek(s.topic, s.partition, s.offset, this._kafka._strictOffsets))
  }

  // The fromBeginning of the subscription that holds `topic` (by name, or by a RegExp the
  // broker evaluates).
  _fromBeginning(topic) {
    if (this._subscriptions.has(topic)) return this._subscriptions.get(topic)
    const i = this._patternRegExps.findIndex(re => re.test(topic))
    return i >= 0 ? [...this._patterns.values()][i] : false
  }

  pause(topicPartitions = []) {
    checkTopicPartitions(topicPartitions, 'pause')
    if (!this._runState) throw new KafkaJSNonRetriableError(NOT_INITIALIZED)
    for (const { topic, partitions } of topicPartitions) {
      this._rememberPause(topic, partitions)
      if (this._running) this._applyPause(topic, partitions, true)
    }
  }

  resume(topicPartitions = []) {
    checkTopicPartitions(topicPartitions, 'resume')
    if (!this._runState) throw new KafkaJSNonRetriableError(NOT_INITIALIZED)
    for (const { topic, partitions } of topicPartitions) {
      const held = this._paused.get(topic)
      if (!held) continue
      if (partitions) {
        for (const p of partitions) held.delete(p)
        if (held.size === 0 || held.has('*')) this._paused.delete(topic)
      } else this._paused.delete(topic)
      if (this._running) this._applyPause(topic, partitions, false)
    }
  }

  paused() {
    if (!this._runState) return []
    return [...this._paused].map(([topic, set]) => ({
      topic,
      partitions: set.has('*') ? this._native.partitionsOf(topic) : [...set],
    }))
  }

  _rememberPause(topic, partitions) {
    if (!this._paused.has(topic)) this._paused.set(topic, new Set())
    const set = this._paused.get(topic)
    if (!partitions) set.add('*')
    else for (const p of partitions) set.add(p)
  }

  _applyPause(topic, partitions, on) {
    let list = partitions
    if (!list || (list instanceof Set && list.has('*'))) list = this._native.partitionsOf(topic)
    const tps = [...list].map(partition => ({ topic, partition }))
    if (tps.length === 0) return
    callSync(() => (on ? this._native.pause(tps) : this._native.resume(tps)))
  }

  async describeGroup() {
    const { groups } = await call(this._connected().describeGroup(this._groupId))
    return toKafkaJSGroup(groups[0])
  }

  _connected() {
    if (!this._native) {
      throw new KafkaJSNonRetriableError('The consumer is not connected: call consumer.connect() first')
    }
    return this._native
  }
}

// KafkaJS's checks of pause() and resume() arguments, made before the state is looked at.
function checkTopicPartitions(list, verb) {
  for (const tp of list) {
    if (!tp || !tp.topic) {
      throw new KafkaJSNonRetriableError(`Invalid topic ${(tp && tp.topic) || tp}`)
    }
    if (tp.partitions !== undefined && (!Array.isArray(tp.partitions) || tp.partitions.some(p => Number.isNaN(Number(p))))) {
      throw new KafkaJSNonRetriableError(`Array of valid partitions required to ${verb} specific partitions instead of ${tp.partitions}`)
    }
  }
}

function partitionsOf(n) {
  const v = Number(n)
  return Number.isFinite(v) ? Math.floor(v) : 1
}

function flatten({ topics = [] } = {}) {
  const out = []
  for (const { topic, partitions } of topics) for (const { partition, offset } of partitions) out.push({ topic, partition, offset })
  return out
}

// A described group in KafkaJS's shape: member assignments as the classic protocol's
// MemberAssignment buffer, as KafkaJS gives them.
// KafkaJS's keys, plus kafkit's KIP-848 ones (groupProtocol, groupEpoch, memberEpoch, rackId,
// groupInstanceId) only where the broker gave a value.
function dropUnset(o) {
  for (const k of ['groupProtocol', 'groupEpoch', 'memberEpoch', 'rackId', 'groupInstanceId']) {
    if (o[k] === undefined || o[k] === null) delete o[k]
  }
  return o
}

function toKafkaJSGroup(g) {
  if (!g) return g
  return dropUnset({
    errorCode: g.errorCode,
    groupId: g.groupId,
    state: g.state,
    protocolType: g.protocolType,
    protocol: g.protocol,
    groupProtocol: g.groupProtocol,
    groupEpoch: g.groupEpoch,
    members: g.members.map(m => {
      const assignment = {}
      for (const { topic, partition } of m.assignment) (assignment[topic] = assignment[topic] || []).push(partition)
      return dropUnset({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rackId: m.rackId,
        memberEpoch: m.memberEpoch,
        memberMetadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics: m.subscribedTopics }),
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment }),
      })
    }),
  })
}

module.exports = { Consumer, Batch, events, toKafkaJSGroup }
