// TypeScript declarations of the kafkit package: KafkaJS's API (the shapes of KafkaJS 2.2.4's
// types/index.d.ts) as this package implements it, with the KIP-848 consumer options
// (`groupProtocol`, `groupRemoteAssignor`) and the fields kafkit's events and errors add.
// Where kafkit differs from KafkaJS (an option it refuses, a field it does not set), these
// declarations follow what the package does, so the compiler says it before the broker does.
// One file of about 1,200 lines, like KafkaJS's types/index.d.ts, with its sections (client,
// producer, consumer, admin, errors) in KafkaJS's order, so each declaration is found where a
// KafkaJS user looks for it.

/// <reference types="node" />

type ValueOf<T> = T[keyof T]

// ---------------------------------------------------------------------------------------------
// Client

export type BrokersFunction = () => string[] | Promise<string[]>

/** A PEM certificate or key: a string, a Buffer, or several of them. */
export type PemInput = string | Buffer | Array<string | Buffer>

/**
 * TLS options. kafkit always verifies the broker's certificate (give the CA that signed it as
 * `ca`); `rejectUnauthorized: false`, `pfx` and `passphrase` are refused.
 */
export interface SSLOptions {
  ca?: PemInput
  cert?: PemInput
  key?: PemInput
  rejectUnauthorized?: true
}

/** SASL mechanisms kafkit implements (the names are matched case-insensitively at runtime). */
export type SASLMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512' | 'oauthbearer'

export interface OauthbearerProviderResponse {
  /** The token (a compact JWS); its `exp` claim, when present, says when to ask again. */
  value: string
  /** SASL extensions (KIP-342), e.g. `logicalCluster`. */
  extensions?: Record<string, string>
}

export interface PasswordSASLOptions {
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'
  username: string
  password: string
}

export interface OauthbearerSASLOptions {
  mechanism: 'oauthbearer'
  /** Called when a connection authenticates and the last token nears its expiry. */
  oauthBearerProvider: () => Promise<OauthbearerProviderResponse> | OauthbearerProviderResponse
}

export type SASLOptions = PasswordSASLOptions | OauthbearerSASLOptions

export interface RetryOptions {
  maxRetryTime?: number
  initialRetryTime?: number
  factor?: number
  multiplier?: number
  retries?: number
  restartOnFailure?: (e: Error) => Promise<boolean>
}

export interface KafkaConfig {
  brokers: string[] | BrokersFunction
  clientId?: string
  ssl?: SSLOptions | boolean
  sasl?: SASLOptions
  /** Default 1000 ms. */
  connectionTimeout?: number
  /** Default 30000 ms. */
  requestTimeout?: number
  /** Accepted for KafkaJS compatibility; kafkit ignores it. */
  authenticationTimeout?: number
  /** Accepted for KafkaJS compatibility; kafkit ignores it. */
  reauthenticationThreshold?: number
  /** Accepted for KafkaJS compatibility; kafkit always enforces `requestTimeout`. */
  enforceRequestTimeout?: boolean
  retry?: RetryOptions
  /** Default `logLevel.INFO`. */
  logLevel?: logLevel
  logCreator?: logCreator
  /**
   * kafkit's extension. Protocol errors carry KafkaJS's message for their type (e.g. "Number of
   * partitions is invalid") and kafkit's fuller description (operation, resource, fix) as
   * `detail`; `true` keeps kafkit's description as the message instead (process-wide).
   */
  kafkitErrorMessages?: boolean
  /**
   * kafkit's extension. A send or subscription to a topic this client may not describe fails
   * at once with TOPIC_AUTHORIZATION_FAILED, as in KafkaJS; `true` waits for the permission
   * instead, until the request times out.
   */
  kafkitWaitForTopicAuthorization?: boolean
  /**
   * kafkit's extension. KafkaJS's special offsets -2 (earliest) and -1 (latest): by default
   * `consumer.seek` moves to them and `admin.resetOffsets` / `admin.setOffsets` commit them as
   * they are, as KafkaJS does; `true` follows kafkit's core instead: `seek` refuses them and the
   * admin calls commit the offsets they stand for, looked up.
   */
  kafkitStrictOffsets?: boolean
}

export class Kafka {
  constructor(config: KafkaConfig)
  producer(config?: ProducerConfig): Producer
  consumer(config: ConsumerConfig): Consumer
  /** kafkit: a member of a share group (KIP-932, Apache Kafka 4.2+). */
  shareConsumer(config: ShareConsumerConfig): ShareConsumer
  admin(config?: AdminConfig): Admin
  logger(): Logger
}

// ---------------------------------------------------------------------------------------------
// Logging

export enum logLevel {
  NOTHING = 0,
  ERROR = 1,
  WARN = 2,
  INFO = 4,
  DEBUG = 5,
}

export interface LoggerEntryContent {
  readonly timestamp: string
  readonly message: string
  readonly logger?: string
  [key: string]: any
}

export interface LogEntry {
  namespace: string
  level: logLevel
  label: string
  log: LoggerEntryContent
}

export type logCreator = (logLevel: logLevel) => (entry: LogEntry) => void

export interface Logger {
  info: (message: string, extra?: object) => void
  error: (message: string, extra?: object) => void
  warn: (message: string, extra?: object) => void
  debug: (message: string, extra?: object) => void
  namespace: (namespace: string, logLevel?: logLevel) => Logger
  setLogLevel: (logLevel: logLevel) => void
}

// ---------------------------------------------------------------------------------------------
// Constants

export enum CompressionTypes {
  None = 0,
  GZIP = 1,
  Snappy = 2,
  LZ4 = 3,
  ZSTD = 4,
}

/**
 * KafkaJS's codec registry. kafkit has every codec built in: registering one (for example
 * `CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec`) is accepted and changes nothing.
 */
export const CompressionCodecs: {
  [CompressionTypes.GZIP]: () => any
  [CompressionTypes.Snappy]: () => any
  [CompressionTypes.LZ4]: () => any
  [CompressionTypes.ZSTD]: () => any
}

export enum AclResourceTypes {
  UNKNOWN = 0,
  ANY = 1,
  TOPIC = 2,
  GROUP = 3,
  CLUSTER = 4,
  TRANSACTIONAL_ID = 5,
  DELEGATION_TOKEN = 6,
}

