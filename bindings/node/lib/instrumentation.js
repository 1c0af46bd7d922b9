'use strict'
// KafkaJS's instrumentation events: `on(name, listener)` returning a remover, events as
// `{ id, type, timestamp, payload }`, fed by the native client's event stream.

const { KafkaJSError } = require('./errors')

let nextId = 0

class Instrumentation {
  constructor(events, logger) {
    this.events = events
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

  // Reads the native client's events until it closes. `prefix` maps a native name
  // (GROUP_JOIN, REQUEST, ...) to this client's event name; warnings go to the logger.
  // `shape(name, payload)`, when given, returns the payload in KafkaJS's form.
  pump(native, prefix, shape) {
    const loop = async () => {
      for (;;) {
        let batch
        try {
          batch = await native.nextEvents()
        } catch (_) {
          return
        }
        if (batch == null) return
        for (const { name, payload } of batch) {
          if (name === 'WARNING') {
            this.logger.warn(payload.message)
            continue
          }
          const type = prefix[name]
          if (type) this.emit(type, shape ? shape(name, payload) : payload)
        }
      }
    }
    return loop()
  }
}

module.exports = { Instrumentation }
