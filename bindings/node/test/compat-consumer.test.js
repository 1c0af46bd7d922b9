'use strict'
// KafkaJS 2.2.4's consumer behaviour, case by case, through this package against the real
// broker: the lifecycle (overlapping and out-of-order connect/run/stop/disconnect), what gets
// committed when a handler throws or the consumer stops mid-batch, pause/seek timing, and the
// calls made from inside a handler. Both group protocols where the behaviour concerns both.

const { test, after } = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const path = require('node:path')
const { broker, unique, newKafka, createTopic, produce, waitFor } = require('./helpers')
const { committed, closeOracle } = require('./support/oracle')

after(closeOracle)

const protocols = ['consumer', 'classic']

// A topic of `count` records on one partition and a connected, subscribed consumer.
async function setup(options = {}, count = 5) {
  const kafka = newKafka()
  const topic = unique('compat')
  await createTopic(kafka, topic, 1)
  if (count > 0) await produce(kafka, topic, count)
  const groupId = unique('g')
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500, ...options })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  return { kafka, topic, groupId, consumer }
}

function collect(consumer, type) {
  const seen = []
  consumer.on(type, e => seen.push(e))
  return seen
}

// Runs `script` in a child Node process; resolves its exit code and output once it exits by
// itself (nothing left on the event loop), or fails naming what it printed.
async function exitsByItself(script, what) {
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', d => { out += d })
  child.stderr.on('data', d => { out += d })
  let exit = null
  child.on('exit', code => { exit = code })
  try {
    await waitFor(() => exit !== null, `${what}: the process to exit by itself\n${out}`, 60000)
    return { exit, out }
  } finally {
    child.kill('SIGKILL')
  }
}

const pkg = JSON.stringify(path.join(__dirname, '..'))

test('disconnect and concurrent calls: two overlapping disconnect() calls both resolve, DISCONNECT once', async () => {
  const { consumer } = await setup({}, 0)
  const disconnects = collect(consumer, consumer.events.DISCONNECT)
  await consumer.run({ eachMessage: async () => {} })
  await Promise.all([consumer.disconnect(), consumer.disconnect()])
  await consumer.disconnect()
  assert.equal(disconnects.length, 1)
})

test('disconnect and concurrent calls: disconnect() while run() is starting throws nothing', async () => {
  const { consumer } = await setup({}, 0)
  const run = consumer.run({ eachMessage: async () => {} })
  await consumer.disconnect()
  await run
  // The consumer can be connected and run again.
  await consumer.connect()
  await consumer.run({ eachMessage: async () => {} })
  await consumer.disconnect()
})

test('disconnect and concurrent calls: three concurrent run() calls start one run; the process exits after disconnect()', async () => {
  const kafka = newKafka()
  const topic = unique('compat-runs')
  await createTopic(kafka, topic, 1)
  const script = `
    const { Kafka, logLevel } = require(${pkg})
    const kafka = new Kafka({ brokers: [${JSON.stringify(broker)}], logLevel: logLevel.NOTHING })
    ;(async () => {
      const consumer = kafka.consumer({ groupId: ${JSON.stringify(unique('g'))}, maxWaitTimeInMs: 500 })
      let joins = 0
      consumer.on(consumer.events.GROUP_JOIN, () => { joins++ })
      await consumer.connect()
      await consumer.subscribe({ topic: ${JSON.stringify(topic)} })
      const handler = { eachMessage: async () => {} }
      await Promise.all([consumer.run(handler), consumer.run(handler), consumer.run(handler)])
      await consumer.disconnect()
      console.log('joins ' + joins)
    })().catch(e => { console.error(e); process.exitCode = 1 })
  `
  const { exit, out } = await exitsByItself(script, 'three runs then disconnect')
  assert.equal(exit, 0, out)
  assert.match(out, /joins [01]\b/)
})