/** KafkaJS 1.x's name of `AclResourceTypes`. */
export { AclResourceTypes as ResourceTypes }

export enum AclOperationTypes {
  UNKNOWN = 0,
  ANY = 1,
  ALL = 2,
  READ = 3,
  WRITE = 4,
  CREATE = 5,
  DELETE = 6,
  ALTER = 7,
  DESCRIBE = 8,
  CLUSTER_ACTION = 9,
  DESCRIBE_CONFIGS = 10,
  ALTER_CONFIGS = 11,
  IDEMPOTENT_WRITE = 12,
}

export enum AclPermissionTypes {
  UNKNOWN = 0,
  ANY = 1,
  DENY = 2,
  ALLOW = 3,
}

export enum ResourcePatternTypes {
  UNKNOWN = 0,
  ANY = 1,
  MATCH = 2,
  LITERAL = 3,
  PREFIXED = 4,
}

export enum ConfigResourceTypes {
  UNKNOWN = 0,
  TOPIC = 2,
  BROKER = 4,
  BROKER_LOGGER = 8,
}

/**
 * Where a config value comes from (Kafka's DescribeConfigs `config_source`): 0 unknown,
 * 1 topic config, 2 dynamic broker config, 3 dynamic default broker config, 4 static broker
 * config, 5 default config, 6 dynamic broker logger config. A type only: the package exports
 * no `ConfigSource` object.
 */
export type ConfigSource = 0 | 1 | 2 | 3 | 4 | 5 | 6

// ---------------------------------------------------------------------------------------------
// Topics, partitions, offsets

export interface PartitionMetadata {
  partitionErrorCode: number
  partitionId: number
  leader: number
  leaderEpoch?: number
  replicas: number[]
  isr: number[]
  offlineReplicas?: number[]
}

export interface TopicPartition {
  topic: string
  partition: number
}

export interface TopicPartitionOffset extends TopicPartition {
  offset: string
}

export interface TopicPartitionOffsetAndMetadata extends TopicPartitionOffset {
  metadata?: string | null
}

export interface TopicPartitions {
  topic: string
  partitions: number[]
}

export interface PartitionOffset {
  partition: number
  offset: string
}

export interface TopicOffsets {
  topic: string
  partitions: PartitionOffset[]
}

export interface Offsets {
  topics: TopicOffsets[]
}

export interface OffsetsByTopicPartition {
  topics: TopicOffsets[]
}

export type SeekEntry = PartitionOffset

export type FetchOffsetsPartition = PartitionOffset & { metadata: string | null }

/** `{ topic: [partitions] }`, as KafkaJS gives an assignment. */
export interface IMemberAssignment {
  [topic: string]: number[]
}

export type Assignment = { [topic: string]: number[] }

// ---------------------------------------------------------------------------------------------
// Instrumentation events

export interface InstrumentationEvent<T> {
  id: number
  type: string
  timestamp: number
  payload: T
}

export type RemoveInstrumentationEventListener<T> = () => void

export type ConnectEvent = InstrumentationEvent<null>
export type DisconnectEvent = InstrumentationEvent<null>

export type RequestEvent = InstrumentationEvent<{
  /** `host:port` of the broker. */
  broker: string
  /** The API name, e.g. `Produce`, `Fetch`, `ConsumerGroupHeartbeat`. */
  apiName: string
  apiVersion: number
  /** Round trip, ms. */
  duration: number
  /** Bytes sent. */
  size: number
}>

export type RequestTimeoutEvent = InstrumentationEvent<{
  broker: string
  apiName: string
  /** The timeout that expired, ms. */
  timeout: number
}>

export type RequestQueueSizeEvent = InstrumentationEvent<{
  broker: string
  queueSize: number
}>

// ---------------------------------------------------------------------------------------------
// Producer

export interface IHeaders {
  [key: string]: Buffer | string | null | (Buffer | string | null)[] | undefined
}

export interface Message {
  key?: Buffer | string | null
  value: Buffer | string | null
  partition?: number
  headers?: IHeaders
  timestamp?: string
}

export interface PartitionerArgs {
  topic: string
  partitionMetadata: PartitionMetadata[]
  message: Message
}

/** A custom partitioner: called once by the producer, its answer called per message. */
export type ICustomPartitioner = () => (args: PartitionerArgs) => number
export type DefaultPartitioner = ICustomPartitioner & { readonly kafkit: 'default' }
/** Refused by kafkit's producer (use `Partitioners.DefaultPartitioner`, KafkaJS's default since 2.0). */
export type LegacyPartitioner = (() => never) & { readonly kafkit: 'legacy' }

export const Partitioners: {
  /** Java's murmur2 partitioner, computed in kafkit's core. */
  DefaultPartitioner: DefaultPartitioner
  /**
   * @deprecated Use DefaultPartitioner instead (KafkaJS renamed it in 2.0.0).
   */
  JavaCompatiblePartitioner: DefaultPartitioner
  /**
   * @deprecated Not supported by kafkit: `kafka.producer({ createPartitioner:
   * Partitioners.LegacyPartitioner })` throws KafkaJSNonRetriableError.
   */
  LegacyPartitioner: LegacyPartitioner
}

export interface ProducerConfig {
  /**
   * `Partitioners.DefaultPartitioner` (the default) or a custom partitioner
   * (`Partitioners.LegacyPartitioner` is refused).
   */
  createPartitioner?: ICustomPartitioner & { readonly kafkit?: 'default' }
  retry?: RetryOptions
  /** Accepted for KafkaJS compatibility; kafkit refreshes metadata on its own schedule. */
  metadataMaxAge?: number
  /** Accepted for KafkaJS compatibility; kafkit leaves topic creation to the broker's setting. */
  allowAutoTopicCreation?: boolean
  idempotent?: boolean
  /** Makes the producer transactional (and idempotent). */
  transactionalId?: string
  /** Default 60000 ms. */
  transactionTimeout?: number
  /** At most 5 with `idempotent`. */
  maxInFlightRequests?: number
  /**
   * kafkit extension (KafkaJS has no compression levels): the level each codec compresses at
   * when a `send`/`sendBatch` picks it with `compression` (KIP-390, the Java client's
   * `compression.<codec>.level`), e.g. `kafka.producer({ compressionLevels: { gzip: 9 } })`.
   * A level out of range throws KafkaJSNonRetriableError from `kafka.producer()`.
   */
  compressionLevels?: CompressionLevels
}

