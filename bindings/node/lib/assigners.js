'use strict'
// KafkaJS's `PartitionAssigners` and `AssignerProtocol`. The assigners run in the native core;
// each export keeps KafkaJS's shape (a function of `{ cluster }` returning `{ name, version,
// assign, protocol }`) and names the native assigner it stands for.

const { KafkaJSNotImplemented, KafkaJSNonRetriableError } = require('./errors')

function assigner(name, native) {
  const make = () => ({
    name,
    version: 0,
    async assign() {
      throw new KafkaJSNotImplemented(`${name} runs in kafkit's native core`)
    },
    protocol({ topics }) {
      return { name, metadata: MemberMetadata.encode({ version: 0, topics }) }
    },
  })
  make.kafkitName = native
  return make
}

// KafkaJS's AssignerProtocol: the member metadata and assignment buffers KafkaJS's assigner API
// hands to and takes from a custom assigner. This is KafkaJS's own variant of Kafka's
// ConsumerProtocol format, not the wire's: it writes the version 0 layout under whatever version
// the caller names and reads only the version 0 fields, where the core's codec
// (kafkit's groups/wire.rs, the Java format) writes version 3 and refuses a buffer whose layout
// does not match its version. So it stays here, for KafkaJS's API only; what goes to the broker
// is always encoded by the core.
function writeString(parts, s) {
  const b = Buffer.from(s)
  const len = Buffer.alloc(2)
  len.writeInt16BE(b.length)
  parts.push(len, b)
}

function writeBytes(parts, b) {
  const len = Buffer.alloc(4)
  if (b === null || b === undefined) {
    len.writeInt32BE(-1)
    parts.push(len)
    return
  }
  len.writeInt32BE(b.length)
  parts.push(len, b)
}

function int16(v) {
  const b = Buffer.alloc(2)
  b.writeInt16BE(v)
  return b
}

function int32(v) {
  const b = Buffer.alloc(4)
  b.writeInt32BE(v)
  return b
}

class Reader {
  constructor(buf) {
    this.buf = buf
    this.at = 0
  }
  need(n) {
    if (this.at + n > this.buf.length) throw new RangeError('AssignerProtocol: the buffer ends early')
  }
  int16() { this.need(2); const v = this.buf.readInt16BE(this.at); this.at += 2; return v }
  int32() { this.need(4); const v = this.buf.readInt32BE(this.at); this.at += 4; return v }
  string() { const n = this.int16(); if (n < 0) return null; this.need(n); const s = this.buf.toString('utf8', this.at, this.at + n); this.at += n; return s }
  bytes() { const n = this.int32(); if (n < 0) return null; this.need(n); const b = this.buf.subarray(this.at, this.at + n); this.at += n; return b }
  count() { const n = this.int32(); if (n < 0 || n > this.buf.length) throw new RangeError('AssignerProtocol: bad array length'); return n }
}

const MemberMetadata = {
  encode({ version = 0, topics = [], userData = Buffer.alloc(0) }) {
    const parts = [int16(version), int32(topics.length)]
    for (const t of topics) writeString(parts, t)
    writeBytes(parts, userData)
    return Buffer.concat(parts)
  },
  decode(buffer) {
    if (!buffer || buffer.length === 0) return null
    const r = new Reader(buffer)
    const version = r.int16()
    const topics = []
    for (let n = r.count(); n > 0; n--) topics.push(r.string())
    const userData = r.at < buffer.length ? r.bytes() : Buffer.alloc(0)
    return { version, topics, userData: userData || Buffer.alloc(0) }
  },
}

