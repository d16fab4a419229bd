import { randomUUID } from 'node:crypto';
import type {
  ClientToServerEvents,
  NodesInitial,
  NodesUpdate,
  RequestError,
  ServerToClientEvents,
} from '@tideline/contracts';
import { startPushGateway } from '@tideline/push-gateway';
import { eventually, sleep, testToken } from '@tideline/test-support';
import { io, type Socket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { NodesWorld, REDIS_URL } from './support/world.ts';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

interface Recorded {
  socket: ClientSocket;
  initials: NodesInitial[];
  updates: NodesUpdate[];
  errors: RequestError[];
}

async function connect(url: string, scopes: string[]): Promise<Recorded> {
  const socket: ClientSocket = io(url, {
    path: '/socket.io/',
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    auth: { token: testToken(`user-${randomUUID().slice(0, 6)}`, scopes) },
  });
  const recorded: Recorded = { socket, initials: [], updates: [], errors: [] };
  socket.on('nodes:initial', (m) => recorded.initials.push(m));
  socket.on('nodes:update', (m) => recorded.updates.push(m));
  socket.on('request:error', (m) => recorded.errors.push(m));
  await new Promise<void>((resolve, reject) => {
    socket.once('connected', () => resolve());
    socket.once('connect_error', reject);
  });
  return recorded;
}

function subscribe(
  client: Recorded,
  cluster: string,
  lastEventId?: number,
): Promise<{ ok: boolean; code?: string }> {
  return new Promise((resolve) =>
    client.socket.emit(
      'subscribe:nodes',
      { cluster, ...(lastEventId !== undefined ? { lastEventId } : {}) },
      (ack) => resolve(ack),
    ),
  );
}

describe('nodes through the push-gateway to subscribed sockets', () => {
  it('end to end - cordon, label, taint, NotReady and delete reach a subscribed socket with the right changed fields; a subscriber of cluster A never receives cluster B', async () => {
    await using world = await NodesWorld.create({
      clusters: [
        { name: 'alpha', nodes: 5 },
        { name: 'beta', nodes: 3 },
      ],
    });
    const id = randomUUID().replaceAll('-', '').slice(0, 10);
    const gateway = await startPushGateway({
      source: {
        env: {
          TIDELINE_ENV: 'test',
          TIDELINE_LOG_LEVEL: process.env['TIDELINE_TEST_LOG_LEVEL'] ?? 'silent',
          TIDELINE_GATEWAY_PORT: '0',
          TIDELINE_GATEWAY_HOST: '127.0.0.1',
          TIDELINE_NATS_URL: world.cacheEnv()['TIDELINE_NATS_URL']!,
          TIDELINE_REDIS_URL: REDIS_URL,
          TIDELINE_BUS_PREFIX: world.prefix,
          TIDELINE_GATEWAY_CACHE_URL: world.cache!.url,
          TIDELINE_GATEWAY_ADAPTER_KEY: `tideline-test:${id}:socket.io`,
          TIDELINE_STATEFUL_NAMESPACE: world.namespace,
          TIDELINE_SHUTDOWN_TIMEOUT_MS: '5000',
          TIDELINE_GATEWAY_DRAIN_GRACE_MS: '50',
        },
      },
    });
    world.defer(() => gateway.stop('test done'));
    const alphaOnly = await connect(gateway.url, ['nodes:read:alpha']);
    const everything = await connect(gateway.url, ['nodes:read']);
    world.defer(async () => {
      alphaOnly.socket.disconnect();
      everything.socket.disconnect();
    });

    expect(await subscribe(alphaOnly, 'alpha')).toEqual({ ok: true });
    expect(await subscribe(alphaOnly, 'beta')).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(await subscribe(everything, 'beta')).toEqual({ ok: true });
    await eventually(() => alphaOnly.initials.length === 1 && everything.initials.length === 1, 5_000);
    const initial = alphaOnly.initials[0]!;
    expect(initial).toMatchObject({
      cluster: 'alpha',
      total: 5,
      lastEventId: world.cache!.model.lastEventIdOf('alpha'),
    });
    expect(everything.initials[0]).toMatchObject({ cluster: 'beta', total: 3 });

    const s = world.cluster('alpha').server;
    const steps: [() => void, string, NodesUpdate['type'], string[]][] = [
      [() => s.cordon('node-00000'), 'node-00000', 'updated', ['unschedulable']],
      [() => s.label('node-00001', 'tideline.dev/team', 'payments'), 'node-00001', 'updated', ['labels']],
      [
        () => s.taint('node-00002', { key: 'gpu', value: 'true', effect: 'NoSchedule' }),
        'node-00002',
        'updated',
        ['taints'],
      ],
      [() => s.setCondition('node-00003', 'Ready', 'False'), 'node-00003', 'updated', ['conditions']],
      [() => s.deleteNode('node-00004'), 'node-00004', 'deleted', []],
    ];
    for (const [change, name, type, changed] of steps) {
      const seen = alphaOnly.updates.length;
      change();
      await eventually(() => alphaOnly.updates.length === seen + 1, 5_000);
      expect(alphaOnly.updates.at(-1)).toMatchObject({ cluster: 'alpha', type, changed, data: { name } });
    }
    expect(alphaOnly.updates.map((u) => u.eventId)).toEqual(
      [1, 2, 3, 4, 5].map((i) => initial.lastEventId + i),
    );

    // Beta changes go to beta's subscriber only.
    world.cluster('beta').server.cordon('node-00001');
    await eventually(() => everything.updates.length === 1, 5_000);
    expect(everything.updates[0]).toMatchObject({
      cluster: 'beta',
      type: 'updated',
      changed: ['unschedulable'],
      data: { name: 'node-00001' },
    });
    await sleep(300);
    expect(alphaOnly.updates.every((u) => u.cluster === 'alpha')).toBe(true);
    expect(everything.updates.every((u) => u.cluster === 'beta')).toBe(true);
    expect(alphaOnly.errors.map((e) => e.code)).toEqual(['FORBIDDEN']);

    // A late subscriber resuming from the initial's id gets the five missed updates as a replay.
    const late = await connect(gateway.url, ['nodes:read']);
    world.defer(async () => void late.socket.disconnect());
    expect(await subscribe(late, 'alpha', initial.lastEventId)).toEqual({ ok: true });
    await eventually(() => late.updates.length === 5, 5_000);
    expect(late.initials).toEqual([]);
    expect(late.updates.map((u) => [u.data.name, u.changed])).toEqual(
      steps.map(([, name, , changed]) => [name, changed]),
    );
  });
});
