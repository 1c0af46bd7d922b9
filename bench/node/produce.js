'use strict';
// Produce benchmark of one Node.js client (bench/run-node):
//
//   node bench/node/produce.js CLIENT BOOTSTRAP TOPIC COUNT SIZE [PER_SEND] [IN_FLIGHT]
//
// COUNT keyless records of SIZE bytes (one shared Buffer), acks=all (-1), no compression, each
// client's other defaults (partitioning of keyless records, batching, idempotence). Records go
// out in send() calls of PER_SEND messages (default 1,000) with IN_FLIGHT calls pending at any
// time (default 8): a new call starts when one resolves. Timed from the first send() to the
// last one resolved (connect excluded). Prints "RESULT records seconds".

const { KAFKAJS_API, ALL, usage, kafkajsClient, platformatic, result } = require('./clients');

const [client, bootstrap, topic, countArg, sizeArg, perSendArg, inFlightArg] = process.argv.slice(2);
if (!ALL.includes(client) || !topic) usage('usage: produce.js CLIENT BOOTSTRAP TOPIC COUNT SIZE [PER_SEND] [IN_FLIGHT]');
const COUNT = Number(countArg || 1000000);
const SIZE = Number(sizeArg || 100);
const PER_SEND = Number(perSendArg || 1000);
const IN_FLIGHT = Number(inFlightArg || 8);
const value = Buffer.alloc(SIZE, 'x');

function batch(n) {
  const messages = new Array(n);
  for (let i = 0; i < n; i++) messages[i] = { value };
  return messages;
}

/** Runs send(n) for COUNT records, PER_SEND at a time, IN_FLIGHT at once; returns seconds. */
async function pump(send) {
  let queued = 0;
  const start = process.hrtime.bigint();
  async function lane() {
    while (queued < COUNT) {
      const n = Math.min(PER_SEND, COUNT - queued);
      queued += n;
      await send(n);
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function kafkajsApi() {
  const c = kafkajsClient(client, bootstrap);
  const producer = c.producer();
  await producer.connect();
  const secs = await pump((n) => producer.send(c.sendArgs(topic, batch(n))));
  result(COUNT, secs);
  await producer.disconnect();
}

async function platformaticApi() {
  const { Producer, ProduceAcks } = await platformatic();
  const producer = new Producer({ clientId: 'bench-platformatic', bootstrapBrokers: bootstrap.split(',') });
  // Its connect: there is no connect(); fetching the topic's metadata opens the connections.
  await producer.metadata({ topics: [topic] });
  const secs = await pump((n) => {
    const messages = batch(n);
    for (const m of messages) m.topic = topic;
    return producer.send({ messages, acks: ProduceAcks.ALL });
  });
  result(COUNT, secs);
  await producer.close();
}

(KAFKAJS_API.includes(client) ? kafkajsApi() : platformaticApi()).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`produce ${client} failed: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  },
);