test('disconnect and concurrent calls: disconnect() in every state lets the process exit', async () => {
  const kafka = newKafka()
  const topic = unique('compat-states')
  await createTopic(kafka, topic, 1)
  const script = `
    const { Kafka, logLevel } = require(${pkg})
    const kafka = new Kafka({ brokers: [${JSON.stringify(broker)}], logLevel: logLevel.NOTHING })
    const consumer = () => kafka.consumer({ groupId: ${JSON.stringify(unique('g'))}, maxWaitTimeInMs: 500 })
    ;(async () => {
      await consumer().disconnect() // never connected
      const a = consumer(); await a.connect(); await a.disconnect() // connected, never run
      const b = consumer(); await b.connect(); await b.subscribe({ topic: ${JSON.stringify(topic)} })
      b.run({ eachMessage: async () => {} }); await b.disconnect() // run starting
      const c = consumer(); await c.connect(); await c.subscribe({ topic: ${JSON.stringify(topic)} })
      await c.run({ eachMessage: async () => {} }); await c.stop(); await c.stop(); await c.disconnect() // stopped
      const d = consumer(); const connecting = d.connect(); await d.disconnect(); await connecting; await d.disconnect() // connecting
      console.log('done')
    })().catch(e => { console.error(e); process.exitCode = 1 })
  `
  const { exit, out } = await exitsByItself(script, 'disconnect in every state')
  assert.equal(exit, 0, out)
  assert.match(out, /done/)
})

for (const groupProtocol of protocols) {
  test(`eachMessage (${groupProtocol}): disconnect() while a handler runs commits that record once it finishes`, async () => {
    const { topic, groupId, consumer } = await setup({ groupProtocol }, 3)
    let release
    const gate = new Promise(r => { release = r })
    let entered
    const inHandler = new Promise(r => { entered = r })
    const seen = []
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.offset)
        if (message.offset === '1') {
          entered()
          await gate
        }
      },
    })
    await inHandler
    const disconnecting = consumer.disconnect()
    release()
    await disconnecting
    assert.deepEqual(seen, ['0', '1'])
    assert.deepEqual(await committed(groupId, topic), { 0: '2' })
  })

  test(`handler errors (${groupProtocol}): the offsets resolved before a throwing eachMessage are committed`, async () => {
    const { topic, groupId, consumer } = await setup({ groupProtocol, retry: { retries: 0 } }, 5)
    const crashes = collect(consumer, consumer.events.CRASH)
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.offset === '3') throw new Error('boom at 3')
      },
    })
    await waitFor(() => crashes.length > 0, 'the crash')
    await waitFor(async () => (await committed(groupId, topic))[0] === '3', 'offset 3 committed')
    await consumer.disconnect()
  })

  test(`stop() inside eachMessage (${groupProtocol}) ends the run after that record, commits it and emits STOP`, async () => {
    const { topic, groupId, consumer } = await setup({ groupProtocol }, 5)
    const stops = collect(consumer, consumer.events.STOP)
    const seen = []
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.offset)
        if (message.offset === '2') await consumer.stop()
      },
    })
    await waitFor(() => stops.length === 1, 'STOP')
    assert.deepEqual(seen, ['0', '1', '2'])
    assert.deepEqual(await committed(groupId, topic), { 0: '3' })
    await consumer.disconnect()
  })

  test(`disconnect() inside eachMessage (${groupProtocol}) disconnects once the handler returns, its record committed`, async () => {
    const { topic, groupId, consumer } = await setup({ groupProtocol }, 5)
    const disconnects = collect(consumer, consumer.events.DISCONNECT)
    const seen = []
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.offset)
        if (message.offset === '1') await consumer.disconnect()
      },
    })
    await waitFor(() => disconnects.length === 1, 'DISCONNECT')
    assert.deepEqual(seen, ['0', '1'])
    assert.deepEqual(await committed(groupId, topic), { 0: '2' })
    await consumer.disconnect()
  })

  test(`pause timing (${groupProtocol}): pause() inside eachMessage ends the batch after that record`, async () => {
    const { consumer } = await setup({ groupProtocol }, 5)
    const ends = collect(consumer, consumer.events.END_BATCH_PROCESS)
    const seen = []
    await consumer.run({
      eachMessage: async ({ message, pause }) => {
        seen.push(message.offset)
        if (message.offset === '1') pause()
      },
    })
    await waitFor(() => ends.length > 0, 'the end of the first batch')
    assert.deepEqual(seen, ['0', '1'])
    consumer.resume([{ topic: ends[0].payload.topic }])
    await waitFor(() => seen.length === 5, 'the rest after resume')
    assert.deepEqual(seen, ['0', '1', '2', '3', '4'])
    await consumer.disconnect()
  })

  test(`pause timing (${groupProtocol}): a handler that pauses then throws does not stall the consumer`, async () => {
    const { topic, consumer } = await setup({ groupProtocol, retry: { retries: 3, initialRetryTime: 50 } }, 3)
    const seen = []
    let failed = false
    await consumer.run({
      eachMessage: async ({ message, pause }) => {
        if (message.offset === '1' && !failed) {
          failed = true
          pause()
          throw new Error('paused, then failed')
        }
        seen.push(message.offset)
      },
    })
    await waitFor(() => failed && consumer.paused().length === 1, 'the pause')
    consumer.resume([{ topic }])
    await waitFor(() => seen.length === 3, 'every record after resume')
    assert.deepEqual(seen, ['0', '1', '2'])
    await consumer.disconnect()
  })

  test(`seek timing (${groupProtocol}): seek() right after an un-awaited run() applies once the group is joined`, async () => {
    const { topic, consumer } = await setup({ groupProtocol }, 5)
    const seen = []
    const running = consumer.run({ eachMessage: async ({ message }) => { seen.push(message.offset) } })
    consumer.seek({ topic, partition: 0, offset: '3' })
    await running
    await waitFor(() => seen.length >= 2, 'records from the seek offset')
    assert.equal(seen[0], '3')
    await consumer.disconnect()
  })
}

