'use strict';
// The Node.js clients of the benchmarks (produce.js, consume.js, member.js), by name:
//
//   kafkit       kafkit's Node.js package (bindings/node), KafkaJS API
//   kafkajs      kafkajs 2.2.4, KafkaJS API (classic groups only: no KIP-848)
//   confluent    @confluentinc/kafka-javascript 1.10.1, its KafkaJS-compatible API (.KafkaJS)
//   platformatic @platformatic/kafka 2.12.1, its own API (no KafkaJS-compatible one)
//
// kafkit, kafkajs and confluent run the same code in the scripts; this module holds the only
// differences, which are the ones confluent's KafkaJS API requires (its MIGRATION.md): a
// `kafkaJS: {...}` block around the KafkaJS options, `acks` on the producer instead of per
// send(), `fromBeginning` on the consumer instead of per subscribe(), and librdkafka's
// `group.protocol` outside the block. Everything else is each client's default.
//
// kafkit's package is loaded only when asked for, from KAFKIT_NODE or ../../bindings/node, so
// the peers run before it exists.

const path = require('path');

const KAFKAJS_API = ['kafkit', 'kafkajs', 'confluent'];
const ALL = [...KAFKAJS_API, 'platformatic'];

function usage(msg) {
  process.stderr.write(`${msg}\nclients: ${ALL.join(', ')}\n`);
  process.exit(2);
}

/** The group protocol a client's members use: KIP-848 ('consumer') where it has it. */
function groupProtocol(client) {
  return client === 'kafkajs' ? 'classic' : 'consumer';
}

/** The module of a KafkaJS-API client: { Kafka, logLevel }. */
function kafkajsModule(client) {
  switch (client) {
    case 'kafkit':
      return require(process.env.KAFKIT_NODE ? path.resolve(process.env.KAFKIT_NODE) : '../../bindings/node');
    case 'kafkajs':
      return require('kafkajs');
    case 'confluent':
      return require('@confluentinc/kafka-javascript').KafkaJS;
    default:
      return usage(`not a KafkaJS-API client: ${client}`);
  }
}

/**
 * A KafkaJS-API client: { kafka, producer(), consumer(groupId, fromBeginning), sendArgs(topic,
 * messages), subscribeArgs(topic, fromBeginning) }. `acks` is -1 (all) for every client.
 */
function kafkajsClient(client, bootstrap) {
  const { Kafka, logLevel } = kafkajsModule(client);
  const brokers = bootstrap.split(',');
  const common = { clientId: `bench-${client}`, brokers, logLevel: logLevel.ERROR };
  const protocol = groupProtocol(client);
  if (client === 'confluent') {
    const kafka = new Kafka({ kafkaJS: common });
    return {
      kafka,
      producer: () => kafka.producer({ kafkaJS: { acks: -1 } }),
      consumer: (groupId, fromBeginning) =>
        kafka.consumer({ 'group.protocol': protocol, kafkaJS: { groupId, fromBeginning } }),
      sendArgs: (topic, messages) => ({ topic, messages }),
      subscribeArgs: (topic) => ({ topics: [topic] }),
    };
  }
  const kafka = new Kafka(common);
  return {
    kafka,
    producer: () => kafka.producer(),
    // kafkajs 2.2.4 has no groupProtocol option (classic only); kafkit's is KIP-848 here.
    consumer: (groupId) =>
      kafka.consumer(protocol === 'classic' ? { groupId } : { groupId, groupProtocol: protocol }),
    sendArgs: (topic, messages) => ({ topic, messages, acks: -1 }),
    subscribeArgs: (topic, fromBeginning) => ({ topic, fromBeginning }),
  };
}

/** @platformatic/kafka's module (ESM only, hence import()). */
function platformatic() {
  return import('@platformatic/kafka');
}

/** Peak RSS (VmHWM) of this process in kB, and its user+sys CPU seconds so far. */
function selfStats() {
  let hwm = 0;
  try {
    const m = /VmHWM:\s+(\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'));
    if (m) hwm = Number(m[1]);
  } catch (_) { /* not Linux */ }
  const cpu = process.cpuUsage();
  return { hwmKb: hwm, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/** Prints the result line the driver reads, then the process's own CPU and peak RSS. */
function result(records, seconds) {
  const s = selfStats();
  process.stdout.write(`RESULT ${records} ${seconds.toFixed(3)}\n`);
  process.stdout.write(`SELF cpu_s=${s.cpuSeconds.toFixed(2)} vmhwm_mb=${(s.hwmKb / 1024).toFixed(0)} ` +
    `records_per_s=${Math.round(records / seconds)}\n`);
}

module.exports = { ALL, KAFKAJS_API, usage, groupProtocol, kafkajsClient, platformatic, result };

// `node bench/node/clients.js check CLIENT`: exits 0 when CLIENT's package loads, else prints why.
if (require.main === module) {
  const [cmd, client] = process.argv.slice(2);
  if (cmd !== 'check' || !ALL.includes(client)) usage('usage: clients.js check CLIENT');
  (client === 'platformatic' ? platformatic() : Promise.resolve().then(() => kafkajsModule(client))).then(
    () => process.exit(0),
    (e) => { process.stderr.write(`${e && e.message ? e.message.split('\n')[0] : e}\n`); process.exit(1); },
  );
}
