'use strict'
// The consumer contract of the reference document (../shared/reference/
// kafkajs-kip848-consumer-protocol.md) through this package's KafkaJS API, against the real
// broker, under both group protocols where the statement concerns both.

const { test, after } = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const path = require('node:path')
const { KafkaJSNonRetriableError, AssignerProtocol } = require('..')
const { broker, unique, newKafka, createTopic, produce, waitFor } = require('./helpers')
const { committed, closeOracle } = require('./support/oracle')

after(closeOracle)

const protocols = ['consumer', 'classic']

// Every event of `consumer` (its `events`) but the per-request ones, in order.
function recordEvents(consumer) {
  const seen = []
  const e = consumer.events
  for (const type of Object.values(e)) {
    if (![e.REQUEST, e.REQUEST_QUEUE_SIZE, e.REQUEST_TIMEOUT].includes(type)) consumer.on(type, ev => { seen.push(ev) })
  }
  seen.of = type => seen.filter(e => e.type === type)
  return seen
}

// A consumer subscribed (fromBeginning) and running. Fetches wait 500 ms at most, not KafkaJS's
// 5 s (stop() waits for the fetch in flight, as KafkaJS's does).
async function running(kafka, options, { topic, fromBeginning = true, ...run }) {
  const consumer = kafka.consumer({ maxWaitTimeInMs: 500, ...options })
  const events = recordEvents(consumer)
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning })
  await consumer.run(run)
  return { consumer, events }
}

const warnings = kafka => kafka.logs.filter(e => e.label === 'WARN').map(e => e.log.message)

async function describe(kafka, groupId) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const { groups: [group] } = await admin.describeGroups([groupId])
    return group
  } finally {
    await admin.disconnect()
  }
}

test("groupProtocol defaults to 'classic'", async () => {
  const kafka = newKafka()
  const topic = unique('default-protocol')
  await createTopic(kafka, topic, 2)
  await produce(kafka, topic, 4)
  const groupId = unique('g')
  const seen = []
  const { consumer, events } = await running(kafka, { groupId }, { topic, eachMessage: async ({ message }) => { seen.push(message) } })
  try {
    await waitFor(() => seen.length === 4, 'the 4 records')
    const [join] = events.of(consumer.events.GROUP_JOIN)
    assert.equal(join.payload.groupProtocol, 'classic')
    const group = await consumer.describeGroup()
    assert.equal(group.groupProtocol, 'classic')
    assert.equal(group.protocol, 'RoundRobinAssigner', "KafkaJS's default assigner, PartitionAssigners.roundRobin, under KafkaJS's protocol name")
    assert.deepEqual(warnings(kafka), [])
  } finally {
    await consumer.disconnect()
  }
})

test("a bad groupProtocol throws KafkaJSNonRetriableError \"Consumer groupProtocol must be either 'classic' or 'consumer'\"", () => {
  const kafka = newKafka()
  for (const groupProtocol of ['eager', 'Consumer', 'CLASSIC', '', 848, null]) {
    assert.throws(() => kafka.consumer({ groupId: unique('g'), groupProtocol }), e => {
      assert.ok(e instanceof KafkaJSNonRetriableError, `${groupProtocol}: ${e}`)
      assert.equal(e.name, 'KafkaJSNonRetriableError')
      assert.equal(e.retriable, false)
      assert.equal(e.message, "Consumer groupProtocol must be either 'classic' or 'consumer'")
      return true
    })
  }
  for (const groupProtocol of ['classic', 'consumer', undefined]) kafka.consumer({ groupId: unique('g'), groupProtocol })
})

