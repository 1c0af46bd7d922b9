'use strict'
// KafkaJS's admin client on kafkit's core.

const native = require('./native')
const { Instrumentation } = require('./instrumentation')
const { toKafkaJSGroup } = require('./consumer')
const {
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSAggregateError,
  KafkaJSCreateTopicError,
  KafkaJSDeleteGroupsError,
  KafkaJSDeleteTopicRecordsError,
  KafkaJSAlterPartitionReassignmentsError,
  call,
  fromNative,
} = require('./errors')
const { Turns, disconnectClient } = require('./turns')

const { checkAclList, checkAclFilter, checkReassignments, checkReassignmentQuery } = require('./acls')

const CONFIG_RESOURCE_TYPES = [0, 2, 4, 8]

// An error the native core put in an answer (one per topic, partition or group) as the KafkaJS
// error it stands for.
function nativeError(reason) {
  return fromNative(new Error(reason))
}

function isString(v) {
  return typeof v === 'string'
}

const events = {
  CONNECT: 'admin.connect',
  DISCONNECT: 'admin.disconnect',
  REQUEST: 'admin.network.request',
  REQUEST_TIMEOUT: 'admin.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'admin.network.request_queue_size',
}

const nativeEvents = {
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
    this._instr = new Instrumentation(events, this._log, kafka._clientId)
    this._retry = { ...kafka._retry, ...retry }
    this._native = null
    this._turns = new Turns()
  }

  on(eventName, listener) {
    const remove = this._instr.on(eventName, listener)
    if ((eventName === events.REQUEST || eventName === events.REQUEST_QUEUE_SIZE) && this._native) {
      this._native.wantRequests(true)
    }
    return remove
  }

  // connect and disconnect take turns and are idempotent: overlapping calls share one.
  connect() {
    return this._turns.once('connect', async () => {
      if (this._native) return
      const options = await this._kafka._clientOptions(this._retry)
      this._native = await call(native.NativeAdmin.connect(options))
      if (this._instr.has(events.REQUEST)) this._native.wantRequests(true)
      this._pump = this._instr.pump(this._native, nativeEvents)
      this._instr.emit(events.CONNECT, null)
    })
  }

  disconnect() {
    return disconnectClient(this, events.DISCONNECT, call)
  }

  _n() {
    if (!this._native) throw new KafkaJSError('The admin client is not connected: call admin.connect() first', { retriable: false })
    return this._native
  }

  // KafkaJS's createTopics: true when every topic was created (validateOnly: could be), false
  // when every failure is TOPIC_ALREADY_EXISTS, else a KafkaJSAggregateError of
  // KafkaJSCreateTopicError. kafkit always waits for the leaders of the new topics
  // (waitForLeaders: false waits too), within the client's requestTimeout; the broker-side
  // `timeout` is kafkit's own (30 s).
  async createTopics({ topics, validateOnly = false } = {}) {
    if (!topics || !Array.isArray(topics)) throw new KafkaJSNonRetriableError(`Invalid topics array ${topics}`)
    if (topics.some(t => !t || !isString(t.topic))) {
      throw new KafkaJSNonRetriableError('Invalid topics array, the topic names have to be a valid string')
    }
    if (new Set(topics.map(t => t.topic)).size < topics.length) {
      throw new KafkaJSNonRetriableError('Invalid topics array, it cannot have multiple entries for the same topic')
    }
    for (const { topic, configEntries } of topics) {
      if (configEntries == null) continue
      if (!Array.isArray(configEntries)) {
        throw new KafkaJSNonRetriableError(`Invalid configEntries for topic "${topic}", must be an array`)
      }
      configEntries.forEach((entry, index) => {
        if (typeof entry !== 'object' || entry === null) {
          throw new KafkaJSNonRetriableError(`Invalid configEntries for topic "${topic}". Entry ${index} must be an object`)
        }
        for (const key of ['name', 'value']) {
          if (!isString(entry[key])) {
            throw new KafkaJSNonRetriableError(
              `Invalid configEntries for topic "${topic}". Entry ${index} must have a valid "${key}" property`
            )
          }
        }
      })
    }
    if (topics.length === 0) return true
    const results = await call(
      this._n().createTopics(
        topics.map(t => ({
          topic: t.topic,
          numPartitions: t.numPartitions,
          replicationFactor: t.replicationFactor,
          configEntries: t.configEntries,
        })),
        !!validateOnly
      )
    )
    const failed = results.filter(r => r.error).map(r => ({ topic: r.topic, error: nativeError(r.error) }))
    if (failed.length === 0) return true
    // A failure that is not a topic's (connection, timeout...) is the call's failure.
    const other = failed.find(f => f.error.kind !== 'kafka')
    if (other) throw other.error
    if (failed.every(f => f.error.type === 'TOPIC_ALREADY_EXISTS')) return false
    throw new KafkaJSAggregateError(
      'Topic creation errors',
      failed.map(f => new KafkaJSCreateTopicError(f.error, f.topic))
    )
  }

  async createPartitions({ topicPartitions, validateOnly = false } = {}) {
    if (!topicPartitions || !Array.isArray(topicPartitions)) {
      throw new KafkaJSNonRetriableError(`Invalid topic partitions array ${topicPartitions}`)
    }
    if (topicPartitions.length === 0) throw new KafkaJSNonRetriableError('Empty topic partitions array')
    if (topicPartitions.some(t => !t || !isString(t.topic))) {
      throw new KafkaJSNonRetriableError('Invalid topic partitions array, the topic names have to be a valid string')
    }
    if (new Set(topicPartitions.map(t => t.topic)).size < topicPartitions.length) {
      throw new KafkaJSNonRetriableError('Invalid topic partitions array, it cannot have multiple entries for the same topic')
    }
    await call(
      this._n().createPartitions(
        topicPartitions.map(({ topic, count, assignments }) => ({ topic, count: Number(count), assignments })),
        !!validateOnly
      )
    )
  }

  async deleteTopics({ topics } = {}) {
    if (!topics || !Array.isArray(topics)) throw new KafkaJSNonRetriableError(`Invalid topics array ${topics}`)
    if (topics.some(t => !isString(t))) {
      throw new KafkaJSNonRetriableError('Invalid topics array, the names must be a valid string')
    }
    if (topics.length === 0) return
    await call(this._n().deleteTopics(topics))
  }

  async listTopics() {
    return call(this._n().listTopics())
  }

  async fetchTopicMetadata({ topics = [] } = {}) {
    for (const topic of topics || []) {
      if (!topic || !isString(topic)) throw new KafkaJSNonRetriableError(`Invalid topic ${topic}`)
    }
    return call(this._n().fetchTopicMetadata(topics || []))
  }

  // [{ partition, offset, high, low }], offsets as strings.
  async fetchTopicOffsets(topic) {
    if (!topic || !isString(topic)) throw new KafkaJSNonRetriableError(`Invalid topic ${topic}`)
    return call(this._n().fetchTopicOffsets(topic))
  }

  // [{ partition, offset }]: the first offset at or after `timestamp` (ms), else the end.
  async fetchTopicOffsetsByTimestamp(topic, timestamp) {
    if (!topic || !isString(topic)) throw new KafkaJSNonRetriableError(`Invalid topic ${topic}`)
    const ts = timestamp == null ? undefined : Number(timestamp)
    if (ts !== undefined && !(ts >= 0)) throw new KafkaJSNonRetriableError(`Invalid timestamp ${timestamp}`)
    return call(this._n().fetchTopicOffsetsByTimestamp(topic, ts))
  }

  // [{ topic, partitions: [{ partition, offset, metadata }] }]; `topics` omitted or empty: every
  // topic the group committed offsets for. resolveOffsets turns -1 (none) into the partition's
  // high watermark and -2 into its low one, and commits them (as KafkaJS does).
  async fetchOffsets({ groupId, topics, resolveOffsets = false } = {}) {
    if (!groupId) throw new KafkaJSNonRetriableError(`Invalid groupId ${groupId}`)
    if (topics == null) topics = []
    if (!Array.isArray(topics)) throw new KafkaJSNonRetriableError('Expected topics array to be set')
    let answer = await call(this._n().fetchOffsets(groupId, topics))
    if (resolveOffsets) {
      answer = await Promise.all(
        answer.map(async ({ topic, partitions }) => {
          const ends = new Map((await this.fetchTopicOffsets(topic)).map(o => [o.partition, o]))
          const resolved = partitions.map(p => {
            const o = Number(p.offset)
            const end = ends.get(p.partition)
            if (end && o === -1) return { ...p, offset: end.high }
            if (end && o === -2) return { ...p, offset: end.low }
            return p
          })
          const changed = resolved.filter((p, i) => p.offset !== partitions[i].offset)
          if (changed.length > 0) {
            await this.setOffsets({ groupId, topic, partitions: changed.map(({ partition, offset }) => ({ partition, offset })) })
          }
          return { topic, partitions: resolved }
        })
      )
    }
    return answer
  }

  async _checkNoRunningInstances(groupId) {
    const { groups } = await call(this._n().describeGroups([groupId]))
    const state = groups[0] && groups[0].state
    if (state !== 'Empty' && state !== 'Dead') {
      throw new KafkaJSNonRetriableError(`The consumer group must have no running instances, current state: ${state}`)
    }
  }

  // Commits these offsets for the group, which must have no live members. -2 (earliest) and
  // -1 (latest) are committed as they are, as KafkaJS does: every client reads them as no
  // committed offset and starts by its own fromBeginning (kafkitStrictOffsets: looked up).
  async setOffsets({ groupId, topic, partitions } = {}) {
    if (!groupId) throw new KafkaJSNonRetriableError(`Invalid groupId ${groupId}`)
    if (!topic) throw new KafkaJSNonRetriableError(`Invalid topic ${topic}`)
    if (!partitions || partitions.length === 0) throw new KafkaJSNonRetriableError('Invalid partitions')
    await this._checkNoRunningInstances(groupId)
    await call(
      this._n().setOffsets(
        groupId,
        topic,
        partitions.map(({ partition, offset }) => ({ partition: Number(partition), offset: String(offset) })),
        this._kafka._strictOffsets
      )
    )
  }

  async resetOffsets({ groupId, topic, earliest = false } = {}) {
    if (!groupId) throw new KafkaJSNonRetriableError(`Invalid groupId ${groupId}`)
    if (!topic) throw new KafkaJSNonRetriableError(`Invalid topic ${topic}`)
    await this._checkNoRunningInstances(groupId)
    await call(this._n().resetOffsets(groupId, topic, !!earliest, this._kafka._strictOffsets))
  }

  // Deletes the records before each offset ('-1': every record). Partitions that fail are
  // reported together in a KafkaJSDeleteTopicRecordsError's `partitions` ({ partition, offset,
  // error }); the others are done.
  async deleteTopicRecords({ topic, partitions } = {}) {
    if (!topic || !isString(topic)) throw new KafkaJSNonRetriableError(`Invalid topic "${topic}"`)
    if (!partitions || partitions.length === 0) throw new KafkaJSNonRetriableError('Invalid partitions')
    const results = await call(
      this._n().deleteTopicRecords(
        topic,
        partitions.map(({ partition, offset }) => ({ partition: Number(partition), offset: String(offset) }))
      )
    )
    const failed = results
      .filter(r => r.error)
      .map(({ partition, offset, error }) => ({ partition, offset, error: nativeError(error) }))
    if (failed.length > 0) {
      const e = new KafkaJSDeleteTopicRecordsError({ topic, partitions: failed })
      e.topic = topic
      throw e
    }
  }

  async listGroups() {
    return call(this._n().listGroups())
  }

  async describeGroups(groupIds) {
    if (!Array.isArray(groupIds)) throw new KafkaJSNonRetriableError(`Invalid groupIds array ${groupIds}`)
    const { groups } = await call(this._n().describeGroups(groupIds))
    return { groups: groups.map(toKafkaJSGroup) }
  }

  // [{ groupId, errorCode }]; when a group cannot be deleted (it has members, does not exist),
  // KafkaJSDeleteGroupsError with `groups`: [{ groupId, errorCode, error }] of the failed ones
  // (the others are deleted).
  async deleteGroups(groupIds) {
    if (!groupIds || !Array.isArray(groupIds)) throw new KafkaJSNonRetriableError(`Invalid groupIds array ${groupIds}`)
    const invalid = groupIds.find(g => !isString(g))
    if (invalid !== undefined) throw new KafkaJSNonRetriableError(`Invalid groupId name: ${JSON.stringify(invalid)}`)
    if (groupIds.length === 0) return []
    const results = await call(this._n().deleteGroups(groupIds))
    const failed = results
      .filter(r => r.errorCode !== 0)
      .map(({ groupId, errorCode, error }) => ({ groupId, errorCode, error: nativeError(error) }))
    if (failed.length > 0) throw new KafkaJSDeleteGroupsError('Error in DeleteGroups', failed)
    return results.map(({ groupId, errorCode }) => ({ groupId, errorCode }))
  }

  async describeCluster() {
    return call(this._n().describeCluster())
  }

  // ACLs (the brokers need an authorizer; without one they answer SECURITY_DISABLED).
  async createAcls({ acl } = {}) {
    const list = checkAclList(acl, { filter: false })
    await call(this._n().createAcls(list))
    return true
  }

  async describeAcls(filter) {
    const checked = checkAclFilter(filter)
    return call(this._n().describeAcls(checked))
  }

  async deleteAcls({ filters } = {}) {
    const list = checkAclList(filters, { filter: true })
    return call(this._n().deleteAcls(list))
  }

  // `timeout` is accepted as in KafkaJS; the broker is given the client's requestTimeout.
  async alterPartitionReassignments({ topics } = {}) {
    const list = checkReassignments(topics)
    try {
      await call(this._n().alterPartitionReassignments(list))
    } catch (e) {
      // As KafkaJS: a partition's refusal comes as an aggregate of per-partition errors.
      if (e.kind !== 'kafka') throw e
      throw new KafkaJSAggregateError('Errors altering partition reassignments', [
        new KafkaJSAlterPartitionReassignmentsError(e, e.topic, e.partition),
      ])
    }
  }

  async listPartitionReassignments({ topics = null } = {}) {
    const query = checkReassignmentQuery(topics)
    return call(this._n().listPartitionReassignments(query))
  }

  _checkResources(resources) {
    if (!resources || !Array.isArray(resources)) throw new KafkaJSNonRetriableError(`Invalid resources array ${resources}`)
    if (resources.length === 0) throw new KafkaJSNonRetriableError('Resources array cannot be empty')
    const badType = resources.find(r => !CONFIG_RESOURCE_TYPES.includes(r.type))
    if (badType) throw new KafkaJSNonRetriableError(`Invalid resource type ${badType.type}: ${JSON.stringify(badType)}`)
    const badName = resources.find(r => !r.name || !isString(r.name))
    if (badName) throw new KafkaJSNonRetriableError(`Invalid resource name ${badName.name}: ${JSON.stringify(badName)}`)
  }

  // { resources: [{ errorCode, errorMessage, resourceType, resourceName, configEntries:
  //   [{ configName, configValue, readOnly, isDefault, configSource, isSensitive,
  //   configSynonyms }] }] }
  async describeConfigs({ resources, includeSynonyms = false } = {}) {
    this._checkResources(resources)
    const badNames = resources.find(r => r.configNames != null && !Array.isArray(r.configNames))
    if (badNames) {
      throw new KafkaJSNonRetriableError(`Invalid resource configNames ${badNames.configNames}: ${JSON.stringify(badNames)}`)
    }
    return call(
      this._n().describeConfigs(
        resources.map(r => ({ resourceType: r.type, name: r.name, configNames: r.configNames || undefined })),
        !!includeSynonyms
      )
    )
  }

  // Sets each resource's configs to the entries given (Kafka's AlterConfigs, which KafkaJS
  // sends: values set on the resource that are not given go back to their defaults).
  async alterConfigs({ resources, validateOnly = false } = {}) {
    this._checkResources(resources)
    const badEntries = resources.find(r => !Array.isArray(r.configEntries))
    if (badEntries) {
      throw new KafkaJSNonRetriableError(
        `Invalid resource configEntries ${badEntries.configEntries}: ${JSON.stringify(badEntries)}`
      )
    }
    const badValue = resources.find(r => r.configEntries.some(e => !e || !isString(e.name) || !isString(e.value)))
    if (badValue) throw new KafkaJSNonRetriableError(`Invalid resource config value: ${JSON.stringify(badValue)}`)
    return call(
      this._n().alterConfigs(
        resources.map(r => ({ resourceType: r.type, name: r.name, configEntries: r.configEntries.map(({ name, value }) => ({ name, value })) })),
        !!validateOnly
      )
    )
  }
}

module.exports = { Admin, events }
