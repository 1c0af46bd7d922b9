'use strict';
// Consume benchmark of one Node.js client (bench/run-node):
//
//   node bench/node/consume.js CLIENT BOOTSTRAP TOPIC COUNT [each-message|each-batch]
//
// A new group (bench-<client>-<pid>) reads TOPIC from the start until COUNT records have arrived:
// KIP-848 (groupProtocol 'consumer') for kafkit, confluent and platformatic, classic for kafkajs
// 2.2.4 (it has no KIP-848). KafkaJS-API clients use run({ eachMessage }) or run({ eachBatch })
// with handlers that only count; platformatic, which has neither, a stream of messages
// ('data' events) in both modes. Each client's defaults otherwise (auto-commit, fetch sizes,
// batch sizes, partitionsConsumedConcurrently 1). Timed from subscribe (the join included) to
// the COUNT-th record. Prints "RESULT records seconds".

const { KAFKAJS_API, ALL, usage, kafkajsClient, platformatic, result, groupProtocol } = require('./clients');

const [client, bootstrap, topic, countArg, modeArg] = process.argv.slice(2);
if (!ALL.includes(client) || !topic) usage('usage: consume.js CLIENT BOOTSTRAP TOPIC COUNT [each-message|each-batch]');
const COUNT = Number(countArg || 1000000);
const MODE = modeArg || 'each-message';
if (MODE !== 'each-message' && MODE !== 'each-batch') usage(`unknown mode ${MODE}`);
const GROUP = `bench-${client}-${process.pid}-${Date.now()}`;

function elapsed(start) {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function fail(e) {
  process.stderr.write(`consume ${client} failed: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
}

/** Resolves after ms, to bound a client's disconnect once the result is out. */
const within = (p, ms) => Promise.race([p, new Promise((r) => setTimeout(r, ms))]);

async function kafkajsApi() {
  const c = kafkajsClient(client, bootstrap);
  const consumer = c.consumer(GROUP, true);
  await consumer.connect();
  let n = 0;
  let done;
  const all = new Promise((resolve) => { done = resolve; });
  const start = process.hrtime.bigint();
  await consumer.subscribe(c.subscribeArgs(topic, true));
  const handlers = MODE === 'each-batch'
    ? { eachBatch: async ({ batch }) => { n += batch.messages.length; if (n >= COUNT) done([n, elapsed(start)]); } }
    : { eachMessage: async () => { if (++n === COUNT) done([n, elapsed(start)]); } };
  consumer.run(handlers).catch(fail);
  const [records, secs] = await all;
  result(records, secs);
  await within(consumer.disconnect(), 10000);
}

async function platformaticApi() {
  const { Consumer } = await platformatic();
  const consumer = new Consumer({
    groupId: GROUP,
    clientId: 'bench-platformatic',
    bootstrapBrokers: bootstrap.split(','),
    groupProtocol: groupProtocol(client),
  });
  let n = 0;
  let done;
  const all = new Promise((resolve) => { done = resolve; });
  const start = process.hrtime.bigint();
  // 'committed' falling back to 'earliest': a new group reads from the start (fromBeginning).
  const stream = await consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest' });
  stream.on('error', fail);
  stream.on('data', () => { if (++n === COUNT) done([n, elapsed(start)]); });
  const [records, secs] = await all;
  result(records, secs);
  await within(stream.close().then(() => consumer.close()), 10000);
}

(KAFKAJS_API.includes(client) ? kafkajsApi() : platformaticApi()).then(
  () => process.exit(0),
  fail,
);