const MemberAssignment = {
  encode({ version = 0, assignment = {}, userData = Buffer.alloc(0) }) {
    const topics = Object.keys(assignment)
    const parts = [int16(version), int32(topics.length)]
    for (const t of topics) {
      writeString(parts, t)
      parts.push(int32(assignment[t].length))
      for (const p of assignment[t]) parts.push(int32(p))
    }
    writeBytes(parts, userData)
    return Buffer.concat(parts)
  },
  decode(buffer) {
    if (!buffer || buffer.length === 0) return null
    const r = new Reader(buffer)
    const version = r.int16()
    const assignment = {}
    for (let n = r.count(); n > 0; n--) {
      const topic = r.string()
      const partitions = []
      for (let m = r.count(); m > 0; m--) partitions.push(r.int32())
      assignment[topic] = partitions
    }
    const userData = r.at < buffer.length ? r.bytes() : Buffer.alloc(0)
    return { version, assignment, userData: userData || Buffer.alloc(0) }
  },
}

const PartitionAssigners = {
  // KafkaJS's protocol name, so classic groups mix members of both packages.
  roundRobin: assigner('RoundRobinAssigner', 'RoundRobinAssigner'),
  range: assigner('RangeAssigner', 'range'),
  cooperativeSticky: assigner('CooperativeStickyAssigner', 'cooperative-sticky'),
}

// A `partitionAssigners` list as native assigner names plus the custom (JavaScript) assigners
// it holds: each custom factory is called as KafkaJS calls it, with `{ cluster, groupId,
// logger }`, and must give `{ name, version, protocol, assign }`. `cluster` answers
// `findTopicPartitionMetadata(topic)` from the partition counts of the assignment in progress.
function resolveAssigners(list, { cluster, groupId, logger }) {
  const custom = []
  const names = list.map(factory => {
    if (typeof factory === 'function' && factory.kafkitName) return factory.kafkitName
    if (typeof factory !== 'function') {
      throw new KafkaJSNonRetriableError(`partitionAssigners must be functions ({ cluster }) => assigner, got ${typeof factory}`)
    }
    const a = factory({ cluster, groupId, logger })
    if (!a || typeof a.name !== 'string' || a.name === '' || typeof a.assign !== 'function' || typeof a.protocol !== 'function') {
      throw new KafkaJSNonRetriableError('a partition assigner must have a name (string), an assign function and a protocol function')
    }
    custom.push(a)
    return a.name
  })
  return { names, custom }
}

// Runs a custom assigner for the native core: `input` is `{ members: [{ memberId, topics,
// userData (Buffer or null) }], partitions: { topic: count } }`; the answer is `[{ memberId,
// partitions: [{ topic, partition }], userData (Buffer or null) }]`.
async function runAssigner(assigner, input, setCounts) {
  const { members, partitions } = input
  setCounts(partitions)
  const kafkajsMembers = members.map(m => ({
    memberId: m.memberId,
    memberMetadata: MemberMetadata.encode({
      version: assigner.version || 0,
      topics: m.topics,
      userData: m.userData || Buffer.alloc(0),
    }),
  }))
  const result = await assigner.assign({ members: kafkajsMembers, topics: Object.keys(partitions) })
  if (!Array.isArray(result)) throw new Error(`assigner ${assigner.name}: assign must resolve an array of { memberId, memberAssignment }`)
  return result.map(({ memberId, memberAssignment }) => {
    if (typeof memberId !== 'string') throw new Error(`assigner ${assigner.name}: a memberId is missing`)
    const d = MemberAssignment.decode(memberAssignment)
    const assignment = (d && d.assignment) || {}
    return {
      memberId,
      partitions: Object.entries(assignment).flatMap(([topic, ps]) => ps.map(partition => ({ topic, partition }))),
      userData: d && d.userData && d.userData.length > 0 ? Buffer.from(d.userData) : null,
    }
  })
}

// The userData a custom assigner puts in this member's subscription (its protocol()'s
// metadata), or null.
function assignerUserData(assigner, topics) {
  const { metadata } = assigner.protocol({ topics }) || {}
  const decoded = metadata ? MemberMetadata.decode(metadata) : null
  return decoded && decoded.userData && decoded.userData.length > 0 ? Buffer.from(decoded.userData) : null
}

module.exports = { PartitionAssigners, AssignerProtocol: { MemberMetadata, MemberAssignment }, resolveAssigners, runAssigner, assignerUserData }
