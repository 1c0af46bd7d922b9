'use strict'
// The npm KafkaJS 2.2.4 admin client (the devDependency, not this package), used by the tests as
// an independent reader of what the broker holds: a group's committed offsets.

const { Kafka, logLevel } = require('kafkajs')
const { broker } = require('../helpers')

let admin = null

async function oracle() {
  if (!admin) {
    admin = new Kafka({ clientId: 'kafkit-test-oracle', brokers: [broker], logLevel: logLevel.NOTHING }).admin()
    await admin.connect()
  }
  return admin
}

// `{ partition: offset }` (offset a string, '-1' when none) of `groupId` on `topic`.
async function committed(groupId, topic) {
  const [t] = await (await oracle()).fetchOffsets({ groupId, topics: [topic] })
  return Object.fromEntries(t.partitions.map(p => [p.partition, p.offset]))
}

async function closeOracle() {
  if (admin) await admin.disconnect()
  admin = null
}

module.exports = { committed, closeOracle }
