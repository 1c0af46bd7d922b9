'use strict'
// KafkaJS's `PartitionAssigners` and `AssignerProtocol`. The assigners run in the native core;
// each export keeps KafkaJS's shape (a function of `{ cluster }` returning `{ name, version,
// assign, protocol }`) and names the native assigner it stands for.

const { KafkaJSNotImplemented } = require('./errors')

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

// The classic consumer protocol's member metadata and assignment (Kafka's ConsumerProtocol
// schemas, the format KafkaJS's AssignerProtocol reads and writes).
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

// The native assigner names of a `partitionAssigners` list; a custom assigner (one not
// exported here) cannot run in the native core and is refused with a clear error.
function nativeAssigners(list) {
  return list.map(a => {
    if (typeof a === 'function' && a.kafkitName) return a.kafkitName
    throw new KafkaJSNotImplemented(
      'custom partitionAssigners are not supported by kafkit: use PartitionAssigners.roundRobin, .range or .cooperativeSticky (or groupProtocol: \'consumer\' with a server-side groupRemoteAssignor)'
    )
  })
}

module.exports = { PartitionAssigners, AssignerProtocol: { MemberMetadata, MemberAssignment }, nativeAssigners }