for (const groupProtocol of protocols) {
  test(`seek (${groupProtocol}): offset '-2' moves to the earliest offset, records from there come again`, async () => {
    const { topic, consumer } = await setup({ groupProtocol }, 5)
    const seen = []
    await consumer.run({ eachMessage: async ({ message }) => { seen.push(message.offset) } })
    await waitFor(() => seen.length >= 5, 'the 5 records')
    consumer.seek({ topic, partition: 0, offset: '-2' })
    await waitFor(() => seen.length >= 10, 'the records again from the earliest offset')
    assert.deepEqual(seen, ['0', '1', '2', '3', '4', '0', '1', '2', '3', '4'])
    await consumer.disconnect()
  })

  test(`seek (${groupProtocol}): offset '-1' moves past the last record: only records written later come`, async () => {
    const kafka = newKafka()
    const topic = unique('compat')
    await createTopic(kafka, topic, 1)
    await produce(kafka, topic, 5)
    const groupId = unique('g')
    const admin = kafka.admin()
    await admin.connect()
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '0' }] })
    await admin.disconnect()
    const consumer = kafka.consumer({ groupId, groupProtocol, maxWaitTimeInMs: 300 })
    await consumer.connect()
    await consumer.subscribe({ topic })
    const starts = collect(consumer, consumer.events.FETCH_START)
    const seen = []
    const running = consumer.run({ eachMessage: async ({ message }) => { seen.push(message.offset) } })
    consumer.seek({ topic, partition: 0, offset: '-1' })
    await running
    // The first batch (records 0-4, from the committed offset) meets the seek and is dropped;
    // the fetches after it wait for the position the seek looks up.
    await waitFor(() => starts.length >= 5, 'fetches after the seek')
    await produce(kafka, topic, 2)
    await waitFor(() => seen.length >= 2, 'the records written after the seek')
    assert.deepEqual(seen, ['5', '6'])
    await consumer.disconnect()
  })
}

test("seek: as KafkaJS, '-1' on a fromBeginning subscription goes to the earliest offset (both sentinels follow fromBeginning)", async () => {
  const { topic, consumer } = await setup({}, 3)
  const seen = []
  await consumer.run({ eachMessage: async ({ message }) => { seen.push(message.offset) } })
  await waitFor(() => seen.length >= 3, 'the 3 records')
  consumer.seek({ topic, partition: 0, offset: '-1' })
  await waitFor(() => seen.length >= 6, 'the records again from the earliest offset')
  assert.deepEqual(seen, ['0', '1', '2', '0', '1', '2'])
  await consumer.disconnect()
})

