import { SCOPES } from '@tideline/auth';
import type { EventBus } from '@tideline/bus';
import { type NodesInitial, type NodesRemoved, SCHEMA_VERSION, subjects } from '@tideline/contracts';
import { eventually, testToken } from '@tideline/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningPushGateway } from '../src/service.ts';
import { closeAll, connectSocket, type TestSocket } from './support/client.ts';
import { FakeCache, nodeView } from './support/fake-cache.ts';
import { TestStack } from './support/stack.ts';

const cache = new FakeCache();
let stack: TestStack;
let gateway: RunningPushGateway;
let bus: EventBus;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  stack = new TestStack();
  gateway = await stack.gateway({}, { nodesSource: cache });
  bus = await stack.bus();
});

afterAll(async () => {
  closeAll(sockets);
  await stack?.[Symbol.asyncDispose]();
});

/** Publishes one message of the nodes topic as the informer does (a node change, or a cluster event). */
async function publish(cluster: string, eventId: number, type: string, msgId = `${cluster}-${eventId}`) {
  const node = type === 'cluster-registered' || type === 'cluster-removed' ? undefined : `${cluster}-n1`;
  await bus.publish(
    subjects.node(cluster, type),
    {
      eventId,
      topic: 'nodes',
      type,
      occurredAt: new Date().toISOString(),
      schemaVersion: SCHEMA_VERSION,
      data: node
        ? { cluster, name: node, node: nodeView(node, { seq: String(eventId) }), changed: ['labels'] }
        : { cluster },
    },
    { msgId, key: cluster },
  );
}

/** What one socket receives of the nodes feeds, in order. */
async function follower(...clusters: string[]) {
  const socket = await connectSocket(gateway.url, testToken(`u-${sockets.length}`, [SCOPES.nodesRead]));
  sockets.push(socket);
  const received: string[] = [];
  socket.on('nodes:initial', (m: NodesInitial) => received.push(`${m.cluster} initial@${m.lastEventId}`));
  socket.on('nodes:update', (m) => received.push(`${m.cluster} update#${m.eventId}`));
  socket.on('nodes:removed', (m: NodesRemoved) => received.push(`${m.cluster} removed#${m.eventId}`));
  for (const cluster of clusters)
    expect(await socket.emitWithAck('subscribe:nodes', { cluster })).toEqual({ ok: true });
  return { socket, received };
}

/** The sum of a counter's samples whose labels contain every `labels` pair. */
async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

describe('cluster lifecycle on the nodes topic', () => {
  it('unregistered - its followers get nodes:removed and nothing stale after; no gap repair, no replay, no false gap', async () => {
    cache.set('gone', 3, [nodeView('gone-n1')]);
    cache.set('stays', 10, [nodeView('stays-n1')]);
    const { received } = await follower('gone', 'stays');
    await publish('gone', 4, 'updated');
    expect(await eventually(() => received.includes('gone update#4'), 10_000)).toBe(true);

    cache.remove('gone');
    await publish('gone', 5, 'cluster-removed');
    // Stale events of the old registration: a redelivery of 4, and 3 again.
    await publish('gone', 4, 'updated', 'gone-4-again');
    await publish('gone', 3, 'updated', 'gone-3-again');
    // One topic, read in order: once 11 of `stays` is in, everything before it was handled.
    await publish('stays', 11, 'updated');
    expect(await eventually(() => received.includes('stays update#11'), 10_000)).toBe(true);

    expect(received).toEqual([
      'gone initial@3',
      'stays initial@10',
      'gone update#4',
      'gone removed#5',
      'stays update#11',
    ]);
    expect(cache.replays).toEqual([]);
    expect(await counter('tideline_gateway_gap_repairs_total')).toBe(0);
    expect(await counter('tideline_gateway_out_of_order_events_total')).toBe(0);
    expect(await counter('tideline_gateway_syncs_total', { feed: 'nodes' })).toBe(2);
    expect(await counter('tideline_gateway_emits_total', { event: 'nodes:removed' })).toBe(1);
    expect(await counter('tideline_gateway_invalid_events_total')).toBe(0);
  });

  it('registered again - its followers resync by one snapshot, not by gap repair or replay', async () => {
    cache.set('back', 2, [nodeView('back-n1')]);
    const { received } = await follower('back');
    const repairsBefore = await counter('tideline_gateway_gap_repairs_total');
    cache.set('back', 3, []);
    await publish('back', 3, 'cluster-registered');
    expect(await eventually(() => received.includes('back initial@3'), 10_000)).toBe(true);
    await publish('back', 4, 'added');
    expect(await eventually(() => received.includes('back update#4'), 10_000)).toBe(true);

    expect(received).toEqual(['back initial@2', 'back initial@3', 'back update#4']);
    expect(cache.replays).toEqual([]);
    expect(await counter('tideline_gateway_gap_repairs_total')).toBe(repairsBefore);
    expect(await counter('tideline_gateway_syncs_total', { feed: 'nodes', reason: 'epoch' })).toBe(1);
  });
});
