'use strict'
// KafkaJS's error classes (same names, fields and hierarchy), and the translation of the
// native core's errors into them.

class KafkaJSError extends Error {
  constructor(e, { retriable = true, cause } = {}) {
    super(e && e.message !== undefined ? e.message : e, cause ? { cause } : undefined)
    Error.captureStackTrace(this, this.constructor)
    this.message = e && e.message !== undefined ? e.message : String(e)
    this.name = 'KafkaJSError'
    this.retriable = retriable
    this.helpUrl = e && e.helpUrl
    if (cause) this.cause = cause
  }
}

class KafkaJSNonRetriableError extends KafkaJSError {
  constructor(e, { cause } = {}) {
    super(e, { retriable: false, cause })
    this.name = 'KafkaJSNonRetriableError'
  }
}

class KafkaJSProtocolError extends KafkaJSError {
  constructor(e, { retriable = e.retriable } = {}) {
    super(e, { retriable })
    this.type = e.type
    this.code = e.code
    this.name = 'KafkaJSProtocolError'
  }
}

class KafkaJSOffsetOutOfRange extends KafkaJSProtocolError {
  constructor(e, { topic, partition } = {}) {
    super(e)
    this.topic = topic
    this.partition = partition
    this.name = 'KafkaJSOffsetOutOfRange'
  }
}

class KafkaJSMemberIdRequired extends KafkaJSProtocolError {
  constructor(e, { memberId } = {}) {
    super(e)
    this.memberId = memberId
    this.name = 'KafkaJSMemberIdRequired'
  }
}

class KafkaJSNumberOfRetriesExceeded extends KafkaJSNonRetriableError {
  constructor(e, { retryCount, retryTime } = {}) {
    super(e, { cause: e })
    this.stack = `${this.name}\n  Caused by: ${e && e.stack}`
    this.retryCount = retryCount
    this.retryTime = retryTime
    this.name = 'KafkaJSNumberOfRetriesExceeded'
  }
}

class KafkaJSConnectionError extends KafkaJSError {
  constructor(e, { broker, code } = {}) {
    super(e)
    this.broker = broker
    this.code = code
    this.name = 'KafkaJSConnectionError'
  }
}

class KafkaJSConnectionClosedError extends KafkaJSConnectionError {
  constructor(e, { host, port } = {}) {
    super(e, { broker: host && `${host}:${port}` })
    this.host = host
    this.port = port
    this.name = 'KafkaJSConnectionClosedError'
  }
}

class KafkaJSRequestTimeoutError extends KafkaJSError {
  constructor(e, { broker, correlationId, createdAt, sentAt, pendingDuration } = {}) {
    super(e)
    this.broker = broker
    this.correlationId = correlationId
    this.createdAt = createdAt
    this.sentAt = sentAt
    this.pendingDuration = pendingDuration
    this.name = 'KafkaJSRequestTimeoutError'
  }
}

class KafkaJSTimeout extends KafkaJSNonRetriableError {
  constructor(e) {
    super(e)
    this.name = 'KafkaJSTimeout'
  }
}

class KafkaJSSASLAuthenticationError extends KafkaJSNonRetriableError {
  constructor(e) {
    super(e)
    this.name = 'KafkaJSSASLAuthenticationError'
  }
}

class KafkaJSGroupCoordinatorNotFound extends KafkaJSError {
  constructor(e) {
    super(e)
    this.name = 'KafkaJSGroupCoordinatorNotFound'
  }
}

class KafkaJSNotImplemented extends KafkaJSNonRetriableError {
  constructor(e) {
    super(e)
    this.name = 'KafkaJSNotImplemented'
  }
}

class KafkaJSMetadataNotLoaded extends KafkaJSError {
  constructor(e) {
    super(e)
    this.name = 'KafkaJSMetadataNotLoaded'
  }
}

class KafkaJSTopicMetadataNotLoaded extends KafkaJSMetadataNotLoaded {
  constructor(e, { topic } = {}) {
    super(e)
    this.topic = topic
    this.name = 'KafkaJSTopicMetadataNotLoaded'
  }
}

class KafkaJSBrokerNotFound extends KafkaJSError {
  constructor(e) {
    super(e)
    this.name = 'KafkaJSBrokerNotFound'
  }
}

class KafkaJSNoBrokerAvailableError extends KafkaJSError {
  constructor(e) {
    super(e)
    this.name = 'KafkaJSNoBrokerAvailableError'
  }
}

class KafkaJSAggregateError extends Error {
  constructor(message, errors) {
    super(message)
    this.errors = errors
    this.name = 'KafkaJSAggregateError'
  }
}

class KafkaJSDeleteGroupsError extends KafkaJSError {
  constructor(e, groups = []) {
    super(e)
    this.groups = groups
    this.name = 'KafkaJSDeleteGroupsError'
  }
}

class KafkaJSCreateTopicError extends KafkaJSProtocolError {
  constructor(topicError, topicName) {
    super(topicError)
    this.topic = topicName
    this.name = 'KafkaJSCreateTopicError'
  }
}

class KafkaJSAlterPartitionReassignmentsError extends KafkaJSProtocolError {
  constructor(e, topicName, partition) {
    super(e)
    this.topic = topicName
    this.partition = partition
    this.name = 'KafkaJSAlterPartitionReassignmentsError'
  }
}

