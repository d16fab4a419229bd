import { type EventBus, PublishExpectationError } from '@tideline/bus';
import { makeNode } from '@tideline/kube-test-server';
import { createLogger, Registry } from '@tideline/runtime';
import {
  eventually,
  NodeEventLog,
  openTestBus,
  removeStreams,
  TestCluster,
  uniquePrefix,
} from '@tideline/test-support';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { PublishedLedger } from '../src/domain/ledger.ts';
import { createInformerMetrics } from '../src/metrics.ts';
import { ClusterPublisher, type FencedBy } from '../src/pipeline/cluster-publisher.ts';
import { recoverCluster } from '../src/pipeline/recovery.ts';
import { startInformer } from '../src/service.ts';
import { testInformerEnv } from './support/informer-env.ts';

// Invariant 10 (one sequence per cluster): a former owner's publish cannot enter the sequence of
// a cluster another replica took over, even when the former owner does not know it lost the lease.

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const logger = createLogger({
  service: 'informer-test',
  level: process.env['TIDELINE_TEST_LOG_LEVEL'] ?? 'silent',
});
const CLUSTER = 'fenced';
/** Generous bound for the bus to store and hand back a few events. */
const TIMEOUT_MS = 20_000;

type KubeNode = ReturnType<typeof makeNode>;

/** The same node (same uid) with a change. */
function changed(
  node: KubeNode,
  change: { unschedulable?: boolean; labels?: Record<string, string> },
): KubeNode {
  const copy = structuredClone(node);
  if (change.unschedulable !== undefined) copy.spec.unschedulable = change.unschedulable;
  if (change.labels) copy.metadata.labels = { ...copy.metadata.labels, ...change.labels };
  return copy;
}

function publisher(
  bus: Awaited<ReturnType<typeof openTestBus>>,
  ledger: PublishedLedger,
  fenced: FencedBy[],
  metrics = createInformerMetrics(new Registry()),
) {
  const p = new ClusterPublisher({
    cluster: CLUSTER,
    ledger,
    bus,
    backoff: { initialMs: 20, maxMs: 200 },
    logger,
    metrics,
    // A partitioned former owner: its lease check still says yes (it has not heard it lost it).
    fence: { holds: () => true, expectations: true, onFenced: (by) => fenced.push(by) },
  });
  cleanups.push(() => p.close());
  return { publisher: p, metrics };
}

