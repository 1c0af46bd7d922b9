'use strict'
// The reference document's live migration (rolling upgrade) with a real KafkaJS 2.2.4 member:
// the npm `kafkajs` (the devDependency, classic protocol, KafkaJS's own client through and
// through) and a member of this package with groupProtocol 'consumer' in the SAME group on the
// Kafka 4.4 broker, which converts the classic group to a KIP-848 group live. Records are
// produced all along; each is consumed exactly once, by whichever member holds its partition;
// the partitions are split between the two; then the KafkaJS member leaves and ours takes them
// all.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const KafkaJS = require('kafkajs') // the real one (node_modules), not this package
const { AssignerProtocol } = require('..')
const { broker, unique, newKafka, createTopic, waitFor } = require('./helpers')

async function members(kafka, groupId, topic) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const { groups: [group] } = await admin.describeGroups([groupId])
    return {
      groupProtocol: group.groupProtocol,
      members: group.members.map(m => ({
        clientId: m.clientId,
        memberId: m.memberId,
        partitions: (AssignerProtocol.MemberAssignment.decode(m.memberAssignment).assignment[topic] || []).sort((a, b) => a - b),
      })),
    }
  } finally {
    await admin.disconnect()
  }
}

test('live migration: a KafkaJS 2.2.4 classic member and a kafkit groupProtocol "consumer" member share a group, then kafkit takes over', async () => {
  const kafka = newKafka()
  const topic = unique('migration')
  const partitions = 4
  await createTopic(kafka, topic, partitions)
  const groupId = unique('rolling-upgrade')

  const producer = kafka.producer()
  await producer.connect()
  let producing = true
  let sent = 0
  const pump = (async () => {
    while (producing) {
      await producer.send({ topic, messages: Array.from({ length: partitions }, (_, partition) => ({ partition, value: `m-${sent++}` })) })
      await new Promise(r => setTimeout(r, 25))
    }
  })()

  const consumed = new Map() // value -> [who]
  const log = [] // { who, partition, offset, at }
  const handler = who => async ({ partition, message }) => {
    const v = message.value.toString()
    consumed.set(v, [...(consumed.get(v) || []), who])
    log.push({ who, partition, offset: Number(message.offset), at: Date.now() })
  }

  const kjs = new KafkaJS.Kafka({ clientId: 'kafkajs-2.2.4', brokers: [broker], logLevel: KafkaJS.logLevel.NOTHING })
  const old = kjs.consumer({ groupId, heartbeatInterval: 500, sessionTimeout: 10000, maxWaitTimeInMs: 500 })
  let oldCrash = null
  old.on(old.events.CRASH, e => { oldCrash = e.payload.error })
  const ours = kafka.consumer({ groupId, groupProtocol: 'consumer', maxWaitTimeInMs: 500 })
  let ourCrash = null
  ours.on(ours.events.CRASH, e => { ourCrash = e.payload.error })
  const noCrash = () => {
    if (oldCrash) throw new Error(`the KafkaJS member crashed: ${oldCrash.stack || oldCrash}`)
    if (ourCrash) throw new Error(`the kafkit member crashed: ${ourCrash.stack || ourCrash}`)
    return true
  }
  let oldConnected = false
  let oursConnected = false
  try {
    // 1. The group as it runs today: KafkaJS, classic protocol.
    await old.connect()
    oldConnected = true
    await old.subscribe({ topic, fromBeginning: true })
    await old.run({ eachMessage: handler('kafkajs') })
    await waitFor(() => noCrash() && new Set(log.filter(l => l.who === 'kafkajs').map(l => l.partition)).size === partitions, 'KafkaJS consuming every partition')
    const classic = await members(kafka, groupId, topic)
    assert.equal(classic.groupProtocol, 'classic')
    assert.equal(classic.members.length, 1)

    // 2. Rolling upgrade: a member with groupProtocol 'consumer' joins the same group.
    const joined = Date.now()
    await ours.connect()
    oursConnected = true
    await ours.subscribe({ topic, fromBeginning: true })
    await ours.run({ eachMessage: handler('kafkit') })
    let mixed
    await waitFor(async () => {
      noCrash()
      mixed = await members(kafka, groupId, topic)
      return mixed.members.length === 2 && mixed.members.every(m => m.partitions.length === partitions / 2)
    }, 'the partitions split between the two members', 60000).catch(e => { throw new Error(`${e.message}: ${JSON.stringify(mixed)}`) })
    // The broker converted the group: it is a KIP-848 group with a classic member in it.
    assert.equal(mixed.groupProtocol, 'consumer')
    const byClient = Object.fromEntries(mixed.members.map(m => [m.clientId, m.partitions]))
    assert.deepEqual([...byClient['kafkajs-2.2.4'], ...byClient['kafkit-node-test']].sort(), [0, 1, 2, 3])
    for (const [who, parts] of [['kafkajs', byClient['kafkajs-2.2.4']], ['kafkit', byClient['kafkit-node-test']]]) {
      await waitFor(() => noCrash() && parts.every(p => log.some(l => l.who === who && l.partition === p && l.at > joined)), `${who} consuming its partitions ${parts} in the mixed group`, 30000)
    }

    // 3. The KafkaJS member is shut down (it leaves the group): ours takes everything.
    const left = Date.now()
    await old.disconnect()
    oldConnected = false
    let alone
    await waitFor(async () => {
      noCrash()
      alone = await members(kafka, groupId, topic)
      return alone.members.length === 1 && alone.members[0].partitions.length === partitions
    }, 'the kafkit member with every partition', 30000).catch(e => { throw new Error(`${e.message}: ${JSON.stringify(alone)}`) })
    assert.equal(alone.members[0].clientId, 'kafkit-node-test')
    await waitFor(() => noCrash() && new Set(log.filter(l => l.who === 'kafkit' && l.at > left).map(l => l.partition)).size === partitions, 'kafkit consuming every partition after KafkaJS left')

    // 4. Every record produced all along consumed, each exactly once, by one member at a time.
    producing = false
    await pump
    await waitFor(() => noCrash() && consumed.size === sent, `all the records consumed`).catch(e => { throw new Error(`${e.message}: ${consumed.size} of ${sent}`) })
    const twice = [...consumed].filter(([, who]) => who.length > 1)
    assert.deepEqual(twice, [], 'no record consumed twice')
    if (process.env.KAFKIT_TEST_LOG) console.error(`${sent} records: ${log.filter(l => l.who === 'kafkajs').length} by KafkaJS, ${log.filter(l => l.who === 'kafkit').length} by kafkit`)
    for (let p = 0; p < partitions; p++) {
      const owners = log.filter(l => l.partition === p).sort((a, b) => a.offset - b.offset).map(l => l.who)
      const changes = owners.filter((w, i) => i > 0 && w !== owners[i - 1]).length
      assert.ok(changes <= 1, `partition ${p} moved from KafkaJS to kafkit once, never back (${changes} owner changes)`)
      assert.equal(owners.at(-1), 'kafkit')
    }
  } finally {
    producing = false
    await pump
    await producer.disconnect()
    if (oldConnected) await old.disconnect()
    if (oursConnected) await ours.disconnect()
  }
})
