// Type test of index.d.ts (`npm run test:types`, compiled, never run): the package used the way
// KafkaJS users write TypeScript, every JavaScript example of the reference document
// (/work/shared/reference/kafkajs-kip848-consumer-protocol.md) typed, and wrong usages that
// must not compile (each `@ts-expect-error` fails the build if its line compiles).

import {
  Kafka,
  KafkaConfig,
  logLevel,
  logCreator,
  LogEntry,
  Logger,
  CompressionTypes,
  CompressionCodecs,
  PartitionAssigners,
  PartitionAssigner,
  AssignerProtocol,
  Partitioners,
  ResourceTypes,
  AclResourceTypes,
  AclOperationTypes,
  AclPermissionTypes,
  ResourcePatternTypes,
  ConfigResourceTypes,
  Producer,
  ProducerConfig,
  Message,
  RecordMetadata,
  Transaction,
  Consumer,
  ConsumerConfig,
  ConsumerRunConfig,
  EachMessagePayload,
  EachBatchPayload,
  EachMessageHandler,
  Batch,
  KafkaMessage,
  IHeaders,
  IMemberAssignment,
  GroupDescription,
  ConsumerGroupJoinEvent,
  ConsumerHeartbeatEvent,
  ConsumerCrashEvent,
  InstrumentationEvent,
  RemoveInstrumentationEventListener,
  Admin,
  ITopicMetadata,
  SeekEntry,
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
  KafkaJSInvalidVarIntError,
  KafkaJSUnsupportedMagicByteInMessageSet,
  KafkaJSServerDoesNotSupportApiKey,
} from 'kafkit'
// The CommonJS form resolves to the same declarations.
import kafkit = require('kafkit')

// Exact type equality: `const _: Equals<A, B> = true` compiles only when A and B are the same.
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false

// The reference document's placeholders, given trivial bodies.
async function processMessage(message: KafkaMessage): Promise<void> {
  void message
}
async function processBatchMessage(message: KafkaMessage): Promise<void> {
  void message
}

// ---------------------------------------------------------------------------------------------
// The reference document's examples (top-level `await` wrapped in async functions; the two
// `const consumer` of the migration example in blocks of their own).

const { Kafka: KafkaFromRequire } = kafkit
const kafka = new KafkaFromRequire({
  clientId: 'my-app',
  brokers: ['localhost:9092'],
})

// Usage > Basic Configuration
async function basicConfiguration() {
  const consumer = kafka.consumer({
    groupId: 'my-group',
    groupProtocol: 'consumer', // Enable KIP-848 protocol
  })

  await consumer.connect()
  await consumer.subscribe({ topic: 'my-topic' })

  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      console.log({
        // `value` is null for a tombstone (in KafkaJS's types too), hence `?.`.
        value: message.value?.toString(),
      })
      const t: string = topic
      const p: number = partition
      void t, p
    },
  })
}

// Usage > Server-Side Assignor Configuration
function serverSideAssignor() {
  const consumer = kafka.consumer({
    groupId: 'my-group',
    groupProtocol: 'consumer',
    groupRemoteAssignor: 'uniform', // or 'range'
  })
  return consumer
}

// Migration Guide > Live Migration
function liveMigration() {
  {
    // Old configuration (classic protocol)
    const consumer = kafka.consumer({
      groupId: 'my-group',
      sessionTimeout: 30000,
      heartbeatInterval: 3000,
      partitionAssigners: [PartitionAssigners.roundRobin],
    })
    void consumer
  }
  {
    // New configuration (KIP-848 protocol)
    const consumer = kafka.consumer({
      groupId: 'my-group',
      groupProtocol: 'consumer',
      groupRemoteAssignor: 'uniform', // Optional, defaults to 'uniform'
      rebalanceTimeout: 60000,
    })
    void consumer
  }
}

// Monitoring and Observability
function monitoring() {
  const consumer = kafka.consumer({
    groupId: 'my-group',
    groupProtocol: 'consumer',
  })

  consumer.on(consumer.events.GROUP_JOIN, async ({ payload }) => {
    console.log('Group join event:', payload)
    // Includes member epoch, assignment details
    const epoch: number = payload.memberEpoch
    const assignment: IMemberAssignment = payload.memberAssignment
    const protocol: 'classic' | 'consumer' = payload.groupProtocol
    void epoch, assignment, protocol
  })

  consumer.on(consumer.events.HEARTBEAT, async ({ payload }) => {
    console.log('Heartbeat event:', payload)
    // Integrated with assignment reconciliation
    const added: number[] | undefined = payload.assignedPartitions['my-topic']
    const removed: IMemberAssignment = payload.revokedPartitions
    const epoch: number = payload.memberEpoch
    void added, removed, epoch
  })
}