/**
 * kafkit's compression levels per codec, with the Java client's ranges and defaults. gzip and
 * zstd honour every level. lz4 accepts its range, but kafkit's pure-Rust LZ4 has one level
 * (LZ4's fast compressor), so an lz4 level does not change what is written. Snappy has no
 * levels.
 */
export interface CompressionLevels {
  /** 1..9, or -1 (zlib's default); default 6. */
  gzip?: number
  /** 1..17; default 9 (compresses at LZ4's fast level whatever the value). */
  lz4?: number
  /** -131072..22 (0 = 3, as in zstd); default 3. Levels 16 and up are slow (about 2 MB/s). */
  zstd?: number
}

export interface ProducerRecord {
  topic: string
  messages: Message[]
  /** -1 (all, the default), 0 or 1; an idempotent producer requires -1. */
  acks?: number
  /** Default 30000 ms. */
  timeout?: number
  compression?: CompressionTypes
}

export interface TopicMessages {
  topic: string
  messages: Message[]
}

export interface ProducerBatch {
  acks?: number
  timeout?: number
  compression?: CompressionTypes
  topicMessages?: TopicMessages[]
}

/** One entry per partition written, with the first offset written there. */
export interface RecordMetadata {
  topicName: string
  partition: number
  errorCode: number
  baseOffset: string
  logAppendTime: string
  logStartOffset: string
}

export interface Sender {
  send(record: ProducerRecord): Promise<RecordMetadata[]>
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>
}

export interface Transaction extends Sender {
  sendOffsets(offsets: Offsets & { consumerGroupId: string }): Promise<void>
  commit(): Promise<void>
  abort(): Promise<void>
  isActive(): boolean
}

export type ProducerEvents = {
  CONNECT: 'producer.connect'
  DISCONNECT: 'producer.disconnect'
  REQUEST: 'producer.network.request'
  REQUEST_TIMEOUT: 'producer.network.request_timeout'
  REQUEST_QUEUE_SIZE: 'producer.network.request_queue_size'
}

/** The event each producer event name delivers. */
export interface ProducerEventMap {
  'producer.connect': ConnectEvent
  'producer.disconnect': DisconnectEvent
  'producer.network.request': RequestEvent
  'producer.network.request_timeout': RequestTimeoutEvent
  'producer.network.request_queue_size': RequestQueueSizeEvent
}

export interface Producer extends Sender {
  connect(): Promise<void>
  disconnect(): Promise<void>
  isIdempotent(): boolean
  readonly events: ProducerEvents
  on<E extends ValueOf<ProducerEvents>>(
    eventName: E,
    listener: (event: ProducerEventMap[E]) => void
  ): RemoveInstrumentationEventListener<E>
  /** Begins a transaction (needs `transactionalId`); one at a time per producer. */
  transaction(): Promise<Transaction>
  logger(): Logger
}

// ---------------------------------------------------------------------------------------------
// Partition assigners (classic protocol)

export interface GroupMember {
  memberId: string
  memberMetadata: Buffer
}

export interface GroupMemberAssignment {
  memberId: string
  memberAssignment: Buffer
}

export interface GroupState {
  name: string
  metadata: Buffer
}

export interface Assigner {
  name: string
  version: number
  assign(group: { members: GroupMember[]; topics: string[] }): Promise<GroupMemberAssignment[]>
  protocol(subscription: { topics: string[] }): GroupState
}

/** What a custom assigner factory gets as `cluster`: the partitions of the assignment in progress. */
export interface AssignerCluster {
  findTopicPartitionMetadata(topic: string): Array<{ partitionId: number; partitionErrorCode: number; leader: number; replicas: number[]; isr: number[] }>
}

/**
 * One of `PartitionAssigners` (run in kafkit's native core, named by `kafkitName`), or a
 * custom KafkaJS assigner factory: the core calls its `assign` when this member leads a
 * classic group.
 */
export type PartitionAssigner = ((config: { cluster: AssignerCluster; groupId: string; logger: Logger }) => Assigner) & {
  readonly kafkitName?: 'RoundRobinAssigner' | 'range' | 'cooperative-sticky'
}

export const PartitionAssigners: {
  roundRobin: PartitionAssigner
  range: PartitionAssigner
  cooperativeSticky: PartitionAssigner
}

export interface MemberMetadata {
  version: number
  topics: string[]
  userData: Buffer
}

export interface MemberAssignment {
  version: number
  assignment: Assignment
  userData: Buffer
}

/** `encode` takes the fields it is given (version 0, no topics, empty userData otherwise). */
export interface ISerializer<T> {
  encode(value: Partial<T>): Buffer
  decode(buffer: Buffer): T | null
}

/** The classic consumer protocol's member metadata and assignment (Kafka's ConsumerProtocol). */
export const AssignerProtocol: {
  MemberMetadata: ISerializer<MemberMetadata>
  MemberAssignment: ISerializer<MemberAssignment>
}

// ---------------------------------------------------------------------------------------------
// Consumer

/** `'classic'` (JoinGroup/SyncGroup, the default) or `'consumer'` (KIP-848, Kafka 4.0+). */
export type GroupProtocol = 'classic' | 'consumer'

