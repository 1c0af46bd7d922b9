'use strict'
// `new Kafka({...})`: the client options, shared by the producers, consumers and admins it makes.

const { KafkaJSNonRetriableError } = require('./errors')
const { logLevel, createLogger } = require('./logger')

function pem(v) {
  if (v === undefined || v === null) return undefined
  if (Array.isArray(v)) return v.map(pem).join('\n')
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v)
}

function tlsOptions(ssl) {
  if (!ssl) return undefined
  if (ssl === true) return {}
  if (ssl.rejectUnauthorized === false) {
    throw new KafkaJSNonRetriableError(
      'ssl.rejectUnauthorized=false is not supported: kafkit always verifies the broker certificate; give the CA that signed it as ssl.ca'
    )
  }
  if (ssl.pfx || ssl.passphrase) {
    throw new KafkaJSNonRetriableError('ssl.pfx and ssl.passphrase are not supported: give PEM ssl.cert and an unencrypted ssl.key')
  }
  return { ca: pem(ssl.ca), cert: pem(ssl.cert), key: pem(ssl.key) }
}

const mechanisms = {
  plain: 'PLAIN',
  'scram-sha-256': 'SCRAM-SHA-256',
  'scram-sha-512': 'SCRAM-SHA-512',
  oauthbearer: 'OAUTHBEARER',
}

// KafkaJS's oauthBearerProvider (async or not) resolves { value, extensions? }; the native
// side gets that (extensions: an object of strings), or the provider's own error.
function tokenProvider(provider) {
  return async () => {
    let token
    try {
      token = await provider()
    } catch (e) {
      throw new Error(`the oauthBearerProvider failed: ${e && e.message ? e.message : e}`)
    }
    if (!token || typeof token.value !== 'string' || token.value === '') {
      throw new Error('the oauthBearerProvider must resolve { value: token } with a non-empty string token')
    }
    const extensions = token.extensions && typeof token.extensions === 'object' && !Array.isArray(token.extensions) ? token.extensions : undefined
    for (const [k, v] of Object.entries(extensions || {})) {
      if (typeof v !== 'string') throw new Error(`oauthBearerProvider: extension '${k}' must be a string`)
    }
    return { value: token.value, extensions }
  }
}

function saslOptions(sasl) {
  if (!sasl) return undefined
  const m = mechanisms[String(sasl.mechanism || '').toLowerCase()]
  if (!m) {
    throw new KafkaJSNonRetriableError(
      `SASL ${sasl.mechanism} mechanism is not supported: use plain, scram-sha-256, scram-sha-512 or oauthbearer`
    )
  }
  if (m === 'OAUTHBEARER') {
    if (typeof sasl.oauthBearerProvider !== 'function') {
      throw new KafkaJSNonRetriableError(
        'SASL oauthbearer: oauthBearerProvider must be an async function returning { value: token }'
      )
    }
    return { mechanism: m, oauthBearerProvider: tokenProvider(sasl.oauthBearerProvider) }
  }
  if (typeof sasl.username !== 'string' || typeof sasl.password !== 'string') {
    throw new KafkaJSNonRetriableError(`SASL ${sasl.mechanism}: username and password must be strings`)
  }
  return { mechanism: m, username: sasl.username, password: sasl.password }
}

class Kafka {
  constructor({
    brokers,
    clientId = 'kafkajs',
    ssl,
    sasl,
    connectionTimeout = 1000,
    requestTimeout = 30000,
    retry,
    logLevel: level = logLevel.INFO,
    logCreator,
    kafkitErrorMessages = false,
    kafkitWaitForTopicAuthorization = false,
    kafkitStrictOffsets = false,
  } = {}) {
    if (!brokers || !(Array.isArray(brokers) || typeof brokers === 'function')) {
      throw new KafkaJSNonRetriableError('Failed to connect: "config.brokers" must be an array or a function returning one')
    }
    if (Array.isArray(brokers) && brokers.length === 0) {
      throw new KafkaJSNonRetriableError('Failed to connect: expected brokers array and got nothing')
    }
    this._logger = createLogger({ level, logCreator })
    if (kafkitErrorMessages) require('./errors').settings.kafkitMessages = true
    this._tls = tlsOptions(ssl)
    this._sasl = saslOptions(sasl)
    this._brokers = brokers
    this._clientId = clientId
    this._connectionTimeout = connectionTimeout
    this._requestTimeout = requestTimeout
    this._retry = retry || {}
    // KafkaJS fails at once on a topic this client may not describe; kafkit's core can wait
    // for the permission instead (opt-in).
    this._waitForTopicAuthorization = !!kafkitWaitForTopicAuthorization
    // KafkaJS's -2/-1 (earliest/latest): seek looks them up, setOffsets and resetOffsets commit
    // them as they are. kafkit's core refuses seeks to them and commits only offsets it
    // looked up (opt-in).
    this._strictOffsets = !!kafkitStrictOffsets
  }

  // The options of the native client, brokers resolved (KafkaJS accepts an async function).
  async _clientOptions(retry = this._retry, allowAutoTopicCreation = false) {
    const brokers = typeof this._brokers === 'function' ? await this._brokers() : this._brokers
    if (!Array.isArray(brokers) || brokers.length === 0) {
      throw new KafkaJSNonRetriableError('Failed to connect: "config.brokers" returned no broker')
    }
    return {
      brokers: brokers.map(String),
      clientId: this._clientId,
      connectionTimeout: this._connectionTimeout,
      requestTimeout: this._requestTimeout,
      retry: {
        maxRetryTime: retry.maxRetryTime,
        initialRetryTime: retry.initialRetryTime,
        factor: retry.factor,
        multiplier: retry.multiplier,
        retries: retry.retries,
      },
      ssl: this._tls,
      sasl: this._sasl,
      allowAutoTopicCreation: !!allowAutoTopicCreation,
      unauthorizedTopicsFinal: !this._waitForTopicAuthorization,
    }
  }

  producer(options = {}) {
    const { Producer } = require('./producer')
    return new Producer(this, options)
  }

  consumer(options = {}) {
    const { Consumer } = require('./consumer')
    return new Consumer(this, options)
  }

  // A share group member (KIP-932, Kafka 4.2+): see lib/share-consumer.js.
  shareConsumer(options = {}) {
    const { ShareConsumer } = require('./share-consumer')
    return new ShareConsumer(this, options)
  }

  admin(options = {}) {
    const { Admin } = require('./admin')
    return new Admin(this, options)
  }

  logger() {
    return this._logger
  }
}

module.exports = { Kafka }