// Examples > Consumer with Auto-Offset Management
async function autoOffsetManagement() {
  const consumer = kafka.consumer({
    groupId: 'auto-offset-group',
    groupProtocol: 'consumer',
  })

  await consumer.connect()
  await consumer.subscribe({ topics: ['orders', 'payments'] })

  await consumer.run({
    autoCommit: true,
    eachMessage: async ({ topic, partition, message }) => {
      console.log(`Processing ${topic}[${partition}]: ${message.value}`)
    },
  })
}

// Examples > Consumer with Manual Offset Control
async function manualOffsetControl() {
  const consumer = kafka.consumer({
    groupId: 'manual-offset-group',
    groupProtocol: 'consumer',
    rebalanceTimeout: 120000,
  })

  await consumer.connect()
  await consumer.subscribe({ topic: 'critical-events' })

  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      try {
        await processMessage(message)
        await consumer.commitOffsets([
          { topic, partition, offset: (parseInt(message.offset) + 1).toString() },
        ])
      } catch (error) {
        console.error('Processing failed:', error)
      }
    },
  })
}

// Examples > Batch Processing with KIP-848
async function batchProcessing() {
  const consumer = kafka.consumer({
    groupId: 'batch-processor',
    groupProtocol: 'consumer',
    maxBytesPerPartition: 2 * 1024 * 1024, // 2MB per partition
  })

  await consumer.connect()
  await consumer.subscribe({ topic: 'analytics-events' })

  await consumer.run({
    eachBatch: async ({
      batch,
      resolveOffset,
      heartbeat,
      isRunning,
      isStale,
    }) => {
      for (let message of batch.messages) {
        if (!isRunning() || isStale()) break

        await processBatchMessage(message)
        resolveOffset(message.offset)
        await heartbeat()
      }
    },
  })
}

// ---------------------------------------------------------------------------------------------
// The client: KafkaConfig

const logToArray: logCreator = (level: logLevel) => (entry: LogEntry) => {
  const { namespace, label, log } = entry
  const { message, timestamp, ...extra } = log
  void level, namespace, label, message, timestamp, extra
}

const fullConfig: KafkaConfig = {
  clientId: 'full',
  brokers: async () => ['broker-1:9093', 'broker-2:9093'],
  ssl: { ca: [Buffer.from('-----BEGIN CERTIFICATE-----')], cert: '...', key: Buffer.from('...') },
  sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
  connectionTimeout: 3000,
  requestTimeout: 25000,
  retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 30000, factor: 0.2, multiplier: 2 },
  logLevel: logLevel.ERROR,
  logCreator: logToArray,
}
new Kafka(fullConfig)
new Kafka({ brokers: () => ['localhost:9092'], ssl: true, sasl: { mechanism: 'plain', username: 'u', password: 'p' } })
new Kafka({ brokers: ['localhost:9092'], sasl: { mechanism: 'scram-sha-256', username: 'u', password: 'p' } })
new Kafka({ brokers: ['localhost:9092'], logLevel: logLevel.NOTHING })

// @ts-expect-error brokers is an array or a function returning one
new Kafka({ brokers: 'localhost:9092' })
// @ts-expect-error brokers is required
new Kafka({ clientId: 'no-brokers' })
new Kafka({ brokers: ['b:9092'], sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: 't' }) } })
new Kafka({ brokers: ['b:9092'], sasl: { mechanism: 'oauthbearer', oauthBearerProvider: () => ({ value: 't', extensions: { logicalCluster: 'lkc-1' } }) } })
// @ts-expect-error oauthbearer takes a token provider, not a password
new Kafka({ brokers: ['b:9092'], sasl: { mechanism: 'oauthbearer', username: 'u', password: 'p' } })
// @ts-expect-error kafkit implements plain, SCRAM and OAUTHBEARER
new Kafka({ brokers: ['b:9092'], sasl: { mechanism: 'aws', authorizationIdentity: 'a', accessKeyId: 'k', secretAccessKey: 's' } })
// @ts-expect-error kafkit always verifies the broker certificate
new Kafka({ brokers: ['b:9092'], ssl: { rejectUnauthorized: false } })
// @ts-expect-error logLevel is the enum, not a name
new Kafka({ brokers: ['b:9092'], logLevel: 'info' })