export interface ConsumerConfig {
  groupId: string
  /**
   * The group protocol, `'classic'` unless set. Anything else throws KafkaJSNonRetriableError
   * "Consumer groupProtocol must be either 'classic' or 'consumer'".
   */
  groupProtocol?: GroupProtocol
  /**
   * With `groupProtocol: 'consumer'`: the broker's assignor, `'uniform'` (the broker's default)
   * or `'range'` (or another assignor the broker is configured with).
   */
  groupRemoteAssignor?: 'uniform' | 'range' | (string & {})
  /** Classic protocol only (ignored with a warning under `'consumer'`). Default `[PartitionAssigners.roundRobin]`. */
  partitionAssigners?: PartitionAssigner[]
  /** Classic protocol only (ignored with a warning under `'consumer'`: the broker's `group.consumer.session.timeout.ms`). Default 30000 ms. */
  sessionTimeout?: number
  /** Default 60000 ms; both protocols. */
  rebalanceTimeout?: number
  /** Classic protocol only (ignored with a warning under `'consumer'`: the broker's `group.consumer.heartbeat.interval.ms`). Default 3000 ms. */
  heartbeatInterval?: number
  /** Default 1048576. */
  maxBytesPerPartition?: number
  /** Default 1. */
  minBytes?: number
  /** Default 10485760. */
  maxBytes?: number
  /** Default 5000 ms. */
  maxWaitTimeInMs?: number
  /** Retries of a failing eachMessage/eachBatch; `restartOnFailure` decides a restart after a crash. */
  retry?: RetryOptions & { restartOnFailure?: (err: Error) => Promise<boolean> }
  /** Accepted for KafkaJS compatibility; kafkit leaves topic creation to the broker's setting. */
  allowAutoTopicCreation?: boolean
  /** Accepted for KafkaJS compatibility; kafkit refreshes metadata on its own schedule. */
  metadataMaxAge?: number
  /** Accepted for KafkaJS compatibility; kafkit ignores it. */
  maxInFlightRequests?: number
  /** Read records of open and aborted transactions too. Default false (read committed). */
  readUncommitted?: boolean
  rackId?: string
  /** kafkit: static membership (Java's `group.instance.id`). */
  groupInstanceId?: string
  /**
   * kafkit: with `groupProtocol: 'consumer'`, a broker without KIP-848 makes the consumer use
   * the classic protocol (with a warning) instead of failing. Default false.
   */
  fallbackToClassic?: boolean
}

/**
 * A consumed record. `key`, `value` and header values are Buffers; `offset` and `timestamp`
 * are strings, as in KafkaJS.
 */
export interface KafkaMessage {
  key: Buffer | null
  value: Buffer | null
  timestamp: string
  attributes: number
  offset: string
  /** A repeated header is an array of its values. */
  headers: IHeaders
  magicByte: number
  isControlRecord: boolean
  batchContext: null
  size: number
}

export interface Batch {
  topic: string
  partition: number
  highWatermark: string
  messages: KafkaMessage[]
  isEmpty(): boolean
  firstOffset(): string | null
  lastOffset(): string
  offsetLag(): string
  offsetLagLow(): string
}

export interface EachMessagePayload {
  topic: string
  partition: number
  message: KafkaMessage
  heartbeat(): Promise<void>
  /** Pauses this message's partition; the answer resumes it. */
  pause(): () => void
}

export interface EachBatchPayload {
  batch: Batch
  resolveOffset(offset: string): void
  heartbeat(): Promise<void>
  pause(): () => void
  commitOffsetsIfNecessary(offsets?: Offsets): Promise<void>
  uncommittedOffsets(): OffsetsByTopicPartition
  isRunning(): boolean
  isStale(): boolean
}

/** Alias kept for code written against @types/kafkajs. */
export type ConsumerEachMessagePayload = EachMessagePayload
/** Alias kept for code written against @types/kafkajs. */
export type ConsumerEachBatchPayload = EachBatchPayload

export type EachBatchHandler = (payload: EachBatchPayload) => Promise<void>
export type EachMessageHandler = (payload: EachMessagePayload) => Promise<void>

export interface ConsumerRunOptions {
  /** Default true. */
  autoCommit?: boolean
  autoCommitInterval?: number | null
  autoCommitThreshold?: number | null
  /** eachBatch: resolve the batch's last offset when the handler returns. Default true. */
  eachBatchAutoResolve?: boolean
  /** Default 1. */
  partitionsConsumedConcurrently?: number
}

/** `run`'s options: one of `eachMessage` or `eachBatch` (the consumer throws without one). */
export type ConsumerRunConfig = ConsumerRunOptions &
  (
    | { eachMessage: EachMessageHandler; eachBatch?: undefined }
    | { eachBatch: EachBatchHandler; eachMessage?: undefined }
  )

/** @deprecated Replaced by ConsumerSubscribeTopics (as in KafkaJS). */
export type ConsumerSubscribeTopic = { topic: string | RegExp; fromBeginning?: boolean }
/**
 * `classic`: a RegExp is matched against the cluster's topics when `subscribe` is called
 * (connect first). `consumer`: the broker evaluates it (sent in RE2/J syntax), so topics created
 * later join; one RE2/J cannot express (a lookaround, a backreference, a flag but `i`) is refused.
 */
export type ConsumerSubscribeTopics = { topics: (string | RegExp)[]; fromBeginning?: boolean }

export type MemberDescription = {
  clientHost: string
  clientId: string
  memberId: string
  /** The member's assignment as the classic protocol's MemberAssignment (see AssignerProtocol). */
  memberAssignment: Buffer
  /** The member's subscription as the classic protocol's MemberMetadata. */
  memberMetadata: Buffer
  /** kafkit: static membership id. */
  groupInstanceId: string | null
  /** kafkit: the member's rack (KIP-848 groups). */
  rackId: string | null
  /** kafkit: the member epoch (KIP-848 groups; -1 for classic). */
  memberEpoch: number
}

/** Classic and KIP-848 group states. */
export type ConsumerGroupState =
  | 'Unknown'
  | 'PreparingRebalance'
  | 'CompletingRebalance'
  | 'Stable'
  | 'Dead'
  | 'Empty'
  | 'Assigning'
  | 'Reconciling'

export type GroupDescription = {
  errorCode: number
  groupId: string
  members: MemberDescription[]
  /** Classic: the assignor chosen; KIP-848: the server assignor. */
  protocol: string
  protocolType: string
  state: ConsumerGroupState
  /** kafkit: the group's protocol. */
  groupProtocol: GroupProtocol
  /** kafkit: the group epoch (KIP-848 groups; -1 for classic). */
  groupEpoch: number
}

export type GroupDescriptions = {
  groups: GroupDescription[]
}

