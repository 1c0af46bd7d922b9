'use strict'
// KafkaJS's admin client on kafkit's core.

const native = require('./native')
const { Instrumentation } = require('./instrumentation')
const { toKafkaJSGroup } = require('./consumer')
const { KafkaJSError, KafkaJSNonRetriableError, call } = require('./errors')

const events = {
  CONNECT: 'admin.connect',
  DISCONNECT: 'admin.disconnect',
  REQUEST: 'admin.network.request',
  REQUEST_TIMEOUT: 'admin.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'admin.network.request_queue_size',
}

const fromNative = {
  REQUEST: events.REQUEST,
  REQUEST_TIMEOUT: events.REQUEST_TIMEOUT,
  REQUEST_QUEUE_SIZE: events.REQUEST_QUEUE_SIZE,
}

class Admin {
  constructor(kafka, { retry } = {}) {
    this._kafka = kafka
    this._log = kafka.logger().namespace('Admin')
    this.logger = () => this._log
    this.events = events
    this._instr = new Instrumentation(events, this._log)
    this._retry = { ...kafka._retry, ...retry }
    this._native = null
  }

  on(eventName, listener) {
    const remove = this._instr.on(eventName, listener)
    if ((eventName === events.REQUEST || eventName === events.REQUEST_QUEUE_SIZE) && this._native) {
      this._native.wantRequests(true)
    }
    return remove
  }

  async connect() {
    if (this._native) return
    const options = await this._kafka._clientOptions(this._retry)
    this._native = await call(native.NativeAdmin.connect(options))
    if (this._instr.has(events.REQUEST)) this._native.wantRequests(true)
    this._pump = this._instr.pump(this._native, fromNative)
    this._instr.emit(events.CONNECT, null)
  }

  async disconnect() {
    if (!this._native) return
    const n = this._native
    this._native = null
    await n.disconnect()
    await this._pump
    this._instr.emit(events.DISCONNECT, null)
  }

  _n() {
    if (!this._native) throw new KafkaJSError('The admin client is not connected: call admin.connect() first', { retriable: false })
    return this._native
  }

  async createTopics({ topics, validateOnly = false, waitForLeaders = true, timeout } = {}) {
    if (!Array.isArray(topics) || topics.length === 0) {
      throw new KafkaJSNonRetriableError(`Invalid topics array ${topics}`)
    }
    if (validateOnly) throw new KafkaJSNonRetriableError('createTopics: validateOnly is not supported by kafkit')
    void waitForLeaders
    void timeout
    return call(this._n().createTopics(topics.map(t => ({
      topic: t.topic,
      numPartitions: t.numPartitions,
      replicationFactor: t.replicationFactor,
      configEntries: t.configEntries,
    }))))
  }

  async deleteTopics({ topics } = {}) {
    if (!Array.isArray(topics)) throw new KafkaJSNonRetriableError(`Invalid topics array ${topics}`)
    await call(this._n().deleteTopics(topics))
  }

  async listTopics() {
    return call(this._n().listTopics())
  }

  async fetchTopicMetadata({ topics = [] } = {}) {
    return JSON.parse(await call(this._n().fetchTopicMetadata(topics)))
  }

  async describeGroups(groupIds) {
    const { groups } = JSON.parse(await call(this._n().describeGroups(groupIds)))
    return { groups: groups.map(toKafkaJSGroup) }
  }
}

module.exports = { Admin, events }
