'use strict'
// SASL (PLAIN, SCRAM, OAUTHBEARER through oauthBearerProvider) and TLS against the default
// broker's secured listeners (scripts/kafka: user alice / alice-secret, unsecured JWS tokens).
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const kafkit = require('..')
const { unique, newKafka, createTopic } = require('./helpers')

const saslBroker = process.env.KAFKIT_SASL_BOOTSTRAP || '127.0.0.1:9094'
const port = Number(saslBroker.split(':')[1])
const sslBroker = `127.0.0.1:${port + 1}`
const saslSslBroker = `127.0.0.1:${port + 2}`
const tlsDir = process.env.KAFKIT_TLS_DIR || path.join(__dirname, '..', '..', '..', '.kafka', 'default', 'tls')
const ca = () => fs.readFileSync(path.join(tlsDir, 'ca.pem'))

// An unsigned token (alg none) for `sub`, as Kafka's unsecured validator takes.
function unsecuredToken(sub, lifetimeSeconds = 3600) {
  const b64 = v => Buffer.from(JSON.stringify(v)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  return `${b64({ alg: 'none' })}.${b64({ sub, iat: now, exp: now + lifetimeSeconds })}.`
}

// Connects an admin client and lists topics: the connection authenticated.
async function listTopics(options) {
  const admin = newKafka({ retry: { retries: 0 }, connectionTimeout: 5000, ...options }).admin()
  await admin.connect()
  try {
    return await admin.listTopics()
  } finally {
    await admin.disconnect()
  }
}

test('PLAIN and SCRAM log in; a record goes through the SASL listener', async () => {
  const topic = unique('sasl')
  await createTopic(newKafka(), topic)
  for (const mechanism of ['plain', 'scram-sha-256', 'SCRAM-SHA-512']) {
    const sasl = { mechanism, username: 'alice', password: 'alice-secret' }
    const topics = await listTopics({ brokers: [saslBroker], sasl })
    assert.ok(topics.includes(topic), `${mechanism}: ${topics}`)
  }
  const producer = newKafka({ brokers: [saslSslBroker], ssl: { ca: [ca()] }, sasl: { mechanism: 'plain', username: 'alice', password: 'alice-secret' } }).producer()
  await producer.connect()
  const [meta] = await producer.send({ topic, messages: [{ value: 'over SASL_SSL' }] })
  assert.equal(meta.errorCode, 0)
  await producer.disconnect()
})

test('a wrong password is a non-retriable KafkaJSSASLAuthenticationError naming the mechanism', async () => {
  await assert.rejects(listTopics({ brokers: [saslBroker], sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'wrong' } }), err => {
    assert.ok(err instanceof kafkit.KafkaJSSASLAuthenticationError, `${err.name}: ${err.message}`)
    assert.equal(err.retriable, false)
    assert.match(err.message, /SCRAM-SHA-256/)
    assert.doesNotMatch(err.message, /wrong/, 'the password is not in the message')
    return true
  })
})

test('OAUTHBEARER gets its token from oauthBearerProvider, over SASL_PLAINTEXT and SASL_SSL', async () => {
  let calls = 0
  const sasl = {
    mechanism: 'oauthbearer',
    oauthBearerProvider: async () => {
      calls++
      return { value: unsecuredToken('alice') }
    },
  }
  assert.ok(Array.isArray(await listTopics({ brokers: [saslBroker], sasl })))
  assert.ok(Array.isArray(await listTopics({ brokers: [saslSslBroker], ssl: { ca: [ca()] }, sasl })))
  assert.ok(calls >= 2, `provider called ${calls} times`)
  // A provider that is not async works too (KafkaJS awaits whatever it returns).
  const sync = { mechanism: 'oauthbearer', oauthBearerProvider: () => ({ value: unsecuredToken('alice') }) }
  assert.ok(Array.isArray(await listTopics({ brokers: [saslBroker], sasl: sync })))
})

test('OAUTHBEARER failures name the cause: a provider that throws, a bad answer, a refused token', async () => {
  const cases = [
    [async () => { throw new Error('identity provider down') }, /oauthBearerProvider failed: identity provider down/],
    [async () => ({ token: 'x' }), /must resolve \{ value: token \}/],
    [async () => ({ value: 'not-a-jws-token' }), /OAUTHBEARER/],
  ]
  for (const [oauthBearerProvider, message] of cases) {
    await assert.rejects(listTopics({ brokers: [saslBroker], sasl: { mechanism: 'oauthbearer', oauthBearerProvider } }), err => {
      assert.ok(err instanceof kafkit.KafkaJSSASLAuthenticationError, `${err.name}: ${err.message}`)
      assert.match(err.message, message)
      assert.doesNotMatch(err.message, /not-a-jws-token/, 'the token is not in the message')
      return true
    })
  }
  assert.throws(() => new kafkit.Kafka({ brokers: [saslBroker], sasl: { mechanism: 'oauthbearer' } }), {
    name: 'KafkaJSNonRetriableError',
    message: /oauthBearerProvider/,
  })
})

test('TLS verifies the broker with the given CA; without it the connection is refused with the fix named', async () => {
  assert.ok(Array.isArray(await listTopics({ brokers: [sslBroker], ssl: { ca: [ca()] } })))
  await assert.rejects(listTopics({ brokers: [sslBroker], ssl: true }), err => {
    assert.ok(err instanceof kafkit.KafkaJSError, err.name)
    assert.match(err.message, /certificate|ssl\.ca|CA/i)
    return true
  })
})

// The provider crosses to the native core as a threadsafe function; a strong one kept Node's
// event loop alive after disconnect() and the process never exited.
test('with OAUTHBEARER the Node process exits after disconnect()', () => {
  const script = `
    const { Kafka, logLevel } = require(${JSON.stringify(path.join(__dirname, '..'))})
    const token = ${JSON.stringify(unsecuredToken('alice'))}
    const kafka = new Kafka({ brokers: [${JSON.stringify(saslBroker)}], logLevel: logLevel.NOTHING,
      sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: token }) } })
    ;(async () => {
      const admin = kafka.admin()
      await admin.connect()
      await admin.listTopics()
      await admin.disconnect()
      console.log('disconnected')
    })()
  `
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20000 })
  assert.match(r.stdout, /disconnected/, r.stderr)
  assert.equal(r.status, 0, `the process did not exit by itself (signal ${r.signal}): ${r.stderr}`)
})