test('seek: kafkitStrictOffsets refuses -1 and -2 (the core takes offsets only)', async () => {
  const kafka = newKafka({ kafkitStrictOffsets: true })
  const topic = unique('compat')
  await createTopic(kafka, topic, 1)
  const consumer = kafka.consumer({ groupId: unique('g'), maxWaitTimeInMs: 300 })
  await consumer.connect()
  await consumer.subscribe({ topic })
  await consumer.run({ eachMessage: async () => {} })
  await waitFor(async () => (await consumer.describeGroup()).state === 'Stable', 'the group to be stable')
  assert.throws(() => consumer.seek({ topic, partition: 0, offset: '-2' }), { message: /seek offset -2 is negative/ })
  await consumer.disconnect()
})

test('pause timing: pause(), resume() and seek() before run() throw as in KafkaJS; paused() is []', async () => {
  const { topic, consumer } = await setup({}, 0)
  const notInitialized = { name: 'KafkaJSNonRetriableError', message: 'Consumer group was not initialized, consumer#run must be called first' }
  assert.throws(() => consumer.pause([{ topic }]), notInitialized)
  assert.throws(() => consumer.resume([{ topic }]), notInitialized)
  assert.throws(() => consumer.seek({ topic, partition: 0, offset: '0' }), notInitialized)
  assert.deepEqual(consumer.paused(), [])
  // Arguments are checked first.
  assert.throws(() => consumer.pause([{}]), { message: 'Invalid topic [object Object]' })
  assert.throws(() => consumer.pause([{ topic, partitions: 'x' }]), { message: /Array of valid partitions required to pause/ })
  assert.throws(() => consumer.seek({ topic, partition: 0, offset: '-5' }), { message: 'Offset must not be a negative number' })
  await consumer.disconnect()
})

test('run: a second run() while running warns and returns', async () => {
  const { kafka, consumer } = await setup({}, 0)
  await consumer.run({ eachMessage: async () => {} })
  await consumer.run({ eachMessage: async () => {} })
  assert.ok(kafka.logs.some(e => e.label === 'WARN' && /already running/.test(e.log.message)))
  await consumer.disconnect()
})

for (const groupProtocol of protocols) {
  test(`events (${groupProtocol}): COMMIT_OFFSETS carries groupId, memberId, groupGenerationId and topics; FETCH's nodeId is a string`, async () => {
    const { topic, groupId, consumer } = await setup({ groupProtocol }, 2)
    const commits = collect(consumer, consumer.events.COMMIT_OFFSETS)
    const fetches = collect(consumer, consumer.events.FETCH)
    const joins = collect(consumer, consumer.events.GROUP_JOIN)
    await consumer.run({ eachMessage: async () => {} })
    await waitFor(() => commits.length > 0 && fetches.length > 0, 'a commit and a fetch')
    const c = commits[0].payload
    assert.deepEqual(Object.keys(c).sort(), ['groupGenerationId', 'groupId', 'memberId', 'topics'])
    assert.equal(c.groupId, groupId)
    assert.equal(c.memberId, joins[0].payload.memberId)
    assert.equal(typeof c.groupGenerationId, 'number')
    assert.equal(c.topics[0].topic, topic)
    assert.equal(typeof fetches[0].payload.nodeId, 'string')
    await consumer.disconnect()
  })
}