const rootLogger: Logger = kafka.logger()
rootLogger.info('hello', { extra: 1 })
rootLogger.namespace('Mine', logLevel.DEBUG).debug('x')
rootLogger.setLogLevel(logLevel.WARN)

// Constants
const compression: CompressionTypes = CompressionTypes.ZSTD
const levels: number[] = [logLevel.NOTHING, logLevel.ERROR, logLevel.WARN, logLevel.INFO, logLevel.DEBUG]
CompressionCodecs[CompressionTypes.Snappy] = () => ({})
const topicResource: number = ResourceTypes.TOPIC
const brokerResource: ConfigResourceTypes = ConfigResourceTypes.BROKER
void compression, levels, topicResource, brokerResource

// ---------------------------------------------------------------------------------------------
// Producer

async function producing() {
  const config: ProducerConfig = {
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 5,
    retry: { retries: 3 },
  }
  const producer: Producer = kafka.producer(config)
  await producer.connect()
  const idempotent: boolean = producer.isIdempotent()

  const headers: IHeaders = { 'correlation-id': '42', trace: Buffer.from('t'), repeated: ['a', 'b'] }
  const messages: Message[] = [
    { key: 'key1', value: 'hello world' },
    { key: Buffer.from('key2'), value: Buffer.from('hey hey!'), partition: 0, headers, timestamp: Date.now().toString() },
    { key: 'tombstone', value: null },
  ]
  const sent: RecordMetadata[] = await producer.send({
    topic: 'topic-name',
    messages,
    acks: -1,
    timeout: 30000,
    compression: CompressionTypes.GZIP,
  })
  for (const { topicName, partition, errorCode, baseOffset, logAppendTime, logStartOffset } of sent) {
    const fields: [string, number, number, string, string, string] = [topicName, partition, errorCode, baseOffset, logAppendTime, logStartOffset]
    void fields
  }
  const batch: RecordMetadata[] = await producer.sendBatch({
    acks: 1,
    compression: CompressionTypes.None,
    topicMessages: [
      { topic: 'a', messages: [{ value: 'x' }] },
      { topic: 'b', messages: [{ value: 'y' }] },
    ],
  })

  const remove: RemoveInstrumentationEventListener<'producer.connect'> = producer.on(producer.events.CONNECT, event => {
    const payload: null = event.payload
    void payload
  })
  remove()
  producer.on(producer.events.REQUEST, ({ payload }) => {
    const took: number = payload.duration
    const api: string = payload.apiName
    void took, api
  })
  producer.on(producer.events.REQUEST_TIMEOUT, ({ payload }) => void payload.broker)
  producer.on(producer.events.REQUEST_QUEUE_SIZE, ({ payload }) => void payload.queueSize)
  producer.logger().warn('careful')

  // A custom partitioner, as KafkaJS users write one.
  const pickLast = () => ({ partitionMetadata }: { topic: string; partitionMetadata: { partitionId: number }[] }) =>
    partitionMetadata[partitionMetadata.length - 1].partitionId
  kafka.producer({ createPartitioner: pickLast })
  kafka.producer({ createPartitioner: Partitioners.JavaCompatiblePartitioner })
  // kafkit's extension: compression levels per codec (KIP-390).
  kafka.producer({ compressionLevels: { gzip: 9, zstd: -5 } })
  // @ts-expect-error snappy has no levels
  kafka.producer({ compressionLevels: { snappy: 1 } })

  // @ts-expect-error LegacyPartitioner is refused by kafkit
  kafka.producer({ createPartitioner: Partitioners.LegacyPartitioner })
  // @ts-expect-error a message needs a value (null for a tombstone)
  await producer.send({ topic: 'x', messages: [{ key: 'k' }] })
  // @ts-expect-error compression is CompressionTypes, not a name
  await producer.send({ topic: 'x', messages: [{ value: 'v' }], compression: 'gzip' })
  // @ts-expect-error send needs the topic
  await producer.send({ messages: [{ value: 'v' }] })
  // @ts-expect-error there is no such event
  producer.on('producer.crash', () => {})

  await producer.disconnect()
  void idempotent, batch
}

