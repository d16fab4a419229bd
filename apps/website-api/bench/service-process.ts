/**
 * website-api in a process of its own, for writes.bench.ts: as deployed, the service does not share
 * its event loop with the clients that load it. `BENCH_WITHOUT_EVENT_LOG=1` starts the log-off
 * baseline (never a service's setting: it would break invariant 1). `BENCH_BARE_PUBLISH_STREAM`
 * (with the log off) names a JetStream stream to which the process publishes one message per
 * answered write, with a bare `@nats-io/jetstream` client and off the write's path as the relay
 * publishes (after the answer, its ack awaited by nobody): the broker's own cost of one publish per
 * write, the floor under the relay's. Settings come from the environment; the URL is reported over
 * IPC once it listens. Stops on the message `stop` or when the parent goes away.
 */
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { startWebsiteApi } from '../src/service.ts';

const withoutEventLog = process.env['BENCH_WITHOUT_EVENT_LOG'] === '1';
const api = await startWebsiteApi({ withoutEventLog, source: { env: process.env } });

const bareStream = process.env['BENCH_BARE_PUBLISH_STREAM'];
const closeBare = bareStream ? await publishEveryWrite(bareStream) : async () => {};

/**
 * Publishes a message the size of a website event for every write the service answers with 2xx:
 * in the turn after the answer, as the relay's pass runs after the answer of the write that
 * committed its event. Answers a function that waits for the outstanding acks and closes.
 */
async function publishEveryWrite(stream: string): Promise<() => Promise<void>> {
  if (!withoutEventLog) throw new Error('BENCH_BARE_PUBLISH_STREAM is for the log-off service only');
  const nc = await connect({ servers: api.config.natsUrl });
  const jsm = await jetstreamManager(nc);
  const subject = `${stream}.writes`;
  // As the bus provisions a topic's stream (file storage, one replica).
  await jsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.File, num_replicas: 1 });
  const js = jetstream(nc);
  // A website `update` event as the relay publishes it is ~420 bytes of JSON.
  const payload = new TextEncoder().encode(JSON.stringify({ pad: 'x'.repeat(400) }));
  const pending = new Set<Promise<unknown>>();
  let sent = 0;
  api.http.server.on('request', (request, response) => {
    if (request.method !== 'POST' || !request.url?.startsWith('/api/v1/websites/')) return;
    response.once('finish', () => {
      if (response.statusCode >= 300) return;
      setImmediate(() => {
        const ack = js.publish(subject, payload, { msgID: String(++sent) }).catch((error: unknown) => {
          process.exitCode = 1;
          console.error('bare publish failed', error);
        });
        pending.add(ack);
        void ack.finally(() => pending.delete(ack));
      });
    });
  });
  return async () => {
    await Promise.all(pending);
    await nc.drain();
  };
}

let stopping: Promise<void> | undefined;
const stop = () => {
  stopping ??= closeBare()
    .then(() => api.stop('bench done'))
    .then(() => process.exit());
  return stopping;
};
process.on('message', (message) => {
  if (message === 'stop') void stop();
});
process.on('disconnect', () => void stop());
process.send?.({ url: api.url });