test("with groupProtocol 'consumer', sessionTimeout, heartbeatInterval and partitionAssigners each warn, naming where they live now", () => {
  const { PartitionAssigners } = require('..')
  const kafka = newKafka()
  kafka.consumer({ groupId: unique('g'), groupProtocol: 'consumer', sessionTimeout: 30000 })
  kafka.consumer({ groupId: unique('g'), groupProtocol: 'consumer', heartbeatInterval: 3000 })
  kafka.consumer({ groupId: unique('g'), groupProtocol: 'consumer', partitionAssigners: [PartitionAssigners.roundRobin] })
  const w = warnings(kafka)
  assert.equal(w.length, 3, w.join('\n'))
  assert.match(w[0], /sessionTimeout.*group\.consumer\.session\.timeout\.ms/)
  assert.match(w[1], /heartbeatInterval.*group\.consumer\.heartbeat\.interval\.ms/)
  assert.match(w[2], /partitionAssigners.*groupRemoteAssignor/)
  // Under classic they are the client's settings: no warning.
  kafka.consumer({ groupId: unique('g'), sessionTimeout: 30000, heartbeatInterval: 3000, partitionAssigners: [PartitionAssigners.roundRobin] })
  kafka.consumer({ groupId: unique('g'), groupProtocol: 'consumer', rebalanceTimeout: 60000, groupRemoteAssignor: 'range' })
  assert.equal(warnings(kafka).length, 3)
})

test("groupRemoteAssignor is the server-side assignor the broker reports ('uniform' when unset), and the retained options are accepted", async () => {
  const kafka = newKafka()
  const topic = unique('assignor')
  await createTopic(kafka, topic, 3)
  await produce(kafka, topic, 9)
  for (const groupRemoteAssignor of ['range', 'uniform', undefined]) {
    const groupId = unique('g')
    const seen = []
    const { consumer } = await running(kafka, {
      groupId,
      groupProtocol: 'consumer',
      groupRemoteAssignor,
      rebalanceTimeout: 45000,
      maxBytesPerPartition: 64 * 1024,
      minBytes: 1,
      maxBytes: 1024 * 1024,
      maxWaitTimeInMs: 200,
      rackId: 'rack-a',
    }, { topic, eachMessage: async ({ message }) => { seen.push(message) } })
    try {
      await waitFor(() => seen.length === 9, `the 9 records with ${groupRemoteAssignor}`)
      const group = await consumer.describeGroup()
      assert.equal(group.protocol, groupRemoteAssignor || 'uniform')
      assert.equal(group.groupProtocol, 'consumer')
      assert.equal(group.members.length, 1)
      assert.equal(group.members[0].rackId, 'rack-a')
      assert.deepEqual(AssignerProtocol.MemberAssignment.decode(group.members[0].memberAssignment).assignment, { [topic]: [0, 1, 2] })
    } finally {
      await consumer.disconnect()
    }
  }
  assert.deepEqual(warnings(kafka), [])
})

// Who has which partition of `topic`, from the broker.
async function assignments(kafka, groupId, topic) {
  const group = await describe(kafka, groupId)
  const out = {}
  for (const m of group.members) out[m.memberId] = (AssignerProtocol.MemberAssignment.decode(m.memberAssignment).assignment[topic] || []).sort((a, b) => a - b)
  return out
}

