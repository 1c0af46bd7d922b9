'use strict'
// The reference document's examples run unchanged on this package. Every JavaScript block of
// ../shared/reference/kafkajs-kip848-consumer-protocol.md is read from the document when the
// test runs (nothing is pasted here) and run verbatim in a child `node` process:
//   - `require('kafkajs')` is this package: a preload (test/support/kafkajs-preload.js) maps
//     the name to test/support/kafkajs-mapped.js, the package with the run's broker, group ids
//     and topic names made unique by a suffix (the block's text is not edited at all);
//   - a block with top-level `await` is wrapped in an async function; a block that declares a
//     name twice (the migration block shows an old and a new `const consumer`) has each of its
//     paragraphs in its own `{ }` scope;
//   - a prelude defines what the document leaves to the reader: `kafka` where the block uses
//     one it does not make, `PartitionAssigners`, `processMessage` and `processBatchMessage`
//     (which report the message they were given);
//   - blocks that only build a consumer (assignor, monitoring) are then driven by the test: the
//     consumer connects, subscribes to 'my-topic' and runs.
// The test makes the topics, produces into them, asserts what each example promises from the
// child's stdout, the group's committed offsets and the group's description, and kills the
// child. Each block must have its expectations below: a new block in the document fails here.

const { test, after } = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const vm = require('node:vm')
const oracle = require('./support/oracle')
const { broker, newKafka, createTopic, waitFor } = require('./helpers')

// The contract lives beside the repository (../shared/reference); a clone alone (CI) has the
// copy in docs/reference, which must stay identical to it wherever both exist.
const sharedPath = path.resolve(__dirname, '../../../../shared/reference/kafkajs-kip848-consumer-protocol.md')
const copyPath = path.resolve(__dirname, '../../../docs/reference/kafkajs-kip848-consumer-protocol.md')
const documentPath = fs.existsSync(sharedPath) ? sharedPath : copyPath
if (documentPath === sharedPath && fs.existsSync(copyPath) && fs.readFileSync(sharedPath, 'utf8') !== fs.readFileSync(copyPath, 'utf8')) {
  throw new Error(`docs/reference/kafkajs-kip848-consumer-protocol.md differs from ${sharedPath}: copy the reference document again`)
}
const preload = path.join(__dirname, 'support', 'kafkajs-preload.js')