async function transactions() {
  const producer = kafka.producer({ transactionalId: 'my-tx', idempotent: true, maxInFlightRequests: 1, transactionTimeout: 30000 })
  await producer.connect()
  const transaction: Transaction = await producer.transaction()
  try {
    const sent: RecordMetadata[] = await transaction.send({ topic: 'out', messages: [{ value: 'v' }] })
    await transaction.sendBatch({ topicMessages: [{ topic: 'out', messages: [{ value: 'w' }] }] })
    await transaction.sendOffsets({
      consumerGroupId: 'my-group',
      topics: [{ topic: 'in', partitions: [{ partition: 0, offset: '42' }] }],
    })
    const active: boolean = transaction.isActive()
    await transaction.commit()
    void sent, active
  } catch (e) {
    await transaction.abort()
    throw e
  }
  // @ts-expect-error sendOffsets needs the consumer group
  await transaction.sendOffsets({ topics: [] })
  // @ts-expect-error transaction() is a promise: await it
  producer.transaction().send({ topic: 'out', messages: [] })
}

// ---------------------------------------------------------------------------------------------
// Consumer

async function consuming() {
  const config: ConsumerConfig = {
    groupId: 'everything',
    groupProtocol: 'classic',
    partitionAssigners: [PartitionAssigners.cooperativeSticky, PartitionAssigners.range, PartitionAssigners.roundRobin],
    sessionTimeout: 30000,
    rebalanceTimeout: 60000,
    heartbeatInterval: 3000,
    maxBytesPerPartition: 1048576,
    minBytes: 1,
    maxBytes: 10485760,
    maxWaitTimeInMs: 5000,
    retry: { retries: 10, restartOnFailure: async (e: Error) => e.name !== 'KafkaJSNonRetriableError' },
    allowAutoTopicCreation: false,
    readUncommitted: true,
    rackId: 'rack-a',
    groupInstanceId: 'instance-1',
  }
  const consumer: Consumer = kafka.consumer(config)
  kafka.consumer({ groupId: 'g', groupProtocol: 'consumer', groupRemoteAssignor: 'range', fallbackToClassic: true })
  kafka.consumer({ groupId: 'g', groupProtocol: 'consumer', groupRemoteAssignor: 'my-custom-server-assignor' })

  await consumer.connect()
  await consumer.subscribe({ topics: ['a', /^metrics-.*/], fromBeginning: true })
  await consumer.subscribe({ topic: /^logs-/ })

  const handler: EachMessageHandler = async ({ topic, partition, message, heartbeat, pause }: EachMessagePayload) => {
    const key: Buffer | null = message.key
    const value: Buffer | null = message.value
    const offset: string = message.offset
    const timestamp: string = message.timestamp
    const trace = message.headers['trace']
    if (Buffer.isBuffer(trace)) trace.toString('utf8')
    await heartbeat()
    const resume: () => void = pause()
    setTimeout(resume, 1000)
    void topic, partition, key, value, offset, timestamp
  }
  const runConfig: ConsumerRunConfig = {
    eachMessage: handler,
    autoCommit: true,
    autoCommitInterval: 5000,
    autoCommitThreshold: 100,
    partitionsConsumedConcurrently: 3,
  }
  await consumer.run(runConfig)

  await consumer.run({
    eachBatchAutoResolve: false,
    autoCommitInterval: null,
    eachBatch: async (payload: EachBatchPayload) => {
      const batch: Batch = payload.batch
      const lag: string = batch.offsetLag()
      const low: string = batch.offsetLagLow()
      const first: string | null = batch.firstOffset()
      const last: string = batch.lastOffset()
      const hw: string = batch.highWatermark
      if (batch.isEmpty()) return
      for (const message of batch.messages) {
        payload.resolveOffset(message.offset)
      }
      await payload.commitOffsetsIfNecessary()
      await payload.commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: last }] }] })
      const { topics } = payload.uncommittedOffsets()
      await payload.heartbeat()
      payload.pause()()
      void lag, low, first, hw, topics
    },
  })

  await consumer.commitOffsets([{ topic: 'a', partition: 0, offset: '10' }, { topic: 'a', partition: 1, offset: '5', metadata: null }])
  consumer.seek({ topic: 'a', partition: 0, offset: '0' })
  consumer.pause([{ topic: 'a' }, { topic: 'b', partitions: [0, 1] }])
  const paused: { topic: string; partitions: number[] }[] = consumer.paused()
  consumer.resume([{ topic: 'a', partitions: [0] }])
  const group: GroupDescription = await consumer.describeGroup()
  for (const m of group.members) {
    const assignment = AssignerProtocol.MemberAssignment.decode(m.memberAssignment)
    const byTopic: { [topic: string]: number[] } | undefined = assignment?.assignment
    const metadata = AssignerProtocol.MemberMetadata.decode(m.memberMetadata)
    const topics: string[] | undefined = metadata?.topics
    const epoch: number = m.memberEpoch
    void byTopic, topics, epoch
  }
  const state: string = group.state
  const groupProtocol: 'classic' | 'consumer' = group.groupProtocol
  AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: { a: [0, 1] } })
  AssignerProtocol.MemberMetadata.encode({ version: 0, topics: ['a'], userData: Buffer.alloc(0) })

  // Events: each name with its payload.
  const join = (event: ConsumerGroupJoinEvent) => {
    const { duration, groupId, isLeader, leaderId, memberId, memberEpoch, memberAssignment } = event.payload
    const leader: string | null = leaderId
    void duration, groupId, isLeader, leader, memberId, memberEpoch, memberAssignment
  }
  const removeJoin: RemoveInstrumentationEventListener<typeof consumer.events.GROUP_JOIN> = consumer.on(consumer.events.GROUP_JOIN, join)
  removeJoin()
  consumer.on(consumer.events.HEARTBEAT, (e: ConsumerHeartbeatEvent) => {
    const generation: number = e.payload.groupGenerationId
    const _: Equals<typeof e.payload.assignedPartitions, IMemberAssignment> = true
    void generation, _
  })
  consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
    for (const { topic, partitions } of payload.topics) for (const { partition, offset } of partitions) void [topic, partition, offset]
  })
  consumer.on(consumer.events.FETCH_START, ({ payload }) => void payload.nodeId)
  consumer.on(consumer.events.FETCH, ({ payload }) => void [payload.numberOfBatches, payload.duration, payload.nodeId])
  consumer.on(consumer.events.START_BATCH_PROCESS, ({ payload }) => void [payload.topic, payload.partition, payload.batchSize, payload.offsetLag])
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const duration: number = payload.duration
    void duration
  })
  consumer.on(consumer.events.CRASH, async (event: ConsumerCrashEvent) => {
    const { error, groupId, restart } = event.payload
    if (!restart) console.error(`consumer ${groupId} crashed`, error.message)
  })
  consumer.on(consumer.events.REBALANCING, ({ payload }) => void [payload.groupId, payload.memberId])
  consumer.on(consumer.events.RECEIVED_UNSUBSCRIBED_TOPICS, ({ payload }) => void payload.topicsNotSubscribed)
  consumer.on(consumer.events.CONNECT, ({ id, type, timestamp, payload }) => {
    const _: Equals<typeof payload, null> = true
    void id, type, timestamp, _
  })
  consumer.on(consumer.events.DISCONNECT, () => {})
  consumer.on(consumer.events.STOP, () => {})
  consumer.on(consumer.events.REQUEST, ({ payload }) => void [payload.broker, payload.apiName, payload.apiVersion, payload.size])
  consumer.on(consumer.events.REQUEST_TIMEOUT, ({ payload }) => void payload.timeout)
  consumer.on(consumer.events.REQUEST_QUEUE_SIZE, ({ payload }) => void payload.queueSize)
  // A listener typed for any event, as in a generic metrics hook.
  const names = Object.values(consumer.events)
  for (const name of names) consumer.on(name, (event: InstrumentationEvent<unknown>) => void event.type)
  consumer.logger().info('consuming', { groupId: 'everything' })

  await consumer.stop()
  await consumer.disconnect()
  void paused, state, groupProtocol
}

