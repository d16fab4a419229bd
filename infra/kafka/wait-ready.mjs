// Waits until a Kafka broker on 127.0.0.1:<port> answers a Metadata request listing at least one
// (unfenced) broker and a controller. Plain Node, no dependencies: kafka.sh runs it before `npm ci`.
// Usage: node wait-ready.mjs --port 9092 --timeout-ms 60000     exit 0 ready, 1 not ready in time
import { connect } from 'node:net';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, value, i, all) => {
    if (value.startsWith('--')) pairs.push([value.slice(2), all[i + 1]]);
    return pairs;
  }, []),
);
const port = Number(args.port ?? 9092);
const timeoutMs = Number(args['timeout-ms'] ?? 60_000);
const attemptTimeoutMs = Math.min(3_000, timeoutMs);
const retryEveryMs = 250;
const clientId = 'tideline-wait-ready';

const API_METADATA = 3;
const API_VERSIONS = 18;
// Metadata v4..v8 share one non-flexible layout up to the controller id, the part read here.
const METADATA_VERSIONS = [8, 7, 6, 5, 4];

function request(apiKey, apiVersion, correlationId, body) {
  const client = Buffer.from(clientId);
  const header = Buffer.alloc(10);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(apiVersion, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(client.length, 8);
  const payload = Buffer.concat([header, client, body]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);
  return Buffer.concat([size, payload]);
}

/** Sends requests one after another on one connection; resolves with the response bodies. */
function exchange(requests) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const answers = [];
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('timeout'));
    }, attemptTimeoutMs);
    const finish = (error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(answers);
    };
    socket.once('error', finish);
    socket.once('connect', () => socket.write(requests[0]));
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const size = buffered.readInt32BE(0);
        answers.push(buffered.subarray(8, 4 + size)); // skip size and correlation id
        buffered = buffered.subarray(4 + size);
        if (answers.length === requests.length) return finish();
        socket.write(requests[answers.length]);
      }
    });
    socket.once('close', () => finish(new Error('connection closed')));
  });
}

async function supportedMetadataVersion() {
  const [body] = await exchange([request(API_VERSIONS, 0, 1, Buffer.alloc(0))]);
  if (body.readInt16BE(0) !== 0) throw new Error(`ApiVersions error ${body.readInt16BE(0)}`);
  const count = body.readInt32BE(2);
  for (let i = 0, at = 6; i < count; i++, at += 6) {
    if (body.readInt16BE(at) !== API_METADATA) continue;
    const [min, max] = [body.readInt16BE(at + 2), body.readInt16BE(at + 4)];
    const version = METADATA_VERSIONS.find((v) => v >= min && v <= max);
    if (version === undefined) throw new Error(`no Metadata version in ${min}..${max} understood here`);
    return version;
  }
  throw new Error('the broker does not list Metadata');
}

async function ready() {
  const version = await supportedMetadataVersion();
  // topics: null (all), allow_auto_topic_creation: false, and for v8 the two authorized-operations flags.
  const body = Buffer.from(version >= 8 ? [0xff, 0xff, 0xff, 0xff, 0, 0, 0] : [0xff, 0xff, 0xff, 0xff, 0]);
  const [answer] = await exchange([request(API_METADATA, version, 2, body)]);
  let at = 4; // throttle_time_ms
  const brokers = answer.readInt32BE(at);
  at += 4;
  for (let i = 0; i < brokers; i++) {
    at += 4; // node_id
    at += 2 + answer.readInt16BE(at); // host
    at += 4; // port
    const rack = answer.readInt16BE(at);
    at += 2 + Math.max(0, rack);
  }
  const clusterId = answer.readInt16BE(at);
  at += 2 + Math.max(0, clusterId);
  const controller = answer.readInt32BE(at);
  return brokers > 0 && controller >= 0;
}

const deadline = Date.now() + timeoutMs;
let lastError = 'not ready';
for (;;) {
  try {
    if (await ready()) process.exit(0);
    lastError = 'no unfenced broker or controller yet';
  } catch (error) {
    lastError = error.message;
  }
  if (Date.now() + retryEveryMs > deadline) break;
  await new Promise((resolve) => setTimeout(resolve, retryEveryMs));
}
console.error(`Kafka on 127.0.0.1:${port} not ready: ${lastError}`);
process.exit(1);