export type ConsumerEvents = {
  HEARTBEAT: 'consumer.heartbeat'
  COMMIT_OFFSETS: 'consumer.commit_offsets'
  GROUP_JOIN: 'consumer.group_join'
  FETCH_START: 'consumer.fetch_start'
  FETCH: 'consumer.fetch'
  START_BATCH_PROCESS: 'consumer.start_batch_process'
  END_BATCH_PROCESS: 'consumer.end_batch_process'
  CONNECT: 'consumer.connect'
  DISCONNECT: 'consumer.disconnect'
  STOP: 'consumer.stop'
  CRASH: 'consumer.crash'
  REBALANCING: 'consumer.rebalancing'
  RECEIVED_UNSUBSCRIBED_TOPICS: 'consumer.received_unsubscribed_topics'
  REQUEST: 'consumer.network.request'
  REQUEST_TIMEOUT: 'consumer.network.request_timeout'
  REQUEST_QUEUE_SIZE: 'consumer.network.request_queue_size'
}

/**
 * A member joined (classic: JoinGroup and SyncGroup done; KIP-848: the first heartbeat
 * answered with a member epoch).
 */
export type ConsumerGroupJoinEvent = InstrumentationEvent<{
  duration: number
  groupId: string
  isLeader: boolean
  /** Classic: the leader's member id; null under KIP-848, which has no leader. */
  leaderId: string | null
  /** The group protocol joined with (KafkaJS gives the assignor's name here). */
  groupProtocol: GroupProtocol
  memberId: string
  /** The member epoch (KIP-848) or the generation id (classic). */
  memberEpoch: number
  /** Under KIP-848 the broker's target assignment, which the member then reconciles. */
  memberAssignment: IMemberAssignment
}>

/** A heartbeat was answered; under KIP-848 with the assignment changes it brought. */
export type ConsumerHeartbeatEvent = InstrumentationEvent<{
  groupId: string
  memberId: string
  /** The member epoch (KIP-848) or the generation id (classic). */
  groupGenerationId: number
  memberEpoch: number
  groupProtocol: GroupProtocol
  /** Partitions the answer assigned (empty when none, always empty under classic). */
  assignedPartitions: IMemberAssignment
  /** Partitions the answer revoked (empty when none, always empty under classic). */
  revokedPartitions: IMemberAssignment
}>

export type ConsumerCommitOffsetsEvent = InstrumentationEvent<{
  groupId: string
  topics: TopicOffsets[]
}>

export type ConsumerFetchStartEvent = InstrumentationEvent<{ nodeId: number }>

export type ConsumerFetchEvent = InstrumentationEvent<{
  numberOfBatches: number
  duration: number
  nodeId: number
}>

export interface IBatchProcessEvent {
  topic: string
  partition: number
  highWatermark: string
  offsetLag: string
  offsetLagLow: string
  batchSize: number
  firstOffset: string | null
  lastOffset: string
}

export type ConsumerStartBatchProcessEvent = InstrumentationEvent<IBatchProcessEvent>
export type ConsumerEndBatchProcessEvent = InstrumentationEvent<IBatchProcessEvent & { duration: number }>

export type ConsumerCrashEvent = InstrumentationEvent<{
  error: Error
  groupId: string
  restart: boolean
}>

export type ConsumerRebalancingEvent = InstrumentationEvent<{
  groupId: string
  memberId: string
}>

export type ConsumerReceivedUnsubcribedTopicsEvent = InstrumentationEvent<{
  groupId: string
  generationId: number
  memberId: string
  assignedTopics: string[]
  topicsSubscribed: string[]
  topicsNotSubscribed: string[]
}>

/** The event each consumer event name delivers. */
export interface ConsumerEventMap {
  'consumer.heartbeat': ConsumerHeartbeatEvent
  'consumer.commit_offsets': ConsumerCommitOffsetsEvent
  'consumer.group_join': ConsumerGroupJoinEvent
  'consumer.fetch_start': ConsumerFetchStartEvent
  'consumer.fetch': ConsumerFetchEvent
  'consumer.start_batch_process': ConsumerStartBatchProcessEvent
  'consumer.end_batch_process': ConsumerEndBatchProcessEvent
  'consumer.connect': ConnectEvent
  'consumer.disconnect': DisconnectEvent
  'consumer.stop': InstrumentationEvent<null>
  'consumer.crash': ConsumerCrashEvent
  'consumer.rebalancing': ConsumerRebalancingEvent
  'consumer.received_unsubscribed_topics': ConsumerReceivedUnsubcribedTopicsEvent
  'consumer.network.request': RequestEvent
  'consumer.network.request_timeout': RequestTimeoutEvent
  'consumer.network.request_queue_size': RequestQueueSizeEvent
}

export interface Consumer {
  connect(): Promise<void>
  disconnect(): Promise<void>
  subscribe(subscription: ConsumerSubscribeTopics | ConsumerSubscribeTopic): Promise<void>
  stop(): Promise<void>
  run(config: ConsumerRunConfig): Promise<void>
  commitOffsets(topicPartitions: Array<TopicPartitionOffsetAndMetadata>): Promise<void>
  seek(topicPartitionOffset: TopicPartitionOffset): void
  describeGroup(): Promise<GroupDescription>
  pause(topics: Array<{ topic: string; partitions?: number[] }>): void
  paused(): TopicPartitions[]
  resume(topics: Array<{ topic: string; partitions?: number[] }>): void
  /** Adds a listener; the answer removes it. */
  on<E extends ValueOf<ConsumerEvents>>(
    eventName: E,
    listener: (event: ConsumerEventMap[E]) => void
  ): RemoveInstrumentationEventListener<E>
  logger(): Logger
  readonly events: ConsumerEvents
}

// ---------------------------------------------------------------------------------------------
// Admin

export interface AdminConfig {
  retry?: RetryOptions
}

export interface ReplicaAssignment {
  partition: number
  replicas: Array<number>
}

export interface PartitionReassignment {
  topic: string
  partitionAssignment: Array<ReplicaAssignment>
}

export interface OngoingPartitionReassignment {
  /** KafkaJS's runtime name of the partition index. */
  partition: number
  /** KafkaJS's declared name of the same index. */
  partitionIndex: number
  replicas: number[]
  addingReplicas: number[]
  removingReplicas: number[]
}

export interface OngoingTopicReassignment {
  topic: string
  /** KafkaJS's runtime name of the topic. */
  name: string
  partitions: OngoingPartitionReassignment[]
}

export interface ListPartitionReassignmentsResponse {
  topics: OngoingTopicReassignment[]
}

export interface Acl {
  principal: string
  host: string
  operation: AclOperationTypes
  permissionType: AclPermissionTypes
}