function consumerMistakes(consumer: Consumer) {
  // @ts-expect-error groupProtocol is 'classic' or 'consumer'
  kafka.consumer({ groupId: 'g', groupProtocol: 'foo' })
  // @ts-expect-error groupId is required
  kafka.consumer({ groupProtocol: 'consumer' })
  // @ts-expect-error groupRemoteAssignor is a name
  kafka.consumer({ groupId: 'g', groupProtocol: 'consumer', groupRemoteAssignor: 42 })
  const custom = () => ({
    name: 'Mine',
    version: 1,
    assign: async () => [],
    protocol: ({ topics }: { topics: string[] }) => ({ name: 'Mine', metadata: Buffer.from(topics.join()) }),
  })
  // A custom KafkaJS assigner factory (classic protocol).
  kafka.consumer({ groupId: 'g', partitionAssigners: [custom] })
  // @ts-expect-error an assigner is a factory function
  kafka.consumer({ groupId: 'g', partitionAssigners: ['roundrobin'] })
  // @ts-expect-error subscribe needs topic or topics
  consumer.subscribe({ fromBeginning: true })
  // @ts-expect-error a topic is a string or a RegExp
  consumer.subscribe({ topic: 42 })
  // @ts-expect-error run needs eachMessage or eachBatch
  consumer.run({ autoCommit: false })
  // @ts-expect-error run needs its config
  consumer.run()
  consumer.run({
    eachMessage: async ({ message }) => {
      // @ts-expect-error offsets are strings, as in KafkaJS
      const offset: number = message.offset
      // @ts-expect-error value is null for a tombstone
      message.value.toString()
      void offset
    },
  })
  consumer.run({
    eachBatch: async ({ resolveOffset, batch }) => {
      // @ts-expect-error resolveOffset takes the message's string offset
      resolveOffset(batch.messages.length)
    },
  })
  // @ts-expect-error commitOffsets takes string offsets
  consumer.commitOffsets([{ topic: 'a', partition: 0, offset: 10 }])
  // @ts-expect-error seek needs a partition
  consumer.seek({ topic: 'a', offset: '0' })
  // @ts-expect-error there is no such event
  consumer.on('consumer.nope', () => {})
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    // @ts-expect-error memberEpoch is a number
    payload.memberEpoch.toUpperCase()
  })
  consumer.on(consumer.events.HEARTBEAT, ({ payload }) => {
    // @ts-expect-error revokedPartitions is { topic: partitions }, not a list of topic-partitions
    const revoked: { topic: string; partition: number }[] = payload.revokedPartitions
    void revoked
  })
  // @ts-expect-error events are read-only
  consumer.events = {} as Consumer['events']
}

