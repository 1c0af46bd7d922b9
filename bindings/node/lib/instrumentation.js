'use strict'
// KafkaJS's instrumentation events: `on(name, listener)` returning a remover, events as
// `{ id, type, timestamp, payload }`, fed by the native client's event stream.

const { KafkaJSError } = require('./errors')

let nextId = 0

class Instrumentation {
  constructor(events, logger, clientId) {
    this.events = events
    this.clientId = clientId
    this.names = new Set(Object.values(events))
    this.listeners = new Map()
    this.logger = logger
  }

  on(name, listener) {
    if (!this.names.has(name)) {
      throw new KafkaJSError(`Event name should be one of ${[...this.names].join(', ')}`, { retriable: false })
    }
    if (!this.listeners.has(name)) this.listeners.set(name, new Set())
    this.listeners.get(name).add(listener)
    return () => {
      const set = this.listeners.get(name)
      if (set) set.delete(listener)
    }
  }

  has(name) {
    const set = this.listeners.get(name)
    return !!set && set.size > 0
  }

  emit(name, payload) {
    const set = this.listeners.get(name)
    if (!set || set.size === 0) return
    const event = { id: nextId++, type: name, timestamp: Date.now(), payload }
    for (const listener of set) {
      Promise.resolve()
        .then(() => listener(event))
        .catch(e => this.logger.error(`Failed to execute listener: ${e.message}`, { eventName: name, stack: e.stack }))
    }
  }

  // KafkaJS's `network.request` payload, in its key order; `size` is the response's.
  request(p) {
    return {
      broker: p.broker,
      clientId: this.clientId,
      correlationId: p.correlationId,
      size: p.size,
      createdAt: p.createdAt,
      sentAt: p.sentAt,
      pendingDuration: p.pendingDuration,
      duration: p.duration,
      apiName: p.apiName,
      apiKey: p.apiKey,
      apiVersion: p.apiVersion,
    }
  }

  // Reads the native client's events until it closes. `prefix` maps a native name
  // (GROUP_JOIN, REQUEST, ...) to this client's event name; warnings go to the logger.
  // `shape(name, payload)`, when given, returns the payload in KafkaJS's form.
  // The events already received (those of connecting) are dispatched at once, so that they
  // come before the CONNECT the caller emits next, as KafkaJS's do.
  pump(native, prefix, shape) {
    this.dispatch(native.takeEvents(), prefix, shape)
    const loop = async () => {
      for (;;) {
        let batch
        try {
          batch = await native.nextEvents()
        } catch (_) {
          return
        }
        if (batch == null) return
        this.dispatch(batch, prefix, shape)
      }
    }
    return loop()
  }

  dispatch(batch, prefix, shape) {
    for (const { name, payload } of batch) {
      if (name === 'WARNING') {
        this.logger.warn(payload.message)
        continue
      }
      const type = prefix[name]
      if (!type) continue
      if (name === 'REQUEST') this.emit(type, this.request(payload))
      else if (name === 'REQUEST_QUEUE_SIZE') this.emit(type, { broker: payload.broker, clientId: this.clientId, queueSize: payload.queueSize })
      else this.emit(type, shape ? shape(name, payload) : payload)
    }
  }
}

module.exports = { Instrumentation }
