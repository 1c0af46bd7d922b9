'use strict'
// A JavaScript RegExp as the regular expression a KIP-848 broker evaluates (RE2/J syntax,
// matched against each whole topic name), so that topics created later join the subscription.
//
// The rule: what a RegExp `re` subscribes to is what `re.test(topic)` accepts. `test` searches
// (it matches anywhere in the name) while the broker matches the whole name, so the expression
// is wrapped in `.*` where it is not anchored. Flags: none, or `i` (sent as `(?i)`). Refused,
// with an error naming the construct: any other flag, lookahead and lookbehind, backreferences,
// octal and control escapes, an empty class `[]`, repetition counts above 1000 (RE2's limit).
// Constructs written differently in RE2 are rewritten: named groups become non-capturing,
// `\uXXXX` becomes `\x{XXXX}`, `[^]` becomes `(?s:.)`, JavaScript's identity escapes of letters
// (`\e` is `e`) become the letter.

const { KafkaJSNonRetriableError } = require('./errors')

const ASCII_PUNCT = /[!-/:-@[-`{-~]/
const HEX = /^[0-9a-fA-F]+$/

function fail(re, why) {
  throw new KafkaJSNonRetriableError(
    `The RegExp ${re} cannot be sent to the broker (with groupProtocol 'consumer' a RegExp subscription is evaluated by the broker, in RE2/J syntax): it has ${why}. ` +
      'Rewrite it without that, or subscribe to the topics it matches now: topics: (await admin.listTopics()).filter(t => re.test(t))'
  )
}

// `\` escape at src[i] (outside or inside a class): [RE2 text, characters consumed].
function escape(re, src, i, inClass) {
  const d = src[i + 1]
  if (d === undefined) fail(re, 'a trailing backslash')
  if (d >= '1' && d <= '9') fail(re, `a backreference or octal escape (\\${d})`)
  if (d === '0') {
    if (src[i + 2] >= '0' && src[i + 2] <= '9') fail(re, 'an octal escape (\\0n)')
    return ['\\x00', 2]
  }
  if (d === 'k' && src[i + 2] === '<') fail(re, 'a named backreference (\\k<name>)')
  if (d === 'c') fail(re, 'a control escape (\\c)')
  if (d === 'u') {
    const hex = src.slice(i + 2, i + 6)
    return hex.length === 4 && HEX.test(hex) ? [`\\x{${hex}}`, 6] : ['u', 2]
  }
  if (d === 'x') {
    const hex = src.slice(i + 2, i + 4)
    return hex.length === 2 && HEX.test(hex) ? [`\\x${hex}`, 4] : ['x', 2]
  }
  if ('dDwWsSnrtfv'.includes(d)) return [`\\${d}`, 2]
  if (d === 'b') return [inClass ? '\\x08' : '\\b', 2]
  if (d === 'B') return [inClass ? 'B' : '\\B', 2]
  // Any other letter escapes to itself in JavaScript; in RE2 it may mean something (\z, \Q, \p).
  if (/[A-Za-z]/.test(d)) return [d, 2]
  if (ASCII_PUNCT.test(d)) return [`\\${d}`, 2]
  return [d, 2]
}

// The RE2/J expression that matches a whole topic name exactly when `re.test(name)` would.
function brokerRegex(re) {
  for (const f of re.flags) {
    if (f !== 'i') fail(re, `the flag '${f}' (only 'i' has an RE2/J equivalent)`)
  }
  const src = re.source
  let out = ''
  let inClass = false
  let depth = 0
  let topAlternation = false
  let i = 0
  while (i < src.length) {
    const c = src[i]
    if (c === '\\') {
      const [text, n] = escape(re, src, i, inClass)
      out += text
      i += n
      continue
    }
    if (inClass) {
      if (c === ']') inClass = false
      // RE2 reads `[:alpha:]` inside a class as a POSIX class; JavaScript reads a '['.
      out += c === '[' ? '\\[' : c
      i++
      continue
    }
    if (c === '[') {
      if (src.startsWith('[^]', i)) {
        out += '(?s:.)'
        i += 3
        continue
      }
      if (src.startsWith('[]', i)) fail(re, 'an empty class ([], which matches nothing)')
      inClass = true
      out += '['
      i++
      if (src[i] === '^') {
        out += '^'
        i++
      }
      continue
    }
    if (c === '(') {
      if (src.startsWith('(?=', i) || src.startsWith('(?!', i)) fail(re, 'a lookahead (?= or (?!')
      if (src.startsWith('(?<=', i) || src.startsWith('(?<!', i)) fail(re, 'a lookbehind (?<= or (?<!')
      depth++
      if (src.startsWith('(?<', i)) {
        // A named group: the name does not change what matches.
        const end = src.indexOf('>', i)
        out += '(?:'
        i = end + 1
        continue
      }
      out += '('
      i++
      continue
    }
    if (c === ')') depth--
    if (c === '|' && depth === 0) topAlternation = true
    if (c === '{') {
      const m = /^\{(\d+)(?:,(\d*))?\}/.exec(src.slice(i))
      if (m && (Number(m[1]) > 1000 || (m[2] && Number(m[2]) > 1000))) fail(re, `a repetition count above 1000 (${m[0]})`)
    }
    out += c
    i++
  }
  const flags = re.flags.includes('i') ? '(?i)' : ''
  if (topAlternation) return `${flags}.*(?:${out}).*`
  const start = src.startsWith('^') ? '' : '.*'
  const end = endsWithAnchor(src) || (out.endsWith('.*') && !out.endsWith('\\.*')) ? '' : '.*'
  return `${flags}${start}${out}${end}`
}

// Whether the source ends with a `$` that is an anchor (not escaped).
function endsWithAnchor(src) {
  if (!src.endsWith('$')) return false
  let slashes = 0
  for (let i = src.length - 2; i >= 0 && src[i] === '\\'; i--) slashes++
  return slashes % 2 === 0
}

module.exports = { brokerRegex }
