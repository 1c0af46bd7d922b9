'use strict'
// A `messages` array packed for the native producer in one pass over the data: one buffer
// with every key, value and header (in that order, message after message), an Int32Array
// layout `[partition, keyLen, valueLen, headerCount, (headerKeyLen, headerValueLen)*]` per
// message (-1: none/null) and the timestamps (-1: none). Read by src/producer.rs.

const { KafkaJSNonRetriableError } = require('./errors')

function size(v) {
  if (v === null || v === undefined) return -1
  if (typeof v === 'string') return Buffer.byteLength(v)
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return v.length
  return Buffer.byteLength(String(v))
}

function put(buf, at, v, n) {
  if (n <= 0) return at
  if (typeof v === 'string') buf.write(v, at, n, 'utf8')
  else if (Buffer.isBuffer(v) || v instanceof Uint8Array) buf.set(v, at)
  else buf.write(String(v), at, n, 'utf8')
  return at + n
}

// Headers as [key, value] pairs; an array value is a repeated header (as in KafkaJS).
function headerPairs(headers) {
  const out = []
  if (!headers) return out
  for (const key of Object.keys(headers)) {
    const v = headers[key]
    if (Array.isArray(v)) for (const x of v) out.push([key, x])
    else out.push([key, v])
  }
  return out
}

function encode(topic, messages) {
  if (!Array.isArray(messages)) {
    throw new KafkaJSNonRetriableError(`Invalid messages array [${messages}] for topic "${topic}"`)
  }
  const n = messages.length
  let total = 0
  let slots = 4 * n
  const pairs = new Array(n)
  for (let i = 0; i < n; i++) {
    const m = messages[i]
    if (m === null || typeof m !== 'object') {
      throw new KafkaJSNonRetriableError(`Invalid message without value for topic "${topic}": ${JSON.stringify(m)}`)
    }
    if (m.value === undefined) {
      throw new KafkaJSNonRetriableError(`Invalid message without value for topic "${topic}": ${JSON.stringify(m)}`)
    }
    total += Math.max(0, size(m.key)) + Math.max(0, size(m.value))
    const hs = m.headers ? headerPairs(m.headers) : null
    pairs[i] = hs
    if (hs) {
      slots += 2 * hs.length
      for (const [k, v] of hs) total += Buffer.byteLength(k) + Math.max(0, size(v))
    }
  }
  const data = Buffer.allocUnsafe(total)
  const layout = new Int32Array(slots)
  const timestamps = new Float64Array(n)
  let at = 0
  let s = 0
  for (let i = 0; i < n; i++) {
    const m = messages[i]
    const kl = size(m.key)
    const vl = size(m.value)
    const hs = pairs[i]
    layout[s++] = m.partition === undefined || m.partition === null ? -1 : m.partition
    layout[s++] = kl
    layout[s++] = vl
    layout[s++] = hs ? hs.length : 0
    at = put(data, at, m.key, kl)
    at = put(data, at, m.value, vl)
    if (hs) {
      for (const [k, v] of hs) {
        const hk = Buffer.byteLength(k)
        const hv = size(v)
        layout[s++] = hk
        layout[s++] = hv
        at = put(data, at, k, hk)
        at = put(data, at, v, hv)
      }
    }
    const ts = m.timestamp === undefined || m.timestamp === null ? -1 : Number(m.timestamp)
    timestamps[i] = Number.isFinite(ts) ? ts : -1
  }
  return { data, layout, timestamps }
}

module.exports = { encode }
