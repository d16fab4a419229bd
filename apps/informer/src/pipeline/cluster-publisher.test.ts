import { type EventBus, MemoryEventBus } from '@tideline/bus';
import {
  applyNodePatch,
  decodeNodesTopicEvent,
  NODES_TOPIC,
  type NodeEvent,
  TOPICS,
} from '@tideline/contracts';
import { applyHeartbeat, makeNode } from '@tideline/kube-test-server';
import { createLogger, Registry } from '@tideline/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { PublishedLedger } from '../domain/ledger.ts';
import type { ObservedNode } from '../domain/node-view.ts';
import { createInformerMetrics } from '../metrics.ts';
import { ClusterPublisher } from './cluster-publisher.ts';

const buses: MemoryEventBus[] = [];
afterEach(async () => {
  for (const bus of buses.splice(0)) await bus.drain();
});

async function setup(
  options: { backoff?: { initialMs: number; maxMs: number }; wrap?: (bus: EventBus) => EventBus } = {},
) {
  const bus = new MemoryEventBus({
    prefix: 't',
    topics: [{ name: NODES_TOPIC, subjects: TOPICS.nodes.subjects }],
    maxDeliveries: 3,
    backoff: { initialMs: 10, maxMs: 20 },
    ackWaitMs: 1_000,
    retentionMs: 60_000,
    duplicateWindowMs: 60_000,
  });
  await bus.start();
  buses.push(bus);
  const ledger = new PublishedLedger();
  const metrics = createInformerMetrics(new Registry());
  const publisher = new ClusterPublisher({
    cluster: 'c1',
    ledger,
    bus: options.wrap ? options.wrap(bus) : bus,
    backoff: options.backoff ?? { initialMs: 10, maxMs: 20 },
    logger: createLogger({ level: 'silent', service: 'test' } as never),
    metrics,
  });
  const events = async (): Promise<NodeEvent[]> => {
    const messages = await bus.read({ topic: NODES_TOPIC, from: 1, limit: 100 });
    return messages.map((m) => {
      const decoded = decodeNodesTopicEvent(m.data);
      if (!decoded.ok) throw decoded.error;
      return decoded.value as NodeEvent;
    });
  };
  const filtered = async () => (await metrics.filtered.get()).values.reduce((sum, v) => sum + v.value, 0);
  const failures = async () =>
    (await metrics.publishFailures.get()).values.reduce((sum, v) => sum + v.value, 0);
  return { publisher, events, filtered, failures };
}

const clone = (node: unknown) => structuredClone(node) as ObservedNode;

describe('ClusterPublisher', () => {
  it('heartbeats - publish nothing and are counted as filtered; a label removal publishes its patch', async () => {
    const { publisher, events, filtered } = await setup();
    const node = makeNode({ name: 'n1', labels: { team: 'a' } });
    publisher.upsert(clone(node));
    await publisher.idle();
    for (let i = 1; i <= 5; i++) {
      applyHeartbeat(node, new Date(Date.now() + i * 1_000));
      publisher.upsert(clone(node));
    }
    await publisher.idle();
    expect(await filtered()).toBe(5);
    expect((await events()).map((e) => e.type)).toEqual(['added']);
    delete (node.metadata.labels as Record<string, string>)['team'];
    publisher.upsert(clone(node));
    await publisher.idle();
    const all = await events();
    expect(all.map((e) => e.type)).toEqual(['added', 'updated']);
    const [added, updated] = all as [NodeEvent, NodeEvent];
    expect(added.data.patch).toBeUndefined();
    expect(updated.data.changed).toEqual(['labels']);
    expect(updated.data.patch).toEqual({ dynamic: { labels: { team: null } } });
    expect(applyNodePatch(added.data.node, updated.data.patch!)).toEqual(updated.data.node);
  });

  it('in flight - a change reverted while its event is being published is published again', async () => {
    const { publisher, events } = await setup();
    const node = makeNode({ name: 'n1' });
    publisher.upsert(clone(node));
    await publisher.idle();
    const cordoned = clone(node);
    cordoned.spec = { ...cordoned.spec, unschedulable: true };
    publisher.upsert(cordoned);
    // The cordon's event is in flight now; the revert equals the ledger's view, yet must travel.
    publisher.upsert(clone(node));
    await publisher.idle();
    const all = await events();
    expect(all.map((e) => [e.type, e.data.node.dynamic.unschedulable])).toEqual([
      ['added', false],
      ['updated', true],
      ['updated', false],
    ]);
  });
});