test('KIP-848: two members split the partitions; a third joining takes some while the others keep theirs and keep consuming (incremental)', async () => {
  const kafka = newKafka()
  const topic = unique('incremental')
  await createTopic(kafka, topic, 6)
  const groupId = unique('g')
  const producer = kafka.producer()
  await producer.connect()
  let producing = true
  let sent = 0
  const pump = (async () => {
    while (producing) {
      await producer.send({ topic, messages: Array.from({ length: 6 }, (_, p) => ({ partition: p, value: `r-${sent++}` })) })
      await new Promise(r => setTimeout(r, 20))
    }
  })()
  const consumed = new Map() // value -> [member name]
  const log = [] // { name, partition, at }
  const member = async name => {
    const m = await running(kafka, { groupId, groupProtocol: 'consumer' }, {
      topic,
      eachMessage: async ({ partition, message }) => {
        const v = message.value.toString()
        consumed.set(v, [...(consumed.get(v) || []), name])
        log.push({ name, partition, at: Date.now() })
      },
    })
    m.name = name
    // The partitions it gave up since `t`, as its HEARTBEAT events report them.
    m.revoked = (t = 0) => m.events.of(m.consumer.events.HEARTBEAT).filter(e => e.timestamp >= t).flatMap(e => e.payload.revokedPartitions[topic] || [])
    return m
  }
  const members = []
  try {
    members.push(await member('a'), await member('b'))
    const [a, b] = members
    let before
    await waitFor(async () => {
      before = await assignments(kafka, groupId, topic)
      const lists = Object.values(before)
      return lists.length === 2 && lists.every(l => l.length === 3)
    }, 'a and b with 3 partitions each')
    const owned = m => before[m.consumer._native.memberId()]
    assert.deepEqual([...owned(a), ...owned(b)].sort(), [0, 1, 2, 3, 4, 5])
    await waitFor(() => log.some(l => l.name === 'a') && log.some(l => l.name === 'b'), 'a and b consuming')

    const cJoined = Date.now()
    members.push(await member('c'))
    const c = members[2]
    let now
    await waitFor(async () => {
      now = await assignments(kafka, groupId, topic)
      const lists = Object.values(now)
      return lists.length === 3 && lists.every(l => l.length === 2)
    }, 'a, b and c with 2 partitions each')
    const cParts = now[c.consumer._native.memberId()]
    for (const m of [a, b]) {
      const kept = now[m.consumer._native.memberId()]
      // Incremental: a member gives up only what moves to c, and keeps consuming the rest.
      assert.ok(kept.every(p => owned(m).includes(p)), `${m.name} kept ${kept} of ${owned(m)}`)
      await waitFor(() => m.revoked(cJoined).length === 1, `${m.name} revoked one partition`)
      assert.deepEqual(m.revoked(cJoined).filter(p => kept.includes(p)), [], `${m.name} never gave up a partition it kept`)
      await waitFor(() => log.some(l => l.name === m.name && kept.includes(l.partition) && l.at > cJoined), `${m.name} consuming its kept partitions after c joined`)
    }
    assert.deepEqual([...a.revoked(cJoined), ...b.revoked(cJoined)].sort(), cParts)
    await waitFor(() => log.some(l => l.name === 'c'), 'c consuming')
    producing = false
    await pump
    await waitFor(() => consumed.size === sent, `all ${sent} records consumed (${consumed.size})`)
    const twice = [...consumed].filter(([, who]) => who.length > 1)
    assert.deepEqual(twice, [], 'no record consumed twice')
  } finally {
    producing = false
    await pump
    await producer.disconnect()
    for (const m of members) await m.consumer.disconnect()
  }
})

