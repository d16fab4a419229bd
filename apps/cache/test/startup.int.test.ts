import type { EventBus } from '@tideline/bus';
import { INTERNAL_PATHS, NODES_API, NodesPage, OPERATOR_API } from '@tideline/contracts';
import { createLogger } from '@tideline/runtime';
import { eventually, freePort, testServiceToken, testToken } from '@tideline/test-support';
import { describe, expect, it } from 'vitest';
import { NodesFeed } from '../src/adapters/nodes-feed.ts';
import { NodeReadModel } from '../src/domain/read-model.ts';
import { startCache } from '../src/index.ts';
import { NodesWorld } from './support/world.ts';

const reader = { authorization: `Bearer ${testToken('ops', ['nodes:read'])}` };
const operator = { authorization: `Bearer ${testToken('ops', ['operator:read'])}` };
const internal = { authorization: `Bearer ${testServiceToken('service:gateway')}` };

/** `bus` whose reads of retained events wait until `open()`: a rebuild held at its first read. */
function heldReads(bus: EventBus): { bus: EventBus; open: () => void; waiting: () => number } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  let waiting = 0;
  const held = new Proxy(bus, {
    get(target, property) {
      if (property === 'read')
        return async (...args: Parameters<EventBus['read']>) => {
          waiting += 1;
          await opened;
          return target.read(...args);
        };
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { bus: held, open, waiting: () => waiting };
}

describe('cache start: it listens while the read model is rebuilt', () => {
  it('startup - /healthz answers during the rebuild, /readyz and the model’s answers are 503 until it is done', async () => {
    await using world = await NodesWorld.create({ clusters: [{ name: 'alpha', nodes: 5 }] });
    await world.stopCache();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const rebuild = heldReads(world.bus);
    const starting = startCache({
      source: { env: world.cacheEnv({ TIDELINE_CACHE_PORT: String(port) }) },
      bus: rebuild.bus,
    });
    let started = false;
    void starting.then(() => {
      started = true;
    });
    world.defer(async () => (await starting.catch(() => undefined))?.stop('test'));

    await eventually(
      async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.status === 200,
      10_000,
    );
    expect(rebuild.waiting()).toBeGreaterThan(0);
    expect(started).toBe(false);

    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, boolean> }).checks).toMatchObject({
      'caught-up': false,
    });
    for (const [path, headers] of [
      [NODES_API.clusters, reader],
      [NODES_API.nodes('alpha'), reader],
      [NODES_API.node('alpha', 'node-00000'), reader],
      [INTERNAL_PATHS.nodesSnapshot('alpha'), internal],
      [INTERNAL_PATHS.nodesEvents('alpha'), internal],
      [OPERATOR_API.cacheClusters, operator],
    ] as const) {
      const answer = await fetch(`${url}${path}`, { headers });
      expect(answer.status, path).toBe(503);
      expect(await answer.json(), path).toEqual({
        error: {
          code: 'UNAVAILABLE',
          message: expect.stringContaining('rebuilt'),
          requestId: expect.any(String),
        },
      });
    }
    // Authorisation comes first: without a token the answer is 401, not the rebuild's 503.
    expect((await fetch(`${url}${NODES_API.nodes('alpha')}`)).status).toBe(401);

    rebuild.open();
    const cache = await starting;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const page = NodesPage.parse(
      await (await fetch(`${url}${NODES_API.nodes('alpha')}`, { headers: reader })).json(),
    );
    expect(page.total).toBe(5);
    expect(page.lastEventId).toBe(cache.model.lastEventIdOf('alpha'));
  });

  it('startup - a feed stopped during its rebuild ends it without an error and is not ready', async () => {
    await using world = await NodesWorld.create({ clusters: [{ name: 'alpha', nodes: 3 }] });
    const rebuild = heldReads(world.bus);
    const feed = new NodesFeed({
      bus: rebuild.bus,
      model: new NodeReadModel(10),
      group: `stopped-${world.prefix}`,
      pageSize: 100,
      endReads: 2,
      logger: createLogger({ service: 'cache-test', level: 'silent' }),
    });
    await feed.subscribe();
    const catchingUp = feed.catchUp();
    await eventually(() => rebuild.waiting() > 0, 5_000);
    await feed.stop();
    rebuild.open();
    await expect(catchingUp).resolves.toBe(false);
    expect(feed.ready).toBe(false);
  });
});