describe('fencing at the broker', () => {
  it('invariant 10 - a partitioned former owner that still believes it holds the lease is refused by the broker; its events never reach a browser', async () => {
    const prefix = uniquePrefix('fence');
    const bus = await openTestBus(prefix);
    cleanups.push(async () => {
      await bus.drain();
      await removeStreams(prefix);
    });
    const log = await NodeEventLog.open(bus);
    cleanups.push(() => log.close());

    // The first owner publishes the cluster.
    const nodes = [makeNode({ name: 'n1' }), makeNode({ name: 'n2' })];
    const oldFenced: FencedBy[] = [];
    const old = publisher(bus, new PublishedLedger(), oldFenced);
    old.publisher.announce('cluster-registered');
    old.publisher.reconcile(nodes);
    await old.publisher.idle();
    await eventually(() => log.lastIdOf(CLUSTER) === 3, TIMEOUT_MS);

    // Another replica takes it over from the bus and publishes a change.
    const taken = new PublishedLedger();
    taken.replace(await recoverCluster({ bus, cluster: CLUSTER, pageSize: 100, logger }));
    expect(taken.cluster(CLUSTER).lastEventId).toBe(3);
    const newFenced: FencedBy[] = [];
    const current = publisher(bus, taken, newFenced);
    current.publisher.reconcile([changed(nodes[0]!, { unschedulable: true }), nodes[1]!]);
    await current.publisher.idle();
    await eventually(() => log.lastIdOf(CLUSTER) === 4, TIMEOUT_MS);

    // The former owner, unaware, publishes what it observed late: a stale change of n2.
    old.publisher.upsert(changed(nodes[1]!, { labels: { stale: 'yes' } }));
    await old.publisher.idle();
    expect(oldFenced).toEqual(['broker']);
    expect(await old.metrics.fencedPublishes.get()).toMatchObject({
      values: [expect.objectContaining({ labels: { cluster: CLUSTER, by: 'broker' }, value: 1 })],
    });

    // The new owner carries on; the sequence is 1…5 with nothing of the former owner after 3.
    current.publisher.upsert(changed(nodes[1]!, { labels: { fresh: 'yes' } }));
    await current.publisher.idle();
    await eventually(() => log.lastIdOf(CLUSTER) === 5, TIMEOUT_MS);
    const events = log.of(CLUSTER);
    expect(events.map((e) => e.eventId)).toEqual([1, 2, 3, 4, 5]);
    expect(JSON.stringify(events)).not.toContain('stale');
    expect(newFenced).toEqual([]);
  });

  it('invariant 10 - a former owner that reuses an id the new owner already took is refused (duplicate id) and stops', async () => {
    const prefix = uniquePrefix('fence');
    const bus = await openTestBus(prefix);
    cleanups.push(async () => {
      await bus.drain();
      await removeStreams(prefix);
    });
    const log = await NodeEventLog.open(bus);
    cleanups.push(() => log.close());

    const n1 = makeNode({ name: 'n1' });
    const oldFenced: FencedBy[] = [];
    const old = publisher(bus, new PublishedLedger(), oldFenced);
    old.publisher.announce('cluster-registered');
    old.publisher.reconcile([n1]);
    await old.publisher.idle();

    const taken = new PublishedLedger();
    taken.replace(await recoverCluster({ bus, cluster: CLUSTER, pageSize: 100, logger }));
    const current = publisher(bus, taken, []);
    // The new owner publishes id 3 on the `added` subject…
    current.publisher.reconcile([n1, makeNode({ name: 'n2' })]);
    await current.publisher.idle();
    await eventually(() => log.lastIdOf(CLUSTER) === 3, TIMEOUT_MS);
    // …and the former owner tries id 3 on another subject, where its expectation still holds:
    // the broker drops it as a duplicate id, and the former owner stops.
    old.publisher.upsert(changed(n1, { unschedulable: true }));
    await old.publisher.idle();
    expect(oldFenced).toEqual(['broker']);
    expect(log.of(CLUSTER).map((e) => e.eventId)).toEqual([1, 2, 3]);
    expect(log.of(CLUSTER).at(-1)?.type).toBe('added');
  });

  it('invariant 10 - over a bus that cannot check expectations (Kafka), a replica whose lease was taken over is stopped by the fencing-token check before it publishes', async () => {
    const prefix = uniquePrefix('fencek');
    const namespace = uniquePrefix('fencens');
    const real = await openTestBus(prefix);
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    cleanups.push(async () => {
      await real.drain();
      await removeStreams(prefix);
      const found = [...(await redis.keys(`tl:{${namespace}:*`)), ...(await redis.keys(`${namespace}:*`))];
      if (found.length > 0) await redis.del(...found);
      redis.disconnect();
    });
    // What the Kafka bus offers the informer: no broker-side expectations (it refuses them).
    const kafkaLike: EventBus = {
      enforcesExpectations: false,
      start: () => real.start(),
      publish: (subject, data, options) =>
        options.expect
          ? Promise.reject(new PublishExpectationError('expectations unsupported'))
          : real.publish(subject, data, options),
      subscribe: (options) => real.subscribe(options),
      read: (options) => real.read(options),
      healthy: () => real.healthy(),
      untilHealthy: () => real.untilHealthy(),
      drain: () => real.drain(),
    };
    const log = await NodeEventLog.open(real);
    cleanups.push(() => log.close());
    const c = await TestCluster.start({ name: 'tokened', nodes: 2 });
    cleanups.push(() => c[Symbol.asyncDispose]());
    const informer = await startInformer({
      bus: kafkaLike,
      source: {
        env: testInformerEnv({
          prefix,
          clusters: [c],
          env: {
            TIDELINE_INSTANCE_ID: 'replica-a',
            TIDELINE_INFORMER_SHARDING: 'true',
            // Long: the local lease check must not be what stops it here.
            TIDELINE_INFORMER_LEASE_TTL_MS: '600000',
            TIDELINE_INFORMER_LEASE_RENEW_INTERVAL_MS: '200000',
            TIDELINE_REDIS_URL: REDIS_URL,
            TIDELINE_STATEFUL_NAMESPACE: namespace,
          },
        }),
      },
    });
    cleanups.push(() => informer.stop());
    await eventually(
      () => log.lastIdOf(c.name) === 3 && informer.registry.watcherOf(c.name)?.ready === true,
      TIMEOUT_MS,
    );

    // Another replica took the lease (a greater token) and this one has not heard of it yet.
    await redis.hset(
      `tl:{${namespace}:informer:${prefix}}:leases`,
      c.name,
      `999|${Date.now() + 600_000}|replica-b`,
    );
    c.server.cordon('node-00000');
    await eventually(async () => (await fencedOf(informer.url, c.name)) >= 1, TIMEOUT_MS);
    // Nothing was published, and the replica stopped running the cluster.
    expect(log.lastIdOf(c.name)).toBe(3);
    await eventually(() => informer.registry.publisherOf(c.name) === undefined, TIMEOUT_MS);
    expect(log.of(c.name).some((e) => JSON.stringify(e).includes('"unschedulable":true'))).toBe(false);
  });
});

const REDIS_URL = process.env['TIDELINE_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

async function fencedOf(url: string, cluster: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n'))
    if (line.startsWith('tideline_informer_fenced_publishes_total{') && line.includes(`cluster="${cluster}"`))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}