export interface AclResource {
  resourceType: AclResourceTypes
  resourceName: string
  resourcePatternType: ResourcePatternTypes
}

export type AclEntry = Acl & AclResource

export type DescribeAclResource = AclResource & { acls: Acl[] }

export interface DescribeAclResponse {
  throttleTime: number
  errorCode: number
  errorMessage?: string
  resources: DescribeAclResource[]
}

export interface AclFilter {
  resourceType: AclResourceTypes
  resourceName?: string
  resourcePatternType: ResourcePatternTypes
  principal?: string
  host?: string
  operation: AclOperationTypes
  permissionType: AclPermissionTypes
}

export interface MatchingAcl extends AclEntry {
  errorCode: number
  errorMessage?: string | null
}

export interface DeleteAclFilterResponses {
  errorCode: number
  errorMessage?: string | null
  matchingAcls: MatchingAcl[]
}

export interface DeleteAclResponse {
  throttleTime: number
  filterResponses: DeleteAclFilterResponses[]
}

export interface IResourceConfigEntry {
  name: string
  value: string
}

export interface ITopicConfig {
  topic: string
  numPartitions?: number
  replicationFactor?: number
  replicaAssignment?: ReplicaAssignment[]
  configEntries?: IResourceConfigEntry[]
}

export interface ITopicPartitionConfig {
  topic: string
  /** The new total number of partitions. */
  count: number
  assignments?: Array<Array<number>>
}

export interface ITopicMetadata {
  name: string
  partitions: PartitionMetadata[]
}

export interface ResourceConfigQuery {
  type: ConfigResourceTypes
  name: string
  configNames?: string[]
}

export interface ConfigSynonyms {
  configName: string
  configValue: string
  configSource: ConfigSource
}

export interface ConfigEntries {
  configName: string
  configValue: string
  isDefault: boolean
  configSource: ConfigSource
  isSensitive: boolean
  readOnly: boolean
  configSynonyms: ConfigSynonyms[]
}

export interface DescribeConfigResponse {
  resources: {
    configEntries: ConfigEntries[]
    errorCode: number
    errorMessage: string
    resourceName: string
    resourceType: ConfigResourceTypes
  }[]
  throttleTime: number
}

export interface IResourceConfig {
  type: ConfigResourceTypes
  name: string
  configEntries: IResourceConfigEntry[]
}

export interface AlterConfigsResponse {
  resources: {
    errorCode: number
    errorMessage: string | null
    resourceName: string
    resourceType: ConfigResourceTypes
  }[]
  throttleTime: number
}

export type GroupOverview = {
  groupId: string
  protocolType: string
}

export type DeleteGroupsResult = {
  groupId: string
  errorCode?: number
  error?: KafkaJSProtocolError
}

export type AdminEvents = {
  CONNECT: 'admin.connect'
  DISCONNECT: 'admin.disconnect'
  REQUEST: 'admin.network.request'
  REQUEST_TIMEOUT: 'admin.network.request_timeout'
  REQUEST_QUEUE_SIZE: 'admin.network.request_queue_size'
}

/** The event each admin event name delivers. */
export interface AdminEventMap {
  'admin.connect': ConnectEvent
  'admin.disconnect': DisconnectEvent
  'admin.network.request': RequestEvent
  'admin.network.request_timeout': RequestTimeoutEvent
  'admin.network.request_queue_size': RequestQueueSizeEvent
}

export interface Admin {
  connect(): Promise<void>
  disconnect(): Promise<void>
  /** `false` when a topic existed already. */
  createTopics(options: {
    validateOnly?: boolean
    waitForLeaders?: boolean
    timeout?: number
    topics: ITopicConfig[]
  }): Promise<boolean>
  deleteTopics(options: { topics: string[]; timeout?: number }): Promise<void>
  listTopics(): Promise<string[]>
  /** Every topic's metadata without `topics`. */
  fetchTopicMetadata(options?: { topics?: string[] }): Promise<{ topics: Array<ITopicMetadata> }>
  createPartitions(options: {
    validateOnly?: boolean
    timeout?: number
    topicPartitions: ITopicPartitionConfig[]
  }): Promise<boolean>
  fetchOffsets(options: {
    groupId: string
    topics?: string[]
    resolveOffsets?: boolean
  }): Promise<Array<{ topic: string; partitions: FetchOffsetsPartition[] }>>
  fetchTopicOffsets(topic: string): Promise<Array<SeekEntry & { high: string; low: string }>>
  fetchTopicOffsetsByTimestamp(topic: string, timestamp?: number): Promise<Array<SeekEntry>>
  setOffsets(options: { groupId: string; topic: string; partitions: SeekEntry[] }): Promise<void>
  resetOffsets(options: { groupId: string; topic: string; earliest?: boolean }): Promise<void>
  deleteTopicRecords(options: { topic: string; partitions: SeekEntry[] }): Promise<void>
  listGroups(): Promise<{ groups: GroupOverview[] }>
  describeGroups(groupIds: string[]): Promise<GroupDescriptions>
  deleteGroups(groupIds: string[]): Promise<DeleteGroupsResult[]>
  describeCluster(): Promise<{
    brokers: Array<{ nodeId: number; host: string; port: number }>
    controller: number | null
    clusterId: string
  }>
  describeConfigs(configs: {
    resources: ResourceConfigQuery[]
    includeSynonyms?: boolean
  }): Promise<DescribeConfigResponse>
  alterConfigs(configs: { validateOnly?: boolean; resources: IResourceConfig[] }): Promise<AlterConfigsResponse>
  createAcls(options: { acl: AclEntry[] }): Promise<boolean>
  describeAcls(options: AclFilter): Promise<DescribeAclResponse>
  deleteAcls(options: { filters: AclFilter[] }): Promise<DeleteAclResponse>
  alterPartitionReassignments(request: { topics: PartitionReassignment[]; timeout?: number }): Promise<void>
  listPartitionReassignments(request: {
    topics?: Array<{ topic: string; partitions: number[] }> | null
    timeout?: number
  }): Promise<ListPartitionReassignmentsResponse>
  logger(): Logger
  on<E extends ValueOf<AdminEvents>>(
    eventName: E,
    listener: (event: AdminEventMap[E]) => void
  ): RemoveInstrumentationEventListener<E>
  readonly events: AdminEvents
}