/** `bus.publish`, refused (and counted by `refused`) while `down()`. */
function refusedWhileDown(bus: EventBus, down: () => boolean, refused: () => void): EventBus['publish'] {
  return (...args) => {
    if (!down()) return bus.publish(...args);
    refused();
    return Promise.reject(new Error('bus disconnected'));
  };
}

describe('ClusterPublisher, bus outage', () => {
  it('an event refused while the bus is disconnected goes again once it is back, not after a delay that doubled meanwhile', async () => {
    // A backoff that reaches an hour within a few failures: a retry that waited it out would time
    // the test out. The bus comes back after the publisher looked at it five times while down.
    let down = true;
    let refused = 0;
    let looked = 0;
    const { publisher, events, failures } = await setup({
      backoff: { initialMs: 1, maxMs: 3_600_000 },
      wrap: (bus) =>
        ({
          healthy: () => {
            if (down && refused > 0 && ++looked >= 5) down = false;
            return !down;
          },
          // This bus never says it is back: the publisher finds out by looking.
          untilHealthy: () => (down ? new Promise<void>(() => {}) : Promise.resolve()),
          publish: refusedWhileDown(
            bus,
            () => down,
            () => refused++,
          ),
        }) as unknown as EventBus,
    });
    publisher.upsert(clone(makeNode({ name: 'n1' })));
    await publisher.idle();
    expect((await events()).map((e) => [e.eventId, e.type])).toEqual([[1, 'added']]);
    // Refused once, then it waited for the bus instead of trying again into the outage.
    expect(refused).toBe(1);
    expect(await failures()).toBe(1);
  });

  it('an event refused while the bus is disconnected goes out the moment the bus says it is back, not at its next look', async () => {
    // Looks an hour apart: only the bus's own word can end the wait within the test.
    let down = true;
    let refused = 0;
    let waiting = false;
    let back!: () => void;
    const healthyAgain = new Promise<void>((resolve) => {
      back = resolve;
    });
    const { publisher, events } = await setup({
      backoff: { initialMs: 3_600_000, maxMs: 3_600_000 },
      wrap: (bus) =>
        ({
          healthy: () => !down,
          untilHealthy: () => {
            waiting = true;
            return down ? healthyAgain : Promise.resolve();
          },
          publish: refusedWhileDown(
            bus,
            () => down,
            () => refused++,
          ),
        }) as unknown as EventBus,
    });
    publisher.upsert(clone(makeNode({ name: 'n1' })));
    while (!waiting) await new Promise((resolve) => setImmediate(resolve));
    expect(refused).toBe(1);
    down = false;
    back();
    await publisher.idle();
    expect((await events()).map((e) => [e.eventId, e.type])).toEqual([[1, 'added']]);
    expect(refused).toBe(1);
  });
});

describe('deliverWatchEvent', () => {
  it('a watched heartbeat reaches the ListWatch as a bookmark; a change or an unknown node as itself', async () => {
    const { deliverWatchEvent } = await import('../kube/guarded-watch.ts');
    const { publisher, filtered } = await setup();
    const node = makeNode({ name: 'n1' });
    publisher.upsert(clone(node));
    await publisher.idle();
    const delivered: [string, unknown][] = [];
    const skip = (object: unknown) => publisher.dropUnchanged(object as ObservedNode);
    const deliver = (phase: string, object: unknown) =>
      deliverWatchEvent(phase, object, {}, (p, o) => delivered.push([p, o]), skip);
    applyHeartbeat(node, new Date(Date.now() + 1_000));
    node.metadata.resourceVersion = '42';
    deliver('MODIFIED', clone(node));
    expect(delivered).toEqual([['BOOKMARK', { metadata: { resourceVersion: '42' } }]]);
    expect(await filtered()).toBe(1);
    const cordoned = clone(node);
    cordoned.spec = { ...cordoned.spec, unschedulable: true };
    deliver('MODIFIED', cordoned);
    deliver('MODIFIED', clone(makeNode({ name: 'unknown' })));
    deliver('ADDED', clone(node));
    expect(delivered.slice(1).map(([phase]) => phase)).toEqual(['MODIFIED', 'MODIFIED', 'ADDED']);
  });
});
