'use strict'
// A native batch (see src/batch.rs) as KafkaJS messages: keys, values and header values are
// views of the batch's one buffer (no copy); offsets and timestamps are strings, as in KafkaJS.

function decode(packed) {
  if (!packed) return []
  return decodeWith(packed).messages
}

// The messages and their offsets as numbers (the eachMessage loop resolves with them).
function decodeWith(packed) {
  if (!packed) return { messages: [], offsets: [] }
  const { data, layout, numbers } = packed
  const n = numbers.length / 2
  const messages = new Array(n)
  let at = 0
  let s = 0
  for (let i = 0; i < n; i++) {
    const kl = layout[s++]
    const vl = layout[s++]
    const hc = layout[s++]
    let key = null
    let value = null
    if (kl >= 0) { key = data.subarray(at, at + kl); at += kl }
    if (vl >= 0) { value = data.subarray(at, at + vl); at += vl }
    const headers = {}
    for (let h = 0; h < hc; h++) {
      const hk = layout[s++]
      const hv = layout[s++]
      const name = data.toString('utf8', at, at + hk)
      at += hk
      let v = null
      if (hv >= 0) { v = data.subarray(at, at + hv); at += hv }
      // A repeated header becomes an array, as KafkaJS gives it.
      if (Object.prototype.hasOwnProperty.call(headers, name)) {
        const prev = headers[name]
        headers[name] = Array.isArray(prev) ? [...prev, v] : [prev, v]
      } else headers[name] = v
    }
    messages[i] = {
      magicByte: 2,
      attributes: 0,
      timestamp: String(numbers[2 * i + 1]),
      offset: String(numbers[2 * i]),
      key,
      value,
      headers,
      isControlRecord: false,
      batchContext: null,
      size: 0,
    }
  }
  return { messages, offsets: numbers }
}

module.exports = { decode, decodeWith }