test('partitionAssigners (classic): a custom KafkaJS assigner factory is called with { cluster } and assigns when this member leads', async () => {
  const { AssignerProtocol } = require('..')
  const kafka = newKafka()
  const topic = unique('compat-assigner')
  await createTopic(kafka, topic, 3)
  await produce(kafka, topic, 6)
  const calls = []
  // Everything to one member, as a KafkaJS user's custom assigner would write it.
  const AllToFirst = ({ cluster }) => ({
    name: 'AllToFirstAssigner',
    version: 1,
    async assign({ members, topics }) {
      const first = members.map(m => m.memberId).sort()[0]
      const assignment = {}
      for (const t of topics) assignment[t] = cluster.findTopicPartitionMetadata(t).map(p => p.partitionId)
      calls.push({ members: members.map(m => AssignerProtocol.MemberMetadata.decode(m.memberMetadata)), assignment })
      return members.map(({ memberId }) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: memberId === first ? assignment : {}, userData: Buffer.from('ud') }),
      }))
    },
    protocol({ topics }) {
      return { name: 'AllToFirstAssigner', metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.from('hello') }) }
    },
  })
  const groupId = unique('g')
  const consumer = kafka.consumer({ groupId, groupProtocol: 'classic', partitionAssigners: [AllToFirst], maxWaitTimeInMs: 500 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const seen = new Set()
  await consumer.run({ eachMessage: async ({ partition, message }) => { seen.add(`${partition}:${message.offset}`) } })
  try {
    await waitFor(() => seen.size === 6, 'every record through the custom assignment')
    assert.ok(calls.length >= 1)
    assert.deepEqual(calls[0].assignment, { [topic]: [0, 1, 2] })
    assert.deepEqual(calls[0].members[0].topics, [topic])
    assert.equal(calls[0].members[0].userData.toString(), 'hello')
    const group = await consumer.describeGroup()
    assert.equal(group.protocol, 'AllToFirstAssigner')
  } finally {
    await consumer.disconnect()
  }
})

for (const groupProtocol of protocols) {
  test(`events (${groupProtocol}): REBALANCING reaches a member when another member joins its group`, async () => {
    const kafka = newKafka()
    const topic = unique('compat-rebalance')
    await createTopic(kafka, topic, 1)
    await produce(kafka, topic, 1)
    const groupId = unique('g')
    const first = kafka.consumer({ groupId, groupProtocol, maxWaitTimeInMs: 500 })
    const rebalances = collect(first, first.events.REBALANCING)
    const seen = []
    await first.connect()
    await first.subscribe({ topic, fromBeginning: true })
    await first.run({ eachMessage: async ({ message }) => { seen.push(message.offset) } })
    const second = kafka.consumer({ groupId, groupProtocol, maxWaitTimeInMs: 500 })
    try {
      await waitFor(() => seen.length === 1, 'the first member consuming')
      assert.equal(rebalances.length, 0, 'no rebalance while alone')
      await second.connect()
      await second.subscribe({ topic, fromBeginning: true })
      await second.run({ eachMessage: async () => {} })
      await waitFor(() => rebalances.length > 0, 'REBALANCING on the first member', 60000)
      assert.equal(rebalances[0].payload.groupId, groupId)
      assert.equal(typeof rebalances[0].payload.memberId, 'string')
    } finally {
      await second.disconnect()
      await first.disconnect()
    }
  })
}

test('options: heartbeatInterval at or above sessionTimeout is refused with KafkaJS message; run() without a handler is refused', async () => {
  const kafka = newKafka()
  assert.throws(() => kafka.consumer({ groupId: 'g', sessionTimeout: 10000, heartbeatInterval: 10000 }), {
    name: 'KafkaJSNonRetriableError',
    message: 'Consumer heartbeatInterval (10000) must be lower than sessionTimeout (10000). It is recommended to set heartbeatInterval to approximately a third of the sessionTimeout.',
  })
  // kafkit's core also refuses 0 (KafkaJS would heartbeat on every heartbeat() call).
  assert.throws(() => kafka.consumer({ groupId: 'g', heartbeatInterval: 0 }), { name: 'KafkaJSNonRetriableError' })
  const consumer = kafka.consumer({ groupId: 'g' })
  await assert.rejects(consumer.run({}), { name: 'KafkaJSNonRetriableError', message: /eachMessage or eachBatch/ })
  await assert.rejects(consumer.run({ eachMessage: 'nope' }), { message: /eachMessage must be a function/ })
})

for (const groupProtocol of protocols) {
  test(`handler errors (${groupProtocol}): the offsets an eachBatch resolved before it threw are committed`, async () => {
    const { topic, groupId, consumer } = await setup({ groupProtocol, retry: { retries: 0 } }, 5)
    const crashes = collect(consumer, consumer.events.CRASH)
    await consumer.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        for (const m of batch.messages) {
          if (m.offset === '2') throw new Error('boom at 2')
          resolveOffset(m.offset)
        }
      },
    })
    await waitFor(() => crashes.length > 0, 'the crash')
    await waitFor(async () => (await committed(groupId, topic))[0] === '2', 'offset 2 committed')
    await consumer.disconnect()
  })
}
