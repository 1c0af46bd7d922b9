'use strict'
// kafkit for Node.js: KafkaJS's API on kafkit's Rust core (KIP-848 consumer groups included).
//   const { Kafka } = require('kafkit')

const { Kafka } = require('./lib/kafka')
const { logLevel } = require('./lib/logger')
const { PartitionAssigners, AssignerProtocol } = require('./lib/assigners')
const { Partitioners } = require('./lib/producer')
const errors = require('./lib/errors')
const { AcknowledgeTypes } = require('./lib/share-consumer')
const { AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = require('./lib/acls')

const CompressionTypes = { None: 0, GZIP: 1, Snappy: 2, LZ4: 3, ZSTD: 4 }
// KafkaJS plugs codecs in here; kafkit has every codec built in, so registering one is a no-op.
const CompressionCodecs = { [CompressionTypes.GZIP]: () => ({}), [CompressionTypes.Snappy]: () => ({}), [CompressionTypes.LZ4]: () => ({}), [CompressionTypes.ZSTD]: () => ({}) }
// KafkaJS 1.x's name of AclResourceTypes.
const ResourceTypes = AclResourceTypes
const ConfigResourceTypes = { UNKNOWN: 0, TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 }

// The error classes (the module's helpers stay internal).
const errorClasses = Object.fromEntries(Object.entries(errors).filter(([name]) => name.startsWith('KafkaJS')))

module.exports = {
  Kafka,
  logLevel,
  CompressionTypes,
  CompressionCodecs,
  PartitionAssigners,
  AssignerProtocol,
  Partitioners,
  ResourceTypes,
  AclResourceTypes,
  AclOperationTypes,
  AclPermissionTypes,
  ResourcePatternTypes,
  ConfigResourceTypes,
  AcknowledgeTypes,
  ...errorClasses,
}
