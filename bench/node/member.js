'use strict';
// One group member of a Node.js client for the rebalance benchmark (bench/rebalance.py --node):
//
//   node bench/node/member.js CLIENT BOOTSTRAP TOPIC GROUP
//
// The lines of bench/src/bin/rebalance_member.rs and java/JavaPeer.java `member`: "SUB ms" just
// before it subscribes, "REC ms partition offset" for every record, "OWN p,p" after a change of
// its partitions (where the client tells it), "STOP ms" when stdin closes (the driver's signal to
// leave) and "DONE ms" once it has left the group. Times are wall-clock milliseconds.
//
// KIP-848 (groupProtocol 'consumer') for kafkit, confluent and platformatic; classic for kafkajs
// 2.2.4 (no KIP-848; its default assignor, round-robin, eager). New partitions start at the
// latest offset when the group has none committed (auto.offset.reset=latest, as the Rust and
// Java members); each client's defaults otherwise. KafkaJS-API clients use run({ eachMessage }).

const { KAFKAJS_API, ALL, usage, kafkajsClient, platformatic, groupProtocol } = require('./clients');

const [client, bootstrap, topic, group] = process.argv.slice(2);
if (!ALL.includes(client) || !group) usage('usage: member.js CLIENT BOOTSTRAP TOPIC GROUP');

// Lines to stdout, written every 50 ms (a write per record would distort the timing).
let pending = '';
const line = (s) => { pending += s + '\n'; };
const flush = () => { if (pending) { process.stdout.write(pending); pending = ''; } };
const ticker = setInterval(flush, 50);

let owned = '';
function own(partitions) {
  const s = [...partitions].sort((a, b) => a - b).join(',');
  if (s !== owned) { owned = s; line(`OWN ${s}`); }
}

function fail(e) {
  flush();
  process.stderr.write(`member ${client} failed: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
}

/** Resolves when stdin reaches end of file. */
function stdinClosed() {
  return new Promise((resolve) => {
    process.stdin.on('end', resolve);
    process.stdin.on('close', resolve);
    process.stdin.on('error', resolve);
    process.stdin.resume();
  });
}

async function kafkajsApi() {
  const c = kafkajsClient(client, bootstrap);
  const consumer = c.consumer(group, false);
  await consumer.connect();
  let poll;
  if (client === 'confluent') {
    // Its KafkaJS API has no `events`; assignment() tells the partitions held.
    poll = setInterval(() => own(consumer.assignment().filter((tp) => tp.topic === topic).map((tp) => tp.partition)), 50);
  } else {
    consumer.on(consumer.events.GROUP_JOIN, (e) => own((e.payload.memberAssignment || {})[topic] || []));
  }
  line(`SUB ${Date.now()}`);
  await consumer.subscribe(c.subscribeArgs(topic, false));
  consumer.run({
    eachMessage: async ({ partition, message }) => { line(`REC ${Date.now()} ${partition} ${message.offset}`); },
  }).catch(fail);
  await stdinClosed();
  line(`STOP ${Date.now()}`);
  flush();
  clearInterval(poll);
  await consumer.disconnect();
}

async function platformaticApi() {
  const { Consumer } = await platformatic();
  const consumer = new Consumer({
    groupId: group,
    clientId: `member-${client}`,
    bootstrapBrokers: bootstrap.split(','),
    groupProtocol: groupProtocol(client),
  });
  const poll = setInterval(() => {
    const a = (consumer.assignments || []).find((x) => x.topic === topic);
    own(a ? a.partitions : []);
  }, 50);
  line(`SUB ${Date.now()}`);
  const stream = await consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'latest' });
  stream.on('error', fail);
  stream.on('data', (m) => { line(`REC ${Date.now()} ${m.partition} ${m.offset}`); });
  await stdinClosed();
  line(`STOP ${Date.now()}`);
  flush();
  clearInterval(poll);
  await stream.close();
  await consumer.close();
}

(KAFKAJS_API.includes(client) ? kafkajsApi() : platformaticApi()).then(
  () => {
    line(`DONE ${Date.now()}`);
    clearInterval(ticker);
    flush();
    process.exit(0);
  },
  fail,
);