// ---------------------------------------------------------------------------------------------
// Errors

/** What a KafkaJSProtocolError is built from. */
export interface KafkaJSProtocolErrorDetails {
  message: string
  /** The Kafka error name, e.g. `UNKNOWN_TOPIC_OR_PARTITION`. */
  type: string
  /** The Kafka error code. */
  code: number
  retriable: boolean
}

export interface KafkaJSErrorMetadata {
  retriable?: boolean
  cause?: Error
}

export class KafkaJSError extends Error {
  readonly message: Error['message']
  readonly name: string
  readonly retriable: boolean
  readonly helpUrl?: string
  readonly cause?: Error
  /**
   * kafkit: the kind of a failure of the native core (`kafka`, `connection`, `timeout`,
   * `auth`, `config`, `protocol`, `unsupported`, `too_large`, `closed`, `handler`, `fatal`,
   * `other`); undefined for errors raised in JavaScript.
   */
  readonly kind?: string
  /** kafkit: the operation that failed in the native core. */
  readonly operation?: string
  constructor(e: Error | string, metadata?: KafkaJSErrorMetadata)
}

export class KafkaJSNonRetriableError extends KafkaJSError {
  constructor(e: Error | string, metadata?: { cause?: Error })
}

/** An error code of the broker. */
export class KafkaJSProtocolError extends KafkaJSError {
  /** The Kafka error name, e.g. `NOT_COORDINATOR`. */
  readonly type: string
  /** The Kafka error code. */
  readonly code: number
  /** kafkit's description of the failure (operation, resource, fix), beside KafkaJS's message. */
  readonly detail?: string
  constructor(e: KafkaJSProtocolErrorDetails, metadata?: { retriable?: boolean })
}

export class KafkaJSOffsetOutOfRange extends KafkaJSProtocolError {
  readonly topic?: string
  readonly partition?: number
  constructor(e: KafkaJSProtocolErrorDetails, metadata?: { topic?: string; partition?: number })
}

export class KafkaJSMemberIdRequired extends KafkaJSProtocolError {
  readonly memberId?: string
  constructor(e: KafkaJSProtocolErrorDetails, metadata?: { memberId?: string })
}

export class KafkaJSNumberOfRetriesExceeded extends KafkaJSNonRetriableError {
  readonly stack: string
  readonly retryCount: number
  readonly retryTime: number
  constructor(e: Error | string, metadata?: { retryCount: number; retryTime: number })
}

export class KafkaJSConnectionError extends KafkaJSError {
  readonly broker?: string
  readonly code?: string
  constructor(e: Error | string, metadata?: { broker?: string; code?: string })
}

export class KafkaJSConnectionClosedError extends KafkaJSConnectionError {
  readonly host?: string
  readonly port?: number
  constructor(e: Error | string, metadata?: { host?: string; port?: number })
}

export class KafkaJSRequestTimeoutError extends KafkaJSError {
  readonly broker?: string
  readonly correlationId?: number
  readonly createdAt?: number
  readonly sentAt?: number
  readonly pendingDuration?: number
  constructor(
    e: Error | string,
    metadata?: { broker?: string; correlationId?: number; createdAt?: number; sentAt?: number; pendingDuration?: number }
  )
}

export class KafkaJSTimeout extends KafkaJSNonRetriableError {
  constructor(e: Error | string)
}

export class KafkaJSLockTimeout extends KafkaJSTimeout {
  constructor(e: Error | string)
}

export class KafkaJSSASLAuthenticationError extends KafkaJSNonRetriableError {
  constructor(e: Error | string)
}

export class KafkaJSGroupCoordinatorNotFound extends KafkaJSError {
  constructor(e: Error | string)
}

export class KafkaJSNotImplemented extends KafkaJSNonRetriableError {
  constructor(e: Error | string)
}

export class KafkaJSMetadataNotLoaded extends KafkaJSError {
  constructor(e: Error | string)
}

export class KafkaJSTopicMetadataNotLoaded extends KafkaJSMetadataNotLoaded {
  readonly topic?: string
  constructor(e: Error | string, metadata?: { topic?: string })
}

export class KafkaJSBrokerNotFound extends KafkaJSError {
  constructor(e: Error | string)
}

export class KafkaJSNoBrokerAvailableError extends KafkaJSError {
  constructor(e: Error | string)
}

export class KafkaJSAggregateError extends Error {
  readonly errors: (Error | string)[]
  constructor(message: string, errors: (Error | string)[])
}

export class KafkaJSDeleteGroupsError extends KafkaJSError {
  readonly groups: DeleteGroupsResult[]
  constructor(e: Error | string, groups?: DeleteGroupsResult[])
}

export class KafkaJSCreateTopicError extends KafkaJSProtocolError {
  readonly topic: string
  constructor(topicError: KafkaJSProtocolErrorDetails, topicName: string)
}

export interface KafkaJSDeleteTopicRecordsErrorPartition {
  partition: number
  offset: string
  error: KafkaJSError
}

export class KafkaJSDeleteTopicRecordsError extends KafkaJSError {
  readonly partitions: KafkaJSDeleteTopicRecordsErrorPartition[]
  constructor(metadata: { topic?: string; partitions: KafkaJSDeleteTopicRecordsErrorPartition[] })
}

export class KafkaJSAlterPartitionReassignmentsError extends KafkaJSProtocolError {
  readonly topic?: string
  readonly partition?: number
  constructor(e: KafkaJSProtocolErrorDetails, topicName?: string, partition?: number)
}

export class KafkaJSInvalidVarIntError extends KafkaJSNonRetriableError {
  constructor(e: Error | string)
}

export class KafkaJSUnsupportedMagicByteInMessageSet extends KafkaJSNonRetriableError {
  constructor(e: Error | string)
}

export class KafkaJSServerDoesNotSupportApiKey extends KafkaJSNonRetriableError {
  readonly apiKey?: number
  readonly apiName?: string
  constructor(e: Error | string, metadata?: { apiKey?: number; apiName?: string })
}

// ---------------------------------------------------------------------------------------------
// Share groups (kafkit; KIP-932, Apache Kafka 4.2+): docs/node.md, "Share groups"