for (const groupProtocol of protocols) {
  test(`eachBatch (${groupProtocol}): batch, resolveOffset, heartbeat, isRunning, isStale, uncommittedOffsets, commitOffsetsIfNecessary`, async () => {
    const kafka = newKafka()
    const topic = unique('batch')
    await createTopic(kafka, topic, 1)
    await produce(kafka, topic, 10)
    const groupId = unique('g')
    const calls = []
    let failure = null
    const { consumer, events } = await running(kafka, { groupId, groupProtocol }, {
      topic,
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, uncommittedOffsets, commitOffsetsIfNecessary }) => {
        try {
          assert.equal(batch.topic, topic)
          assert.equal(batch.partition, 0)
          assert.equal(typeof batch.highWatermark, 'string')
          assert.equal(isRunning(), true)
          assert.equal(isStale(), false)
          const before = uncommittedOffsets()
          for (const message of batch.messages) {
            if (!isRunning() || isStale()) break
            resolveOffset(message.offset)
            await heartbeat()
          }
          const last = batch.lastOffset()
          assert.deepEqual(uncommittedOffsets(), { topics: [{ topic, partitions: [{ partition: 0, offset: String(Number(last) + 1) }] }] })
          // autoCommit off: commitOffsetsIfNecessary commits now.
          await commitOffsetsIfNecessary()
          calls.push({ first: batch.firstOffset(), last, size: batch.messages.length, before })
        } catch (e) {
          failure = failure || e
        }
      },
    })
    try {
      await waitFor(() => failure || calls.reduce((n, c) => n + c.size, 0) === 10, 'the 10 records in batches')
      if (failure) throw failure
      assert.equal(calls[0].first, '0')
      assert.deepEqual(calls[0].before, { topics: [] })
      assert.deepEqual(await committed(groupId, topic), { 0: '10' })
      assert.ok(events.of(consumer.events.COMMIT_OFFSETS).length >= 1)
    } finally {
      await consumer.disconnect()
    }
  })

  test(`autoCommit false (${groupProtocol}): nothing is committed until commitOffsets`, async () => {
    const kafka = newKafka()
    const topic = unique('manual')
    await createTopic(kafka, topic, 1)
    await produce(kafka, topic, 5)
    const groupId = unique('g')
    const seen = []
    const { consumer, events } = await running(kafka, { groupId, groupProtocol }, { topic, autoCommit: false, eachMessage: async ({ message }) => { seen.push(message.offset) } })
    try {
      await waitFor(() => seen.length === 5, 'the 5 records')
      assert.deepEqual(await committed(groupId, topic), { 0: '-1' })
      assert.equal(events.of(consumer.events.COMMIT_OFFSETS).length, 0)
      await consumer.commitOffsets([{ topic, partition: 0, offset: '3' }])
      assert.deepEqual(await committed(groupId, topic), { 0: '3' })
      await waitFor(() => events.of(consumer.events.COMMIT_OFFSETS).length === 1, 'the COMMIT_OFFSETS event')
      const ev = events.of(consumer.events.COMMIT_OFFSETS)[0]
      assert.equal(ev.payload.groupId, groupId)
      assert.deepEqual(ev.payload.topics, [{ topic, partitions: [{ partition: 0, offset: '3' }] }])
    } finally {
      await consumer.disconnect()
    }
  })

  test(`seek (${groupProtocol}) moves the partition's position: records from there come again`, async () => {
    const kafka = newKafka()
    const topic = unique('seek')
    await createTopic(kafka, topic, 1)
    await produce(kafka, topic, 10)
    const seen = []
    const { consumer } = await running(kafka, { groupId: unique('g'), groupProtocol }, { topic, eachMessage: async ({ message }) => { seen.push(Number(message.offset)) } })
    try {
      await waitFor(() => seen.length === 10, 'the 10 records')
      consumer.seek({ topic, partition: 0, offset: '3' })
      await waitFor(() => seen.length === 17, 'offsets 3..9 again')
      assert.deepEqual(seen.slice(10), [3, 4, 5, 6, 7, 8, 9])
      assert.throws(() => consumer.seek({ topic, partition: 0, offset: 'x' }), KafkaJSNonRetriableError)
    } finally {
      await consumer.disconnect()
    }
  })

  test(`pause, paused and resume (${groupProtocol})`, async () => {
    const kafka = newKafka()
    const topic = unique('pause')
    await createTopic(kafka, topic, 2)
    const seen = []
    const { consumer } = await running(kafka, { groupId: unique('g'), groupProtocol }, { topic, eachMessage: async ({ partition, message }) => { seen.push({ partition, value: message.value.toString() }) } })
    const producer = kafka.producer()
    await producer.connect()
    const send = (partition, value) => producer.send({ topic, messages: [{ partition, value }] })
    try {
      await send(0, 'first-0')
      await send(1, 'first-1')
      await waitFor(() => seen.length === 2, 'a record of each partition')
      consumer.pause([{ topic, partitions: [0] }])
      assert.deepEqual(consumer.paused(), [{ topic, partitions: [0] }])
      await send(0, 'while-paused-0')
      await send(1, 'while-paused-1')
      // Partition 1 flows; partition 0's record waits (checked once partition 1's came through,
      // which was fetched after partition 0's record was written).
      await waitFor(() => seen.some(s => s.value === 'while-paused-1'), "partition 1's record")
      await send(1, 'later-1')
      await waitFor(() => seen.some(s => s.value === 'later-1'), "partition 1's later record")
      assert.equal(seen.some(s => s.value === 'while-paused-0'), false, 'no record of the paused partition')
      consumer.resume([{ topic, partitions: [0] }])
      assert.deepEqual(consumer.paused(), [])
      await waitFor(() => seen.some(s => s.value === 'while-paused-0'), "partition 0's record after resume")
      // A whole topic paused.
      consumer.pause([{ topic }])
      assert.deepEqual(consumer.paused(), [{ topic, partitions: [0, 1] }])
      consumer.resume([{ topic }])
      assert.deepEqual(consumer.paused(), [])
    } finally {
      await producer.disconnect()
      await consumer.disconnect()
    }
  })

  test(`events (${groupProtocol}): CONNECT, GROUP_JOIN, HEARTBEAT, START/END_BATCH_PROCESS, COMMIT_OFFSETS, STOP, DISCONNECT; the remover removes`, async () => {
    const kafka = newKafka()
    const topic = unique('events')
    await createTopic(kafka, topic, 1)
    await produce(kafka, topic, 3)
    const groupId = unique('g')
    const consumer = kafka.consumer({ groupId, groupProtocol, maxWaitTimeInMs: 500 })
    const events = recordEvents(consumer)
    const removed = []
    const remove = consumer.on(consumer.events.GROUP_JOIN, e => { removed.push(e) })
    remove()
    const seen = []
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({ eachMessage: async ({ message }) => { seen.push(message) } })
    try {
      await waitFor(() => seen.length === 3 && events.of(consumer.events.HEARTBEAT).length > 0 && events.of(consumer.events.COMMIT_OFFSETS).length > 0, 'the records, a heartbeat and a commit')
      const e = consumer.events
      for (const ev of events) {
        assert.equal(typeof ev.id, 'number')
        assert.equal(typeof ev.timestamp, 'number')
        assert.ok(Object.values(e).includes(ev.type))
      }
      assert.equal(events[0].type, e.CONNECT)
      const [join] = events.of(e.GROUP_JOIN)
      assert.equal(join.payload.groupId, groupId)
      assert.equal(typeof join.payload.memberId, 'string')
      assert.ok(join.payload.memberId.length > 0)
      assert.equal(typeof join.payload.memberEpoch, 'number')
      assert.equal(join.payload.groupProtocol, groupProtocol)
      assert.deepEqual(join.payload.memberAssignment, { [topic]: [0] })
      if (groupProtocol === 'consumer') assert.ok(join.payload.memberEpoch > 0)
      const [beat] = events.of(e.HEARTBEAT)
      assert.equal(beat.payload.groupId, groupId)
      assert.equal(beat.payload.memberId, join.payload.memberId)
      const start = events.of(e.START_BATCH_PROCESS)[0]
      assert.equal(start.payload.topic, topic)
      assert.equal(start.payload.partition, 0)
      assert.equal(start.payload.batchSize, 3)
      assert.equal(start.payload.firstOffset, '0')
      assert.equal(start.payload.lastOffset, '2')
      const end = events.of(e.END_BATCH_PROCESS)[0]
      assert.equal(typeof end.payload.duration, 'number')
      const commits = events.of(e.COMMIT_OFFSETS).flatMap(c => c.payload.topics)
      assert.ok(commits.some(t => t.topic === topic && t.partitions.some(p => p.offset === '3')), JSON.stringify(commits))
      assert.deepEqual(removed, [], 'the removed listener was not called')
    } finally {
      await consumer.stop()
      await consumer.disconnect()
    }
    await waitFor(() => events.of(consumer.events.DISCONNECT).length === 1, 'DISCONNECT')
    const order = events.map(ev => ev.type).filter(t => [consumer.events.STOP, consumer.events.DISCONNECT].includes(t))
    assert.deepEqual(order, [consumer.events.STOP, consumer.events.DISCONNECT])
  })

  test(`a handler that always throws (${groupProtocol}, retry: { retries: 0 }) crashes the consumer: CRASH with the error and restart`, async () => {
    const kafka = newKafka()
    const topic = unique('crash')
    await createTopic(kafka, topic, 1)
    await produce(kafka, topic, 1)
    const groupId = unique('g')
    let calls = 0
    const { consumer, events } = await running(kafka, { groupId, groupProtocol, retry: { retries: 0 } }, {
      topic,
      eachMessage: async () => {
        calls++
        throw new Error('the handler always fails')
      },
    })
    try {
      await waitFor(() => events.of(consumer.events.CRASH).length > 0, 'CRASH')
      const [crash] = events.of(consumer.events.CRASH)
      assert.equal(crash.payload.groupId, groupId)
      assert.equal(crash.payload.restart, true)
      assert.equal(crash.payload.error.name, 'KafkaJSNumberOfRetriesExceeded')
      assert.equal(crash.payload.error.message, 'the handler always fails')
      assert.equal(calls, 1, 'retries: 0 calls the handler once')
      // It restarts (restart: true) and meets the record again.
      await waitFor(() => calls >= 2, 'the handler called again after the restart')
      assert.deepEqual(await committed(groupId, topic), { 0: '-1' }, 'the failed record is not committed')
    } finally {
      await consumer.disconnect()
    }
  })

  test(`messages (${groupProtocol}): key, value and headers are Buffers, offset and timestamp strings`, async () => {
    const kafka = newKafka()
    const topic = unique('shape')
    await createTopic(kafka, topic, 1)
    const producer = kafka.producer()
    await producer.connect()
    const timestamp = String(Date.now() - 1000)
    await producer.send({ topic, messages: [
      { key: 'k', value: 'v', headers: { h: 'one', bin: Buffer.from([0, 1, 2]) }, timestamp },
      { key: null, value: null },
    ] })
    await producer.disconnect()
    const seen = []
    const { consumer } = await running(kafka, { groupId: unique('g'), groupProtocol }, { topic, eachMessage: async p => { seen.push(p) } })
    try {
      await waitFor(() => seen.length === 2, 'the 2 records')
      const [{ topic: t, partition, message: m }, { message: n }] = seen
      assert.equal(t, topic)
      assert.equal(partition, 0)
      assert.ok(Buffer.isBuffer(m.key) && Buffer.isBuffer(m.value))
      assert.equal(m.key.toString(), 'k')
      assert.equal(m.value.toString(), 'v')
      assert.ok(Buffer.isBuffer(m.headers.h) && Buffer.isBuffer(m.headers.bin))
      assert.equal(m.headers.h.toString(), 'one')
      assert.deepEqual([...m.headers.bin], [0, 1, 2])
      assert.equal(m.offset, '0')
      assert.equal(m.timestamp, timestamp)
      assert.equal(n.offset, '1')
      assert.equal(typeof n.timestamp, 'string')
      assert.equal(n.key, null)
      assert.equal(n.value, null)
    } finally {
      await consumer.disconnect()
    }
  })
}