// The document's JavaScript blocks, each with the heading it sits under.
function javascriptBlocks(markdown) {
  const blocks = []
  let heading = null
  let inBlock = null
  for (const line of markdown.split('\n')) {
    if (inBlock) {
      if (/^```\s*$/.test(line)) {
        blocks.push({ heading, code: inBlock.join('\n') })
        inBlock = null
      } else inBlock.push(line)
      continue
    }
    const h = /^#{1,6}\s+(.*)$/.exec(line)
    if (h) heading = h[1].trim()
    else if (/^```\s*(javascript|js)\s*$/i.test(line)) inBlock = []
  }
  return blocks
}

function syntaxError(code) {
  try {
    new vm.Script(code)
    return null
  } catch (e) {
    if (e instanceof SyntaxError) return e.message
    throw e
  }
}

const declares = (code, name) => new RegExp(`\\b(const|let|var|function|class)\\s+${name}\\b|\\{[^}]*\\b${name}\\b[^}]*\\}\\s*=`).test(code)
const uses = (code, name) => new RegExp(`\\b${name}\\b`).test(code)

// The child's script: prelude, the block verbatim (wrapped as said above), the driver.
function scriptFor(code) {
  const prelude = ["'use strict'"]
  if (uses(code, 'kafka') && !declares(code, 'kafka')) {
    prelude.push("const kafka = new (require('kafkajs').Kafka)({ clientId: 'reference-examples', brokers: ['localhost:9092'] })")
  }
  if (uses(code, 'PartitionAssigners') && !declares(code, 'PartitionAssigners')) {
    prelude.push("const { PartitionAssigners } = require('kafkajs')")
  }
  for (const fn of ['processMessage', 'processBatchMessage']) {
    if (uses(code, fn) && !declares(code, fn)) {
      prelude.push(`async function ${fn}(message) { globalThis.__kafkitExamples.processed('${fn}', message) }`)
    }
  }
  prelude.push("require('kafkajs') // installs the driver (globalThis.__kafkitExamples)")
  let body = code
  const error = syntaxError(code)
  if (error && /has already been declared/.test(error)) {
    body = code.split(/\n\s*\n/).map(p => `{\n${p}\n}`).join('\n')
  }
  let script
  if (syntaxError(body) && /await is only valid/.test(syntaxError(body))) {
    script = `${prelude.join('\n')}\n;(async () => {\n${body}\n})().then(() => globalThis.__kafkitExamples.done()).catch(e => globalThis.__kafkitExamples.failed(e))\n`
  } else {
    script = `${prelude.join('\n')}\n${body}\n;globalThis.__kafkitExamples.done().catch(e => globalThis.__kafkitExamples.failed(e))\n`
  }
  const left = syntaxError(script)
  if (left) throw new Error(`the block does not compile once wrapped: ${left}\n${script}`)
  return script
}

const children = new Set()
after(() => {
  for (const c of children) c.kill('SIGKILL')
})

// Runs a script in a child node with the mapping; its stdout is kept as lines, `@@kafkit` lines
// parsed apart.
function runChild(script, { suffix, drive = false, name }) {
  const file = path.join(os.tmpdir(), `kafkit-example-${suffix}.js`)
  fs.writeFileSync(file, script)
  const proc = spawn(process.execPath, ['-r', preload, file], {
    env: { ...process.env, KAFKIT_BOOTSTRAP: broker, KAFKIT_EXAMPLE_SUFFIX: suffix, KAFKIT_EXAMPLE_DRIVE: drive ? '1' : '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(proc)
  const child = { proc, lines: [], markers: [], stdout: '', stderr: '', exit: null }
  let partial = ''
  proc.stdout.on('data', d => {
    child.stdout += d
    partial += d
    const parts = partial.split('\n')
    partial = parts.pop()
    for (const line of parts) {
      if (line.startsWith('@@kafkit ')) child.markers.push(JSON.parse(line.slice(9)))
      else child.lines.push(line)
    }
  })
  proc.stderr.on('data', d => { child.stderr += d })
  child.exited = new Promise(resolve => proc.on('exit', (code, signal) => {
    children.delete(proc)
    child.exit = { code, signal }
    fs.rmSync(file, { force: true })
    resolve(child.exit)
  }))
  child.marker = (pred) => child.markers.find(pred)
  // Waits for `predicate`, failing at once (with the child's output) if the child dies or
  // reports an error.
  child.waitFor = async (predicate, what, ms = 30000) => {
    await waitFor(() => {
      const bad = child.markers.find(m => m.type === 'block-error' || (m.type === 'event' && m.name === 'CRASH'))
      if (bad) throw new Error(`${name}: ${JSON.stringify(bad)}\nstderr:\n${child.stderr.slice(-4000)}`)
      if (child.exit && !predicate()) {
        throw new Error(`${name}: the child exited (${JSON.stringify(child.exit)}) before ${what}\nstdout:\n${child.stdout.slice(-4000)}\nstderr:\n${child.stderr.slice(-4000)}`)
      }
      return predicate()
    }, `${name}: ${what}\nstdout:\n${child.stdout.slice(-2000)}`, ms)
  }
  child.stop = async () => {
    if (!child.exit) proc.kill('SIGKILL')
    await child.exited
    if (process.env.KAFKIT_TEST_LOG) console.error(`--- ${name}: stdout\n${child.stdout}\n--- stderr\n${child.stderr}`)
  }
  return child
}

// One producer for the whole file; committed offsets are read back with the npm KafkaJS
// admin (test/support/oracle.js), an independent reader.
const kafka = newKafka()
let producer
async function tools() {
  if (!producer) {
    producer = kafka.producer()
    await producer.connect()
  }
}
after(async () => {
  if (producer) await producer.disconnect()
  await oracle.closeOracle()
})

const committed = async (groupId, topic) => (await oracle.committed(groupId, topic))[0]

const values = child => child.lines.map(l => /^\{ value: '(.*)' \}$/.exec(l)).filter(Boolean).map(m => m[1])

// A subscription without fromBeginning starts at the end of the log, from the moment the
// consumer has its partition: probes are produced until one comes out, then the records the
// test counts. Returns the values produced after the probes.
async function produceOnceConsuming(topic, seen, n = 10) {
  for (let k = 0; ; k++) {
    await producer.send({ topic, messages: [{ value: `probe-${k}` }] })
    try {
      await waitFor(() => seen(), `a probe of ${topic} consumed`, 1000)
      break
    } catch (e) {
      if (k >= 40) throw e
    }
  }
  const records = Array.from({ length: n }, (_, i) => `record-${i}`)
  await producer.send({ topic, messages: records.map(value => ({ key: `k-${value}`, value })) })
  return records
}

const markdown = fs.readFileSync(documentPath, 'utf8')
const blocks = javascriptBlocks(markdown)
let run = 0
const suffixOf = () => `${process.pid}-${Date.now()}-${run++}`

// What each example promises, by the heading its block sits under.
const expectations = {
  async 'Basic Configuration'(code, child, s) {
    const topic = `my-topic-${s}`
    await child.waitFor(() => child.marker(m => m.type === 'block-done'), 'connect, subscribe and run returned')
    // The block's own configuration, unchanged (the mapping points it at the test broker).
    assert.deepEqual(child.marker(m => m.type === 'kafka'), { type: 'kafka', clientId: 'my-app', brokers: ['localhost:9092'] })
    const records = await produceOnceConsuming(topic, () => values(child).length > 0)
    await child.waitFor(() => values(child).filter(v => v.startsWith('record-')).length === records.length, 'every record printed')
    // Printed in the document's shape, `{ value: '...' }`, each once, in order.
    assert.deepEqual(values(child).filter(v => v.startsWith('record-')), records)
    const consumer = child.marker(m => m.type === 'consumer')
    assert.equal(consumer.options.groupProtocol, 'consumer')
    const join = child.marker(m => m.name === 'GROUP_JOIN')
    assert.equal(join.payload.groupProtocol, 'consumer')
    assert.deepEqual(join.payload.memberAssignment, { [topic]: [0] })
  },

  async 'Server-Side Assignor Configuration'(code, child, s) {
    const groupId = `my-group-${s}`
    await child.waitFor(() => child.marker(m => m.name === 'GROUP_JOIN'), 'the consumer joined')
    const admin = kafka.admin()
    await admin.connect()
    try {
      const { groups: [group] } = await admin.describeGroups([groupId])
      assert.equal(group.protocol, 'uniform', 'the broker reports the assignor the block named')
      assert.equal(group.groupProtocol, 'consumer')
      assert.equal(group.members.length, 1)
    } finally {
      await admin.disconnect()
    }
    assert.deepEqual(child.marker(m => m.type === 'consumer').options, { groupId: 'my-group', groupProtocol: 'consumer', groupRemoteAssignor: 'uniform' })
  },

  async 'Live Migration (Rolling Upgrade)'(code, child) {
    // Both configurations build a consumer; nothing connects, so the process ends by itself.
    let timer
    const exit = await Promise.race([child.exited, new Promise(r => { timer = setTimeout(r, 20000, 'still running') })])
    clearTimeout(timer)
    assert.deepEqual(exit, { code: 0, signal: null }, `the block failed:\n${child.stderr}`)
    const built = child.markers.filter(m => m.type === 'consumer')
    assert.equal(built.length, 2)
    assert.deepEqual(built[0].options, { groupId: 'my-group', sessionTimeout: 30000, heartbeatInterval: 3000, partitionAssigners: '[object]' })
    assert.deepEqual(built[1].options, { groupId: 'my-group', groupProtocol: 'consumer', groupRemoteAssignor: 'uniform', rebalanceTimeout: 60000 })
    // Neither warns: the classic one keeps its options, the KIP-848 one has none it ignores.
    assert.deepEqual(child.markers.filter(m => m.type === 'log'), [])
  },

  async 'Monitoring and Observability'(code, child, s) {
    const topic = `my-topic-${s}`
    const section = label => {
      const at = child.stdout.indexOf(label)
      if (at < 0) return null
      const end = child.stdout.indexOf('\n}', at)
      return end < 0 ? null : child.stdout.slice(at, end + 2)
    }
    await child.waitFor(() => section('Group join event:') && section('Heartbeat event:'), 'the join and a heartbeat printed')
    const join = section('Group join event:')
    assert.match(join, /memberId: '[^']+'/)
    assert.match(join, /memberEpoch: [1-9]\d*/)
    assert.match(join, /groupProtocol: 'consumer'/)
    assert.ok(join.includes(`memberAssignment: { '${topic}': [ 0 ] }`), join)
    const beat = section('Heartbeat event:')
    assert.match(beat, /memberEpoch: [1-9]\d*/)
    assert.match(beat, /groupProtocol: 'consumer'/)
  },

  async 'Consumer with Auto-Offset Management'(code, child, s) {
    const groupId = `auto-offset-group-${s}`
    await child.waitFor(() => child.marker(m => m.type === 'block-done'), 'connect, subscribe and run returned')
    const printed = t => child.lines.filter(l => l.startsWith(`Processing ${t}[0]: `)).map(l => l.slice(`Processing ${t}[0]: `.length))
    for (const name of ['orders', 'payments']) {
      const topic = `${name}-${s}`
      const records = await produceOnceConsuming(topic, () => printed(topic).length > 0)
      await child.waitFor(() => printed(topic).filter(v => v.startsWith('record-')).length === records.length, `every record of ${topic} printed`)
      assert.deepEqual(printed(topic).filter(v => v.startsWith('record-')), records)
      // autoCommit: true commits what was processed: the whole log.
      const end = String(printed(topic).length)
      let last
      await waitFor(async () => (last = await committed(groupId, topic)) === end, `${topic} committed up to ${end} (at ${last})`)
    }
  },

  async 'Consumer with Manual Offset Control'(code, child, s) {
    const groupId = `manual-offset-group-${s}`
    const topic = `critical-events-${s}`
    const processed = () => child.markers.filter(m => m.type === 'processed' && m.fn === 'processMessage')
    await child.waitFor(() => child.marker(m => m.type === 'block-done'), 'connect, subscribe and run returned')
    const records = await produceOnceConsuming(topic, () => processed().length > 0)
    await child.waitFor(() => processed().filter(m => m.value.startsWith('record-')).length === records.length, 'every record processed')
    assert.deepEqual(processed().filter(m => m.value.startsWith('record-')).map(m => m.value), records)
    // Each message's commit is its offset + 1: the commits seen follow the messages one by one,
    // and the group's committed offset ends one past the last message.
    const last = processed().at(-1).offset
    const end = String(Number(last) + 1)
    let at
    await waitFor(async () => (at = await committed(groupId, topic)) === end, `committed offset ${end}`).catch(e => { throw new Error(`${e.message} (at ${at})`) })
    await child.waitFor(() => child.markers.some(m => m.name === 'COMMIT_OFFSETS' && m.payload.topics.some(t => t.partitions.some(p => p.offset === end))), 'the last commit event')
    const commits = child.markers.filter(m => m.name === 'COMMIT_OFFSETS').flatMap(m => m.payload.topics.flatMap(t => t.partitions.map(p => Number(p.offset))))
    for (const m of processed()) assert.ok(commits.includes(Number(m.offset) + 1), `offset ${m.offset} + 1 committed (${commits})`)
    assert.equal(child.stderr.includes('Processing failed'), false)
    assert.equal(child.lines.some(l => l.includes('Processing failed')), false)
  },

  async 'Batch Processing with KIP-848'(code, child, s) {
    const groupId = `batch-processor-${s}`
    const topic = `analytics-events-${s}`
    const processed = () => child.markers.filter(m => m.type === 'processed' && m.fn === 'processBatchMessage')
    await child.waitFor(() => child.marker(m => m.type === 'block-done'), 'connect, subscribe and run returned')
    const records = await produceOnceConsuming(topic, () => processed().length > 0, 50)
    await child.waitFor(() => processed().filter(m => m.value.startsWith('record-')).length === records.length, 'every record processed')
    assert.deepEqual(processed().filter(m => m.value.startsWith('record-')).map(m => m.value), records)
    // Each message resolved: the batch's commit goes one past the last message.
    const end = String(Number(processed().at(-1).offset) + 1)
    let at
    await waitFor(async () => (at = await committed(groupId, topic)) === end, `committed offset ${end}`).catch(e => { throw new Error(`${e.message} (at ${at})`) })
    assert.equal(child.marker(m => m.type === 'consumer').options.maxBytesPerPartition, 2 * 1024 * 1024)
  },
}

// The topics each block's consumers read, made fresh (one partition: the document prints
// partition 0) before the block runs.
const topicsOf = {
  'Basic Configuration': ['my-topic'],
  'Server-Side Assignor Configuration': ['my-topic'],
  'Monitoring and Observability': ['my-topic'],
  'Consumer with Auto-Offset Management': ['orders', 'payments'],
  'Consumer with Manual Offset Control': ['critical-events'],
  'Batch Processing with KIP-848': ['analytics-events'],
  'Live Migration (Rolling Upgrade)': [],
}
const driven = new Set(['Server-Side Assignor Configuration', 'Monitoring and Observability'])

test('the reference document has the JavaScript blocks this test knows', () => {
  assert.deepEqual(blocks.map(b => b.heading), Object.keys(expectations))
})

for (const block of blocks) {
  test(`reference example "${block.heading}" runs unchanged and does what the document says`, async () => {
    const expect = expectations[block.heading]
    assert.ok(expect, `no expectations for the block under "${block.heading}"`)
    const s = suffixOf()
    await tools()
    for (const t of topicsOf[block.heading]) await createTopic(kafka, `${t}-${s}`, 1)
    const child = runChild(scriptFor(block.code), { suffix: s, drive: driven.has(block.heading), name: block.heading })
    try {
      await expect(block.code, child, s)
    } finally {
      await child.stop()
    }
  })
}