// ---------------------------------------------------------------------------------------------
// Admin

async function administering() {
  const admin: Admin = kafka.admin({ retry: { retries: 2 } })
  await admin.connect()
  const created: boolean = await admin.createTopics({
    validateOnly: false,
    waitForLeaders: true,
    timeout: 5000,
    topics: [
      { topic: 'a', numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      { topic: 'b', replicaAssignment: [{ partition: 0, replicas: [1] }] },
    ],
  })
  await admin.deleteTopics({ topics: ['b'], timeout: 5000 })
  const topics: string[] = await admin.listTopics()
  const { topics: metadata }: { topics: ITopicMetadata[] } = await admin.fetchTopicMetadata({ topics: ['a'] })
  for (const t of metadata) for (const p of t.partitions) void [t.name, p.partitionId, p.leader, p.replicas, p.isr, p.partitionErrorCode]
  await admin.fetchTopicMetadata()
  const grew: boolean = await admin.createPartitions({ topicPartitions: [{ topic: 'a', count: 6 }] })
  const committed = await admin.fetchOffsets({ groupId: 'g', topics: ['a'], resolveOffsets: false })
  for (const { topic, partitions } of committed) for (const { partition, offset, metadata: m } of partitions) void [topic, partition, offset, m]
  const ends = await admin.fetchTopicOffsets('a')
  for (const { partition, offset, high, low } of ends) void [partition, offset, high, low]
  const byTime: SeekEntry[] = await admin.fetchTopicOffsetsByTimestamp('a', Date.now() - 3600_000)
  await admin.setOffsets({ groupId: 'g', topic: 'a', partitions: [{ partition: 0, offset: '0' }] })
  await admin.resetOffsets({ groupId: 'g', topic: 'a', earliest: true })
  await admin.resetOffsets({ groupId: 'g', topic: 'a' })
  await admin.deleteTopicRecords({ topic: 'a', partitions: [{ partition: 0, offset: '-1' }] })
  const { groups } = await admin.listGroups()
  for (const { groupId, protocolType } of groups) void [groupId, protocolType]
  const described = await admin.describeGroups(['g'])
  const firstState: string | undefined = described.groups[0]?.state
  const deleted = await admin.deleteGroups(['g'])
  for (const { groupId, errorCode, error } of deleted) void [groupId, errorCode, error?.type]
  const cluster = await admin.describeCluster()
  const controller: number | null = cluster.controller
  for (const { nodeId, host, port } of cluster.brokers) void [nodeId, host, port, cluster.clusterId]
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: 'a', configNames: ['cleanup.policy'] }],
  })
  for (const r of configs.resources) for (const e of r.configEntries) void [r.resourceName, e.configName, e.configValue, e.isDefault, e.configSource]
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: 'a', configEntries: [{ name: 'retention.ms', value: '86400000' }] }],
  })
  const acl = {
    resourceType: AclResourceTypes.TOPIC,
    resourceName: 'a',
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal: 'User:bob',
    host: '*',
    operation: AclOperationTypes.READ,
    permissionType: AclPermissionTypes.ALLOW,
  }
  const aclCreated: boolean = await admin.createAcls({ acl: [acl] })
  const acls = await admin.describeAcls({ ...acl, resourceName: undefined, resourcePatternType: ResourcePatternTypes.ANY })
  for (const r of acls.resources) for (const a of r.acls) void [r.resourceName, r.resourcePatternType, a.principal, a.operation]
  const deletedAcls = await admin.deleteAcls({ filters: [{ ...acl, principal: undefined }] })
  for (const f of deletedAcls.filterResponses) for (const m of f.matchingAcls) void [f.errorCode, m.resourceName, m.permissionType]
  const sameEnum: AclResourceTypes = ResourceTypes.GROUP
  await admin.alterPartitionReassignments({ topics: [{ topic: 'a', partitionAssignment: [{ partition: 0, replicas: [2, 1] }] }] })
  const moving = await admin.listPartitionReassignments({ topics: [{ topic: 'a', partitions: [0] }] })
  for (const t of moving.topics) for (const p of t.partitions) void [t.topic, p.partitionIndex, p.replicas, p.addingReplicas]
  // @ts-expect-error an ACL's operation is an AclOperationTypes
  await admin.createAcls({ acl: [{ ...acl, operation: 'READ' }] })
  void aclCreated, sameEnum
  admin.on(admin.events.CONNECT, () => {})
  admin.on(admin.events.REQUEST, ({ payload }) => void payload.apiName)
  admin.logger().debug('admin')

  // @ts-expect-error a topic needs its name
  await admin.createTopics({ topics: [{ numPartitions: 3 }] })
  // @ts-expect-error describeGroups takes the group ids
  await admin.describeGroups('g')
  // @ts-expect-error setOffsets takes string offsets
  await admin.setOffsets({ groupId: 'g', topic: 'a', partitions: [{ partition: 0, offset: 0 }] })
  // @ts-expect-error config resources are ConfigResourceTypes
  await admin.describeConfigs({ resources: [{ type: 'topic', name: 'a' }] })

  await admin.disconnect()
  void created, topics, grew, byTime, firstState, controller
}

