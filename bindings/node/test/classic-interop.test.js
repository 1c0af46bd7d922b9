'use strict'
// A classic group shared by a real KafkaJS 2.2.4 member and a member of this package (both
// with PartitionAssigners.roundRobin, protocol name RoundRobinAssigner): both join, the
// partitions are split, every record is consumed once, whoever leads the group.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const RealKafkaJS = require('kafkajs')
const { broker, unique, newKafka, createTopic, produce, waitFor } = require('./helpers')

test('KafkaJS and kafkit members share a classic round-robin group', async () => {
  const kafka = newKafka()
  const topic = unique('interop')
  const groupId = unique('interop-g')
  await createTopic(kafka, topic, 4)
  const seen = new Map()
  const owners = { kafkajs: new Set(), kafkit: new Set() }
  const record = who => async ({ partition, message }) => {
    owners[who].add(partition)
    const k = `${partition}:${message.offset}`
    seen.set(k, (seen.get(k) || 0) + 1)
  }
  const real = new RealKafkaJS.Kafka({ clientId: 'real-kafkajs', brokers: [broker], logLevel: RealKafkaJS.logLevel.NOTHING })
  const theirs = real.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 500 })
  await theirs.connect()
  await theirs.subscribe({ topic, fromBeginning: true })
  await theirs.run({ eachMessage: record('kafkajs') })
  const ours = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 500 })
  await ours.connect()
  await ours.subscribe({ topic, fromBeginning: true })
  await ours.run({ eachMessage: record('kafkit') })
  try {
    // Both are members with a share of the partitions.
    await waitFor(async () => {
      const g = await ours.describeGroup()
      return g.state === 'Stable' && g.members.length === 2
    }, 'a stable group of two members', 45000)
    await produce(kafka, topic, 200)
    await waitFor(() => seen.size === 200, '200 records')
    assert.ok(owners.kafkajs.size > 0 && owners.kafkit.size > 0, `partitions: ${JSON.stringify({ kafkajs: [...owners.kafkajs], kafkit: [...owners.kafkit] })}`)
    for (const p of owners.kafkit) assert.ok(!owners.kafkajs.has(p), `partition ${p} consumed by both members`)
    assert.ok([...seen.values()].every(n => n === 1), 'a record was consumed twice')
  } finally {
    await theirs.disconnect()
    await ours.disconnect()
  }
})