/** What becomes of a delivered message. */
export type AcknowledgeType = 'accept' | 'release' | 'reject'

/**
 * `accept`: done; `release`: delivered again (to any member, its delivery count one higher);
 * `reject`: never delivered again.
 */
export declare const AcknowledgeTypes: {
  readonly ACCEPT: 'accept'
  readonly RELEASE: 'release'
  readonly REJECT: 'reject'
}

export interface ShareConsumerConfig {
  groupId: string
  /**
   * `implicit` (default): a message whose handler returns is accepted, one whose handler throws
   * is released. `explicit`: each message is acknowledged with `acknowledge(type)`; one left
   * unacknowledged when its handler returns is released (with a warning).
   */
  acknowledgementMode?: 'implicit' | 'explicit'
  /** Records one fetch acquires at most. Default 500. */
  maxRecords?: number
  /**
   * `batch_optimized` (default): a fetch may acquire more than `maxRecords` to end on a batch
   * boundary; `record_limit`: never more (Kafka 4.2+).
   */
  acquireMode?: 'batch_optimized' | 'record_limit'
  /** Longest a fetch waits for records. Default 500. */
  maxWaitTimeInMs?: number
  /** Default 1. */
  minBytes?: number
  /** Bytes per fetch answer. Default 52428800. */
  maxBytes?: number
  rackId?: string
}

/** A message of a share group: a KafkaJS message and the number of times it was delivered. */
export interface ShareMessage extends KafkaMessage {
  /** 1 the first time; the broker archives a message after its delivery limit (5 by default). */
  deliveryCount: number
}

export interface ShareBatch {
  topic: string
  partition: number
  messages: ShareMessage[]
  isEmpty(): boolean
  firstOffset(): string | null
  lastOffset(): string | null
}

export interface ShareEachMessagePayload {
  topic: string
  partition: number
  message: ShareMessage
  /** The same as `message.deliveryCount`. */
  deliveryCount: number
  /** Decides the message now (once; throws KafkaJSNonRetriableError on a second call). */
  acknowledge(type: AcknowledgeType): void
  /** Keeps the message this member's for another acquisition lock (Kafka 4.2+). */
  renew(): Promise<void>
  /** Membership heartbeats run by themselves: resolves at once. */
  heartbeat(): Promise<void>
}

export interface ShareEachBatchPayload {
  batch: ShareBatch
  acknowledge(message: ShareMessage, type: AcknowledgeType): void
  renew(message: ShareMessage): Promise<void>
  /** `shareConsumer.commit()`. */
  commit(): Promise<ShareCommitResult[]>
  heartbeat(): Promise<void>
  isRunning(): boolean
  isStale(): boolean
}

/** `run`'s options: one of `eachMessage` or `eachBatch`. */
export type ShareConsumerRunConfig =
  | { eachMessage: (payload: ShareEachMessagePayload) => Promise<void>; eachBatch?: undefined }
  | { eachBatch: (payload: ShareEachBatchPayload) => Promise<void>; eachMessage?: undefined }

/** One partition's outcome of `commit()`: `error` is null when the broker took them. */
export interface ShareCommitResult {
  topic: string
  partition: number
  error: KafkaJSError | null
}

export type ShareConsumerEvents = {
  CONNECT: 'share_consumer.connect'
  DISCONNECT: 'share_consumer.disconnect'
  STOP: 'share_consumer.stop'
  CRASH: 'share_consumer.crash'
  COMMIT: 'share_consumer.commit'
  FETCH_START: 'share_consumer.fetch_start'
  FETCH: 'share_consumer.fetch'
  START_BATCH_PROCESS: 'share_consumer.start_batch_process'
  END_BATCH_PROCESS: 'share_consumer.end_batch_process'
  REQUEST: 'share_consumer.network.request'
  REQUEST_TIMEOUT: 'share_consumer.network.request_timeout'
  REQUEST_QUEUE_SIZE: 'share_consumer.network.request_queue_size'
}

export interface ShareBatchProcessEvent {
  topic: string
  partition: number
  batchSize: number
  firstOffset: string | null
  lastOffset: string | null
}

/** The event each share consumer event name delivers. */
export interface ShareConsumerEventMap {
  'share_consumer.connect': ConnectEvent
  'share_consumer.disconnect': DisconnectEvent
  'share_consumer.stop': InstrumentationEvent<null>
  'share_consumer.crash': InstrumentationEvent<{ error: Error; groupId: string; restart: false }>
  'share_consumer.commit': InstrumentationEvent<{ groupId: string; partitions: ShareCommitResult[] }>
  'share_consumer.fetch_start': ConsumerFetchStartEvent
  'share_consumer.fetch': ConsumerFetchEvent
  'share_consumer.start_batch_process': InstrumentationEvent<ShareBatchProcessEvent>
  'share_consumer.end_batch_process': InstrumentationEvent<ShareBatchProcessEvent & { duration: number }>
  'share_consumer.network.request': RequestEvent
  'share_consumer.network.request_timeout': RequestTimeoutEvent
  'share_consumer.network.request_queue_size': RequestQueueSizeEvent
}

export interface ShareConsumer {
  connect(): Promise<void>
  disconnect(): Promise<void>
  /**
   * Topic names; a RegExp is matched against the cluster's topics now (connect first).
   * `fromBeginning: true` sets the group's `share.auto.offset.reset` to `earliest` when `run`
   * joins (one start position for the whole group); false leaves it as it is.
   */
  subscribe(subscription: ConsumerSubscribeTopics | ConsumerSubscribeTopic): Promise<void>
  /** Joins the share group and hands it messages until `stop`; resolves once started. */
  run(config: ShareConsumerRunConfig): Promise<void>
  /** Leaves the group: messages still held go back to it. */
  stop(): Promise<void>
  /** Sends the acknowledgements decided so far and resolves each partition's outcome. */
  commit(): Promise<ShareCommitResult[]>
  /** The partitions the broker assigned to this member (others may read them too). */
  assignment(): Promise<{ [topic: string]: number[] }>
  memberId(): string | null
  on<E extends ValueOf<ShareConsumerEvents>>(
    eventName: E,
    listener: (event: ShareConsumerEventMap[E]) => void
  ): RemoveInstrumentationEventListener<E>
  logger(): Logger
  readonly events: ShareConsumerEvents
}