// ---------------------------------------------------------------------------------------------
// Errors

function errors(e: unknown) {
  if (e instanceof KafkaJSProtocolError) {
    const type: string = e.type
    const code: number = e.code
    const retriable: boolean = e.retriable
    void type, code, retriable
  }
  if (e instanceof KafkaJSNumberOfRetriesExceeded) {
    const count: number = e.retryCount
    const time: number = e.retryTime
    const nonRetriable: KafkaJSNonRetriableError = e
    void count, time, nonRetriable
  }
  if (e instanceof KafkaJSError) {
    const name: string = e.name
    const kind: string | undefined = e.kind
    void name, kind, e.helpUrl, e.cause, e.operation
    // @ts-expect-error retriable is read-only
    e.retriable = false
  }
  if (e instanceof KafkaJSConnectionError) void e.broker
  if (e instanceof KafkaJSAggregateError) void e.errors.length
  if (e instanceof KafkaJSDeleteGroupsError) for (const g of e.groups) void g.groupId
  if (e instanceof KafkaJSCreateTopicError) void [e.topic, e.type]

  const details = { message: 'broker says no', type: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3, retriable: true }
  // Every error class the package exports, built as KafkaJS builds them.
  const all: Error[] = [
    new KafkaJSError('x'),
    new KafkaJSError(new Error('x'), { retriable: false }),
    new KafkaJSNonRetriableError('x'),
    new KafkaJSProtocolError(details),
    new KafkaJSOffsetOutOfRange(details, { topic: 'a', partition: 0 }),
    new KafkaJSMemberIdRequired(details, { memberId: 'm' }),
    new KafkaJSNumberOfRetriesExceeded(new Error('x'), { retryCount: 5, retryTime: 1000 }),
    new KafkaJSConnectionError('x', { broker: 'b:9092' }),
    new KafkaJSConnectionClosedError('x', { host: 'b', port: 9092 }),
    new KafkaJSRequestTimeoutError('x', { broker: 'b:9092', correlationId: 1 }),
    new KafkaJSTimeout('x'),
    new KafkaJSLockTimeout('x'),
    new KafkaJSSASLAuthenticationError('x'),
    new KafkaJSGroupCoordinatorNotFound('x'),
    new KafkaJSNotImplemented('x'),
    new KafkaJSMetadataNotLoaded('x'),
    new KafkaJSTopicMetadataNotLoaded('x', { topic: 'a' }),
    new KafkaJSBrokerNotFound('x'),
    new KafkaJSNoBrokerAvailableError('x'),
    new KafkaJSAggregateError('x', [new Error('y')]),
    new KafkaJSDeleteGroupsError('x', [{ groupId: 'g', errorCode: 69 }]),
    new KafkaJSCreateTopicError(details, 'a'),
    new KafkaJSDeleteTopicRecordsError({ partitions: [{ partition: 0, offset: '1', error: new KafkaJSError('z') }] }),
    new KafkaJSInvalidVarIntError('x'),
    new KafkaJSUnsupportedMagicByteInMessageSet('x'),
    new KafkaJSServerDoesNotSupportApiKey('x', { apiKey: 68, apiName: 'ConsumerGroupHeartbeat' }),
  ]
  const protocolCode: Equals<KafkaJSProtocolError['code'], number> = true
  const protocolType: Equals<KafkaJSProtocolError['type'], string> = true
  const retriable: Equals<KafkaJSError['retriable'], boolean> = true
  const sasl: KafkaJSNonRetriableError = new KafkaJSSASLAuthenticationError('x')
  // @ts-expect-error a protocol error is built from the broker's error (type, code, retriable)
  new KafkaJSProtocolError('x')
  // @ts-expect-error the aggregate error is not a KafkaJSError
  const notKafkaJS: KafkaJSError = new KafkaJSAggregateError('x', [])
  void all, protocolCode, protocolType, retriable, sasl, notKafkaJS
}