class KafkaJSDeleteTopicRecordsError extends KafkaJSError {
  constructor({ partitions } = {}) {
    super('Error while deleting records', { retriable: false })
    this.partitions = partitions
    this.name = 'KafkaJSDeleteTopicRecordsError'
  }
}

class KafkaJSInvalidVarIntError extends KafkaJSNonRetriableError {
  constructor(e) {
    super(e)
    this.name = 'KafkaJSInvalidVarIntError'
  }
}

class KafkaJSUnsupportedMagicByteInMessageSet extends KafkaJSNonRetriableError {
  constructor(e) {
    super(e)
    this.name = 'KafkaJSUnsupportedMagicByteInMessageSet'
  }
}

class KafkaJSLockTimeout extends KafkaJSTimeout {
  constructor(e) {
    super(e)
    this.name = 'KafkaJSLockTimeout'
  }
}

class KafkaJSServerDoesNotSupportApiKey extends KafkaJSNonRetriableError {
  constructor(e, { apiKey, apiName } = {}) {
    super(e)
    this.apiKey = apiKey
    this.apiName = apiName
    this.name = 'KafkaJSServerDoesNotSupportApiKey'
  }
}

const PREFIX = 'KAFKIT_ERROR:'

const { messages: kafkajsMessages } = require('./protocol-messages')

// `new Kafka({ kafkitErrorMessages: true })` (process-wide once set) keeps kafkit's own text
// as the protocol errors' message instead of KafkaJS's.
const settings = { kafkitMessages: false }

// Kafka error codes with a KafkaJS class of their own.
const byType = {
  OFFSET_OUT_OF_RANGE: e => new KafkaJSOffsetOutOfRange(e),
  MEMBER_ID_REQUIRED: e => new KafkaJSMemberIdRequired(e),
}

// The native core's error (see bindings/node/src/error.rs) as the KafkaJS error a KafkaJS user
// catches. Anything else is returned as it is. `own`: an API KafkaJS does not have (the share
// consumer), whose errors keep kafkit's text (there is no KafkaJS text to follow, and kafkit's
// names the fix).
function fromNative(err, own = false) {
  if (!err || typeof err.message !== 'string' || !err.message.startsWith(PREFIX)) return err
  let info
  try {
    info = JSON.parse(err.message.slice(PREFIX.length))
  } catch (_) {
    return err
  }
  // The core names its own options; here the user gave `brokers` (KafkaJS's name for them).
  const message = typeof info.message === 'string' ? info.message.replace(/`bootstrap`/g, '`brokers`') : info.message
  info.message = message
  const e = { message, type: info.type, code: info.code, retriable: info.retriable }
  let out
  switch (info.kind) {
    case 'kafka': {
      const text = !own && !settings.kafkitMessages && kafkajsMessages[info.type]
      out = (byType[info.type] || (x => new KafkaJSProtocolError(x)))(text ? { ...e, message: text } : e)
      if (text) out.detail = info.message
      break
    }
    case 'connection':
      out = new KafkaJSConnectionError(e)
      out.retriable = true
      break
    case 'timeout':
      out = new KafkaJSRequestTimeoutError(e)
      break
    case 'auth':
      out = new KafkaJSSASLAuthenticationError(e)
      break
    case 'unsupported':
      out = new KafkaJSNonRetriableError(e)
      break
    case 'corrupt_record':
      // KafkaJS's name for records that fail their checks; not retried: the same bytes fail
      // again. The partition and offset say what to seek past.
      out = new KafkaJSProtocolError({ ...e, type: 'CORRUPT_MESSAGE', code: 2, retriable: false })
      break
    case 'config':
    case 'too_large':
    case 'fatal':
    case 'closed':
    case 'protocol':
      out = new KafkaJSNonRetriableError(e)
      break
    default:
      out = new KafkaJSError(e, { retriable: info.retriable })
  }
  out.kind = info.kind
  out.operation = info.operation
  if (info.topic != null) {
    out.topic = info.topic
    out.partition = info.partition
    out.offset = info.offset
  }
  return out
}

// Runs a native call and rethrows its error as the KafkaJS error (`own`: see fromNative).
async function call(promise, own = false) {
  try {
    return await promise
  } catch (err) {
    throw fromNative(err, own)
  }
}

function callSync(fn) {
  try {
    return fn()
  } catch (err) {
    throw fromNative(err)
  }
}

module.exports = {
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSProtocolError,
  KafkaJSOffsetOutOfRange,
  KafkaJSMemberIdRequired,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSConnectionError,
  KafkaJSConnectionClosedError,
  KafkaJSRequestTimeoutError,
  KafkaJSTimeout,
  KafkaJSLockTimeout,
  KafkaJSSASLAuthenticationError,
  KafkaJSGroupCoordinatorNotFound,
  KafkaJSNotImplemented,
  KafkaJSMetadataNotLoaded,
  KafkaJSTopicMetadataNotLoaded,
  KafkaJSBrokerNotFound,
  KafkaJSNoBrokerAvailableError,
  KafkaJSAggregateError,
  KafkaJSDeleteGroupsError,
  KafkaJSCreateTopicError,
  KafkaJSDeleteTopicRecordsError,
  KafkaJSAlterPartitionReassignmentsError,
  KafkaJSInvalidVarIntError,
  KafkaJSUnsupportedMagicByteInMessageSet,
  KafkaJSServerDoesNotSupportApiKey,
  fromNative,
  call,
  callSync,
  settings,
}
