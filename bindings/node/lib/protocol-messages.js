'use strict'
// The message KafkaJS 2.2.4 gives a KafkaJSProtocolError of each Kafka error type: part of
// what a KafkaJS user observes (tests match `error.message`), so errors carry it by default.
// kafkit's own description (which names the operation, the resource and the fix) stays on the
// error as `detail`; `new Kafka({ kafkitErrorMessages: true })` keeps it as the message.

const messages = {
  UNKNOWN: 'The server experienced an unexpected error when processing the request',
  OFFSET_OUT_OF_RANGE: 'The requested offset is not within the range of offsets maintained by the server',
  UNKNOWN_TOPIC_OR_PARTITION: 'This server does not host this topic-partition',
  LEADER_NOT_AVAILABLE: 'There is no leader for this topic-partition as we are in the middle of a leadership election',
  NOT_LEADER_FOR_PARTITION: 'This server is not the leader for that topic-partition',
  REQUEST_TIMED_OUT: 'The request timed out',
  MESSAGE_TOO_LARGE: 'The request included a message larger than the max message size the server will accept',
  INVALID_TOPIC_EXCEPTION: 'The request attempted to perform an operation on an invalid topic',
  NOT_ENOUGH_REPLICAS: 'Messages are rejected since there are fewer in-sync replicas than required',
  INVALID_REQUIRED_ACKS: 'Produce request specified an invalid value for required acks',
  ILLEGAL_GENERATION: 'Specified group generation id is not valid',
  INVALID_GROUP_ID: 'The configured groupId is invalid',
  UNKNOWN_MEMBER_ID: 'The coordinator is not aware of this member',
  REBALANCE_IN_PROGRESS: 'The group is rebalancing, so a rejoin is needed',
  TOPIC_AUTHORIZATION_FAILED: 'Not authorized to access topics: [Topic authorization failed]',
  GROUP_AUTHORIZATION_FAILED: 'Not authorized to access group: Group authorization failed',
  CLUSTER_AUTHORIZATION_FAILED: 'Cluster authorization failed',
  UNSUPPORTED_VERSION: 'The version of API is not supported',
  TOPIC_ALREADY_EXISTS: 'Topic with this name already exists',
  INVALID_PARTITIONS: 'Number of partitions is invalid',
  INVALID_REPLICATION_FACTOR: 'Replication-factor is invalid',
  INVALID_REPLICA_ASSIGNMENT: 'Replica assignment is invalid',
  INVALID_CONFIG: 'Configuration is invalid',
  NOT_CONTROLLER: 'This is not the correct controller for this cluster',
  POLICY_VIOLATION: 'Request parameters do not satisfy the configured policy',
  INVALID_TXN_STATE: 'The producer attempted a transactional operation in an invalid state',
  CONCURRENT_TRANSACTIONS: 'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing',
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 'Transactional Id authorization failed',
  SECURITY_DISABLED: 'Security features are disabled',
  REASSIGNMENT_IN_PROGRESS: 'A partition reassignment is in progress',
  NON_EMPTY_GROUP: 'The group is not empty',
  GROUP_ID_NOT_FOUND: 'The group id was not found',
  TOPIC_DELETION_DISABLED: 'Topic deletion is disabled',
  NO_REASSIGNMENT_IN_PROGRESS: 'No partition reassignment is in progress',
  GROUP_SUBSCRIBED_TO_TOPIC: 'Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it',
  INVALID_RECORD: 'This record has failed the validation on broker and hence be rejected',
}

module.exports = { messages }