test('stop() then disconnect() lets the Node process exit (nothing keeps the event loop alive)', async () => {
  const kafka = newKafka()
  const topic = unique('exit')
  await createTopic(kafka, topic, 1)
  await produce(kafka, topic, 1)
  const script = `
    const { Kafka, logLevel } = require(${JSON.stringify(path.join(__dirname, '..'))})
    const kafka = new Kafka({ brokers: [${JSON.stringify(broker)}], logLevel: logLevel.NOTHING })
    ;(async () => {
      for (const groupProtocol of ['consumer', 'classic']) {
        const consumer = kafka.consumer({ groupId: ${JSON.stringify(unique('g'))} + groupProtocol, groupProtocol })
        consumer.on(consumer.events.HEARTBEAT, () => {})
        await consumer.connect()
        await consumer.subscribe({ topic: ${JSON.stringify(topic)}, fromBeginning: true })
        let got
        const one = new Promise(r => { got = r })
        await consumer.run({ eachMessage: async () => got() })
        await one
        await consumer.stop()
        await consumer.disconnect()
        console.log('disconnected ' + groupProtocol)
      }
    })()
  `
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', d => { out += d })
  child.stderr.on('data', d => { err += d })
  let exit = null
  child.on('exit', code => { exit = code })
  try {
    await waitFor(() => out.includes('disconnected classic'), `both consumers done\n${out}\n${err}`)
    // The script ends by itself: no process.exit, nothing left on the event loop.
    await waitFor(() => exit !== null, `the process to exit after disconnect\n${out}\n${err}`, 10000)
    assert.equal(exit, 0, err)
  } finally {
    child.kill('SIGKILL')
  }
})

