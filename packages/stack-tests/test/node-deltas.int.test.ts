import { connect, type TidelineClient } from '@tideline/client';
import type {
  ClientToServerEvents,
  NodesUpdateMessage,
  NodeView,
  ServerToClientEvents,
} from '@tideline/contracts';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack, tokenFor } from '../src/index.ts';

/**
 * Delta `nodes:update` end to end (issue 17): the Kubernetes API test server → the informer
 * (which puts each change's patch on the bus) → NATS → the cache and two gateways → an SDK
 * client asking for deltas on one gateway and one taking full rows on the other. After every
 * kind of change, removals included, the two replicas are identical and equal the cluster; a
 * raw socket shows the deltas really travelled.
 */

const WAIT_MS = 30_000;

describe('node deltas through the stack', () => {
  let stack: Stack;
  const clients: TidelineClient[] = [];
  let raw: Socket<ServerToClientEvents<NodesUpdateMessage>, ClientToServerEvents> | undefined;

  beforeAll(async () => {
    stack = await startStack();
  }, 180_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    raw?.disconnect();
    await stack?.stop();
  }, 60_000);

  it('replica - a delta subscriber ends with exactly the replica of a full-row subscriber', async (context) => {
    if (stack.mode !== 'local') context.skip();
    const kube = stack.kube!;
    const token = tokenFor(stack, 'delta-reader', ['nodes:read']);
    const client = (url: string, nodeDeltas: boolean) => {
      const c = connect({ url, token, nodeDeltas, reconnectDelayMs: { initial: 50, max: 500 } });
      clients.push(c);
      return c.nodes(stack.cluster);
    };
    const rows = client(stack.gatewayUrls[0]!, false);
    const deltas = client(stack.gatewayUrls[1]!, true);
    await rows.whenSynced();
    await deltas.whenSynced();

    const received: NodesUpdateMessage[] = [];
    let granted: boolean | undefined;
    raw = io(stack.gatewayUrls[1]!, { transports: ['websocket'], forceNew: true, auth: { token } });
    raw.on('nodes:initial', (m) => {
      granted = m.delta;
    });
    raw.on('nodes:update', (m) => received.push(m));
    await new Promise<void>((resolve, reject) => {
      raw!.once('connected', () => resolve());
      raw!.once('connect_error', reject);
    });
    expect(await raw.emitWithAck('subscribe:nodes', { cluster: stack.cluster, delta: true })).toEqual({
      ok: true,
    });
    expect(granted).toBe(true);

    kube.label('node-1', 'tier', 'edge');
    kube.cordon('node-2');
    kube.taint('node-3', { key: 'dedicated', value: 'db', effect: 'NoSchedule' });
    kube.setCondition('node-4', 'Ready', 'False', 'KubeletDown');
    kube.addNode('node-9');
    await expect
      .poll(() => deltas.get('node-9') !== undefined && rows.get('node-9') !== undefined, {
        timeout: WAIT_MS,
      })
      .toBe(true);
    // Removals: a label, a taint, a cordon, then a whole node.
    kube.label('node-1', 'tier', undefined);
    kube.untaint('node-3', 'dedicated');
    kube.uncordon('node-2');
    kube.setCondition('node-4', 'Ready', 'True');
    kube.deleteNode('node-5');
    const byName = (items: readonly NodeView[]) => [...items].sort((a, b) => a.name.localeCompare(b.name));
    await expect
      .poll(
        () => rows.get('node-5') === undefined && rows.get('node-1')?.dynamic.labels['tier'] === undefined,
        {
          timeout: WAIT_MS,
        },
      )
      .toBe(true);
    await expect.poll(() => deltas.position?.eventId, { timeout: WAIT_MS }).toBe(rows.position?.eventId);
    expect(byName(deltas.items())).toEqual(byName(rows.items()));
    expect(byName(rows.items()).map((n) => n.name)).toEqual(kube.nodeNames().sort());
    expect(rows.get('node-3')?.dynamic.taints).toEqual([]);
    expect(rows.get('node-2')?.dynamic.unschedulable).toBe(false);

    // What travelled to the delta subscription: patches (a removed label as null), a delete by name.
    await expect.poll(() => received.at(-1)?.eventId, { timeout: WAIT_MS }).toBe(rows.position?.eventId);
    const patches = received.flatMap((m) => ('patch' in m ? [m.patch] : []));
    expect(patches).toContainEqual({ dynamic: { labels: { tier: null } } });
    expect(patches).toContainEqual({ dynamic: { taints: [] } });
    expect(received.find((m) => m.type === 'deleted')).toEqual(
      expect.not.objectContaining({ data: expect.anything() }),
    );
    expect(received.find((m) => m.type === 'added')).toEqual(
      expect.objectContaining({ data: expect.anything() }),
    );
  }, 120_000);
});