// Exact shapes a few of the types must keep.
const checks: [
  Equals<EachMessagePayload['message'], KafkaMessage>,
  Equals<KafkaMessage['offset'], string>,
  Equals<KafkaMessage['timestamp'], string>,
  Equals<KafkaMessage['key'], Buffer | null>,
  Equals<Parameters<Consumer['subscribe']>[0]['fromBeginning'], boolean | undefined>,
  Equals<NonNullable<ConsumerConfig['groupProtocol']>, 'classic' | 'consumer'>,
  Equals<ReturnType<Producer['send']>, Promise<RecordMetadata[]>>,
  Equals<ReturnType<Producer['transaction']>, Promise<Transaction>>,
  Equals<ConsumerGroupJoinEvent['payload']['memberAssignment'], IMemberAssignment>,
  Equals<ConsumerHeartbeatEvent['payload']['revokedPartitions'], IMemberAssignment>,
  Equals<ReturnType<Admin['listTopics']>, Promise<string[]>>,
] = [true, true, true, true, true, true, true, true, true, true, true]
const assigners: PartitionAssigner[] = [PartitionAssigners.roundRobin, PartitionAssigners.range, PartitionAssigners.cooperativeSticky]

void [
  basicConfiguration,
  serverSideAssignor,
  liveMigration,
  monitoring,
  autoOffsetManagement,
  manualOffsetControl,
  batchProcessing,
  producing,
  transactions,
  consuming,
  consumerMistakes,
  administering,
  errors,
  checks,
  assigners,
]