// A long poll in flight (maxWaitTimeInMs 20 s on an idle topic) does not hold disconnect():
// the fetch connections are closed at once (before, disconnect waited for the poll's answer).
for (const groupProtocol of protocols) {
  test(`disconnect() (${groupProtocol}) does not wait for the fetch in flight`, async () => {
    const kafka = newKafka()
    const topic = unique('idle')
    await createTopic(kafka, topic, 1)
    const consumer = kafka.consumer({ groupId: unique('g'), groupProtocol, maxWaitTimeInMs: 20000 })
    let joined = false
    consumer.on(consumer.events.GROUP_JOIN, () => { joined = true })
    let fetches = 0
    consumer.on(consumer.events.FETCH_START, () => { fetches++ })
    await consumer.connect()
    await consumer.subscribe({ topic })
    await consumer.run({ eachMessage: async () => {} })
    await waitFor(() => joined && fetches > 0, 'the member to join and fetch')
    await new Promise(r => setTimeout(r, 500))
    const started = Date.now()
    await consumer.disconnect()
    const took = Date.now() - started
    assert.ok(took < 10000, `disconnect took ${took} ms, as long as the 20 s poll`)
  })
}

// Found by the reference document's batch example: with KafkaJS's default auto-commit (after
// every batch, lib/consumer.js sets autoCommitThreshold 1) and heartbeat() after each
// resolveOffset, the core used to start a commit per resolved offset, several at once: they
// reached the broker out of order and the committed offset went backwards. Commits now run one
// at a time in order (Reporter::spawn_serial), and an auto-commit waits for the one in flight.
for (const groupProtocol of protocols) {
  test(`auto-commits (${groupProtocol}) reach the broker in order: the committed offset never goes backwards`, async () => {
    const kafka = newKafka()
    const topic = unique('commit-order')
    await createTopic(kafka, topic, 1)
    await produce(kafka, topic, 200)
    const groupId = unique('g')
    let done = 0
    const { consumer, events } = await running(kafka, { groupId, groupProtocol }, {
      topic,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        for (const message of batch.messages) {
          resolveOffset(message.offset)
          await heartbeat()
          done++
        }
      },
    })
    try {
      await waitFor(() => done === 200, 'the 200 records')
      await waitFor(() => events.of(consumer.events.COMMIT_OFFSETS).some(e => e.payload.topics[0].partitions[0].offset === '200'), 'the commit of offset 200')
      const order = events.of(consumer.events.COMMIT_OFFSETS).map(e => Number(e.payload.topics[0].partitions[0].offset))
      assert.deepEqual(order, [...order].sort((a, b) => a - b), 'commits answered in the order of their offsets')
      assert.deepEqual(await committed(groupId, topic), { 0: '200' })
    } finally {
      await consumer.disconnect()
    }
  })
}
