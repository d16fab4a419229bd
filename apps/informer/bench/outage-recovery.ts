/**
 * How soon node events flow again after a broker outage: a ClusterPublisher on a private NATS
 * JetStream server (real, on a free loopback port) publishes a node, the server is killed
 * (SIGKILL), a change is made (its publish fails into the outage), and after OUTAGE_MS the server
 * starts again on its store. Printed: ms from the server listening again to the change stored.
 * With the publish retry backing off 200 ms → 10 s (the defaults), a retry that waited out its
 * doubled delay came 5.3-5.4 s after a 5 s outage ended; waiting for the bus instead, 0.13-0.7 s.
 *
 *   node --import tsx bench/outage-recovery.ts   (OUTAGE_MS, ROUNDS: defaults 5000 and 5)
 */
import { NatsEventBus } from '@tideline/bus';
import { informerSettings, loadConfig } from '@tideline/config';
import { makeNode } from '@tideline/kube-test-server';
import { createLogger, Registry } from '@tideline/runtime';
import { DisposableServer, testBusOptions } from '@tideline/test-support';
import { PublishedLedger } from '../src/domain/ledger.ts';
import type { ObservedNode } from '../src/domain/node-view.ts';
import { createInformerMetrics } from '../src/metrics.ts';
import { ClusterPublisher } from '../src/pipeline/cluster-publisher.ts';

const OUTAGE_MS = Number(process.env['OUTAGE_MS'] ?? 5_000);
const ROUNDS = Number(process.env['ROUNDS'] ?? 5);
const defaults = loadConfig(informerSettings, { env: {} });
const backoff = { initialMs: defaults.informerPublishBackoffMs, maxMs: defaults.informerPublishBackoffMaxMs };

const results: number[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  await using nats = await DisposableServer.nats();
  const bus = new NatsEventBus({ servers: `nats://127.0.0.1:${nats.port}`, ...testBusOptions('outage') });
  await bus.start();
  const publisher = new ClusterPublisher({
    cluster: 'c1',
    ledger: new PublishedLedger(),
    bus,
    backoff,
    logger: createLogger({ level: 'silent', service: 'outage-bench' }),
    metrics: createInformerMetrics(new Registry()),
  });
  const node = makeNode({ name: 'n1' });
  publisher.upsert(structuredClone(node) as ObservedNode);
  await publisher.idle();
  await nats.stop();
  const cordoned = structuredClone(node) as ObservedNode;
  cordoned.spec = { ...cordoned.spec, unschedulable: true };
  publisher.upsert(cordoned);
  await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
  await nats.start();
  const listening = performance.now();
  await publisher.idle();
  const ms = performance.now() - listening;
  if (publisher.lastEventId !== 2)
    throw new Error(`expected 2 events stored, the ledger says ${publisher.lastEventId}`);
  results.push(ms);
  console.log(
    `round ${round}: outage ${OUTAGE_MS} ms; the change stored ${ms.toFixed(0)} ms after the server listened again`,
  );
  await publisher.close();
  await bus.drain().catch(() => undefined);
}
const sorted = [...results].sort((a, b) => a - b);
console.log(
  `outage recovery (publish backoff ${backoff.initialMs}..${backoff.maxMs} ms): min / median / max ${sorted[0]!.toFixed(0)} / ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} / ${sorted.at(-1)!.toFixed(0)} ms`,
);
process.exit(0);
