import { makeNode } from '@tideline/kube-test-server';
import { createLogger, Registry } from '@tideline/runtime';
import { eventually, NodeEventLog, openTestBus, removeStreams, uniquePrefix } from '@tideline/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { PublishedLedger } from '../src/domain/ledger.ts';
import { createInformerMetrics } from '../src/metrics.ts';
import { ClusterPublisher, type FencedBy } from '../src/pipeline/cluster-publisher.ts';
import { recoverCluster } from '../src/pipeline/recovery.ts';

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
});
