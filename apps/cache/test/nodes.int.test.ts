import {
  ClusterStatuses,
  ClusterSummaries,
  INTERNAL_PATHS,
  NODES_API,
  NODES_PAGE_SIZE_MAX,
  NodeAnswer,
  type NodeEvent,
  NodesPage,
  NodesReplay,
  NodesSnapshot,
  type NodeView,
} from '@tideline/contracts';
import { eventually, sleep, testServiceToken, testToken } from '@tideline/test-support';
import { describe, expect, it } from 'vitest';
import { NodesWorld } from './support/world.ts';

const internal = { authorization: `Bearer ${testServiceToken('service:gateway')}` };
const reader = { authorization: `Bearer ${testToken('ops', ['nodes:read'])}` };
const admin = (extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${testToken('admin', ['clusters:admin'])}`,
  'content-type': 'application/json',
  ...extra,
});

async function get<T>(
  url: string,
  headers: Record<string, string>,
  schema: { parse(v: unknown): T },
): Promise<T> {
  const response = await fetch(url, { headers });
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return schema.parse(await response.json());
}

const byName = (views: NodeView[]) => Object.fromEntries(views.map((v) => [v.name, v]));

describe('nodes from the Kubernetes API test server through NATS to the cache', () => {
  it('changes - cordon, label, taint, NotReady and delete reach the cache with the right changed fields; cluster A never holds cluster B', async () => {
    await using world = await NodesWorld.create({
      clusters: [
        { name: 'alpha', nodes: 5 },
        { name: 'beta', nodes: 3 },
      ],
    });
    const cache = world.cache!;
    const start = (await get(`${cache.url}${INTERNAL_PATHS.nodesSnapshot('alpha')}`, internal, NodesSnapshot))
      .lastEventId;
    const betaBefore = world.cache!.model.lastEventIdOf('beta');
    const s = world.cluster('alpha').server;
    s.cordon('node-00000');
    s.label('node-00001', 'tideline.dev/team', 'search');
    s.taint('node-00002', { key: 'maintenance', value: 'true', effect: 'NoExecute' });
    s.setCondition('node-00003', 'Ready', 'False');
    s.deleteNode('node-00004');
    world.cluster('beta').server.label('node-00000', 'only', 'beta');
    await eventually(
      () =>
        cache.model.lastEventIdOf('alpha') === start + 5 &&
        cache.model.lastEventIdOf('beta') === betaBefore + 1,
      10_000,
    );

    const replay = await get(
      `${cache.url}${INTERNAL_PATHS.nodesEvents('alpha')}?after=${start}&limit=500`,
      internal,
      NodesReplay,
    );
    expect(replay.kind).toBe('events');
    const events = replay.kind === 'events' ? replay.events : [];
    expect(events.map((e) => [e.eventId, e.type, e.data.name, e.data.changed])).toEqual([
      [start + 1, 'updated', 'node-00000', ['unschedulable']],
      [start + 2, 'updated', 'node-00001', ['labels']],
      [start + 3, 'updated', 'node-00002', ['taints']],
      [start + 4, 'updated', 'node-00003', ['conditions']],
      [start + 5, 'deleted', 'node-00004', []],
    ]);
    expect(events.every((e) => e.data.cluster === 'alpha')).toBe(true);
    const betaReplay = await get(
      `${cache.url}${INTERNAL_PATHS.nodesEvents('beta')}?after=${betaBefore}&limit=500`,
      internal,
      NodesReplay,
    );
    expect(
      betaReplay.kind === 'events' && betaReplay.events.map((e) => [e.data.cluster, e.data.name]),
    ).toEqual([['beta', 'node-00000']]);

    const snapshot = await get(
      `${cache.url}${INTERNAL_PATHS.nodesSnapshot('alpha')}`,
      internal,
      NodesSnapshot,
    );
    expect(snapshot.lastEventId).toBe(start + 5);
    expect(byName(snapshot.items)).toEqual(byName(world.serverViews('alpha')));
    const beta = await get(`${cache.url}${INTERNAL_PATHS.nodesSnapshot('beta')}`, internal, NodesSnapshot);
    expect(beta.items.map((n) => n.name).sort()).toEqual(['node-00000', 'node-00001', 'node-00002']);
    expect(beta.items.find((n) => n.name === 'node-00000')?.dynamic.labels['only']).toBe('beta');
    expect(snapshot.items.some((n) => n.dynamic.labels['only'] === 'beta')).toBe(false);
  });

  it('queries - list with label selector, schedulable and ready filters and pages, one node, summaries; each says its lastEventId; per-cluster scopes', async () => {
    await using world = await NodesWorld.create({
      clusters: [
        { name: 'alpha', nodes: 12 },
        { name: 'beta', nodes: 2 },
      ],
    });
    const s = world.cluster('alpha').server;
    s.label('node-00003', 'tier', 'gpu');
    s.label('node-00007', 'tier', 'gpu');
    s.cordon('node-00007');
    s.setCondition('node-00005', 'Ready', 'False');
    await world.synced('alpha');
    await world.synced('beta');
    const { url, model } = world.cache!;
    const last = model.lastEventIdOf('alpha');
    const page = (query: string) => get(`${url}${NODES_API.nodes('alpha')}?${query}`, reader, NodesPage);

    const first = await page('page_size=5');
    expect(first).toMatchObject({ cluster: 'alpha', total: 12, page: 1, page_size: 5, lastEventId: last });
    expect(first.data.map((n) => n.name)).toEqual([
      'node-00000',
      'node-00001',
      'node-00002',
      'node-00003',
      'node-00004',
    ]);
    expect((await page('page_size=5&page=3')).data.map((n) => n.name)).toEqual(['node-00010', 'node-00011']);
    const gpu = await page('labelSelector=tier%3Dgpu');
    expect(gpu.data.map((n) => n.name)).toEqual(['node-00003', 'node-00007']);
    expect((await page('labelSelector=tier%3Dgpu&schedulable=true')).data.map((n) => n.name)).toEqual([
      'node-00003',
    ]);
    expect((await page('ready=false')).data.map((n) => n.name)).toEqual(['node-00005']);
    expect((await page('labelSelector=tier%20notin%20(gpu),kubernetes.io%2Fos%3Dlinux')).total).toBe(10);

    const one = await get(`${url}${NODES_API.node('alpha', 'node-00007')}`, reader, NodeAnswer);
    expect(one).toMatchObject({ cluster: 'alpha', lastEventId: last });
    expect(one.data.dynamic.unschedulable).toBe(true);
    expect(one.data.static.kubeletVersion).toBe('v1.30.4');

    const summaries = await get(`${url}${NODES_API.clusters}`, reader, ClusterSummaries);
    expect(summaries.data).toEqual([
      { cluster: 'alpha', nodes: 12, ready: 11, notReady: 1, unschedulable: 1, lastEventId: last },
      {
        cluster: 'beta',
        nodes: 2,
        ready: 2,
        notReady: 0,
        unschedulable: 0,
        lastEventId: model.lastEventIdOf('beta'),
      },
    ]);

    const alphaOnly = { authorization: `Bearer ${testToken('alice', ['nodes:read:alpha'])}` };
    expect((await fetch(`${url}${NODES_API.nodes('alpha')}`, { headers: alphaOnly })).status).toBe(200);
    const forbidden = await fetch(`${url}${NODES_API.nodes('beta')}`, { headers: alphaOnly });
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(
      (await get(`${url}${NODES_API.clusters}`, alphaOnly, ClusterSummaries)).data.map((c) => c.cluster),
    ).toEqual(['alpha']);
    expect((await fetch(`${url}${NODES_API.nodes('alpha')}`)).status).toBe(401);
    const bad = await fetch(`${url}${NODES_API.nodes('alpha')}?labelSelector=tier%20in%20(gpu`, {
      headers: reader,
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: { code: 'VALIDATION_FAILED', fields: [{ path: 'labelSelector' }] },
    });
    expect((await fetch(`${url}${NODES_API.nodes('gamma')}`, { headers: reader })).status).toBe(404);
    expect((await fetch(`${url}${NODES_API.node('alpha', 'nope')}`, { headers: reader })).status).toBe(404);
    // A user token is not for the service audience at all: 401, not a missing scope.
    expect((await fetch(`${url}${INTERNAL_PATHS.nodesSnapshot('alpha')}`, { headers: reader })).status).toBe(
      401,
    );
  });

  it('page size - a page_size over the maximum the document names is refused 400 with the error body; one at the maximum is accepted', async () => {
    await using world = await NodesWorld.create({
      clusters: [{ name: 'alpha', nodes: 3 }],
      // The cache's own cap as high as it may go: the contract's maximum is what refuses then.
      cacheEnv: { TIDELINE_CACHE_PAGE_SIZE_MAX: String(NODES_PAGE_SIZE_MAX) },
    });
    const nodes = () => `${world.cache!.url}${NODES_API.nodes('alpha')}`;
    const document = (await (await fetch(`${world.cache!.url}/docs/openapi.json`)).json()) as {
      paths: Record<string, { get: { parameters: { name: string; schema: { maximum?: number } }[] } }>;
    };
    const max = document.paths['/api/v1/clusters/{cluster}/nodes']!.get.parameters.find(
      (p) => p.name === 'page_size',
    )!.schema.maximum!;
    expect(max).toBe(NODES_PAGE_SIZE_MAX);
    expect(await get(`${nodes()}?page_size=${max}`, reader, NodesPage)).toMatchObject({
      total: 3,
      page_size: max,
    });
    const refused = async (pageSize: number) => {
      const answer = await fetch(`${nodes()}?page_size=${pageSize}`, { headers: reader });
      expect(answer.status, String(pageSize)).toBe(400);
      expect(await answer.json()).toEqual({
        error: {
          code: 'VALIDATION_FAILED',
          message: expect.stringContaining('page_size'),
          fields: [{ path: 'page_size', message: expect.any(String) }],
          requestId: answer.headers.get('x-request-id'),
        },
      });
    };
    await refused(max + 1);
    await refused(Number.MAX_SAFE_INTEGER);

    // A lower TIDELINE_CACHE_PAGE_SIZE_MAX caps it lower, with the same answer.
    await world.stopCache();
    await world.startCache({ TIDELINE_CACHE_PAGE_SIZE_MAX: '5' });
    await world.synced('alpha');
    expect((await get(`${nodes()}?page_size=5`, reader, NodesPage)).data).toHaveLength(3);
    await refused(6);
  });

  it('outage - API server down for a while: not ready, keeps retrying, recovers alone; the cache ends equal to the server', async () => {
    await using world = await NodesWorld.create({
      clusters: [{ name: 'alpha', nodes: 20 }],
      informerEnv: {
        TIDELINE_INFORMER_RESTART_BACKOFF_MS: '100',
        TIDELINE_INFORMER_RESTART_BACKOFF_MAX_MS: '400',
      },
    });
    const informer = world.informer!;
    const s = world.cluster('alpha').server;
    expect((await fetch(`${informer.url}/readyz`)).status).toBe(200);

    // 1. Connections refused; the history window still covers the outage: resume without a list.
    await s.down('refuse');
    await eventually(async () => (await fetch(`${informer.url}/readyz`)).status === 503, 5_000);
    s.cordon('node-00001');
    s.deleteNode('node-00002');
    s.addNode('node-late');
    s.heartbeatAll();
    await sleep(1_500);
    const statuses = await get(`${informer.url}/api/v1/clusters`, admin(), ClusterStatuses);
    expect(statuses.data[0]).toMatchObject({ name: 'alpha', state: 'retrying' });
    expect(statuses.data[0]!.lastError).toBeTruthy();
    await s.up();
    await eventually(async () => (await fetch(`${informer.url}/readyz`)).status === 200, 10_000);
    await world.synced('alpha');
    expect(s.counters.lists).toBe(1);
    expect(byName(world.cache!.model.snapshot('alpha').items)).toEqual(byName(world.serverViews('alpha')));

    // 2. 503s, and the history is compacted meanwhile: the resume gets 410 and the informer relists.
    const before = world.cache!.model.lastEventIdOf('alpha');
    await s.down('unavailable');
    await eventually(async () => (await fetch(`${informer.url}/readyz`)).status === 503, 5_000);
    s.label('node-00003', 'zone', 'z2');
    s.deleteNode('node-00004');
    s.setCondition('node-00005', 'Ready', 'Unknown');
    s.compact();
    await sleep(1_000);
    await s.up();
    await eventually(async () => (await fetch(`${informer.url}/readyz`)).status === 200, 10_000);
    await world.synced('alpha');
    expect(s.counters.lists).toBe(2);
    expect(world.cache!.model.lastEventIdOf('alpha')).toBe(before + 3);
    expect(byName(world.cache!.model.snapshot('alpha').items)).toEqual(byName(world.serverViews('alpha')));
    const events = world.log.of('alpha');
    expect(events.map((e) => e.eventId)).toEqual(events.map((_, i) => i + 1));
  });

  it('runtime registration - register and unregister a cluster through the authenticated API; the cache follows', async () => {
    await using world = await NodesWorld.create({ startInformer: true });
    const gamma = await world.addCluster('gamma', 5);
    const informer = world.informer!;
    const register = (headers: Record<string, string>, body: unknown) =>
      fetch(`${informer.url}/api/v1/clusters/register`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
      });
    const body = { name: 'gamma', kubeconfig: gamma.server.kubeconfig({ cluster: 'gamma' }) };

    expect((await register({ 'content-type': 'application/json' }, body)).status).toBe(401);
    const asReader = await register({ ...reader, 'content-type': 'application/json' }, body);
    expect(asReader.status).toBe(403);
    const invalid = await register(admin(), { name: 'Not_A_Label', kubeconfig: 'x' });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    const badKubeconfig = await register(admin(), {
      name: 'gamma',
      kubeconfig: 'apiVersion: v1\nkind: Config\n',
    });
    expect(badKubeconfig.status).toBe(400);
    expect(gamma.server.counters.lists).toBe(0);

    const created = await register(admin(), body);
    expect(created.status).toBe(201);
    expect((await register(admin(), body)).status).toBe(409);
    await world.synced('gamma');
    expect(world.cache!.model.snapshot('gamma').total).toBe(5);
    const listed = await get(`${informer.url}/api/v1/clusters`, admin(), ClusterStatuses);
    expect(listed.data).toEqual([
      expect.objectContaining({ name: 'gamma', source: 'api', state: 'watching', synced: true, nodes: 5 }),
    ]);

    const lastBefore = world.cache!.model.lastEventIdOf('gamma');
    const removed = await fetch(`${informer.url}/api/v1/clusters/unregister`, {
      method: 'POST',
      headers: admin(),
      body: JSON.stringify({ name: 'gamma' }),
    });
    expect(removed.status).toBe(200);
    expect(await removed.json()).toEqual({ data: { name: 'gamma', lastEventId: lastBefore + 1 } });
    await eventually(() => !world.cache!.model.has('gamma'), 5_000);
    expect((await fetch(`${world.cache!.url}${NODES_API.nodes('gamma')}`, { headers: reader })).status).toBe(
      404,
    );
    expect(
      (await fetch(`${world.cache!.url}${INTERNAL_PATHS.nodesSnapshot('gamma')}`, { headers: internal }))
        .status,
    ).toBe(404);
    expect(
      await get(
        `${world.cache!.url}${INTERNAL_PATHS.nodesEvents('gamma')}?after=${lastBefore}&limit=10`,
        internal,
        NodesReplay,
      ),
    ).toEqual({
      kind: 'fallback',
      reason: 'unknown-cluster',
    });
    await eventually(() => gamma.server.activeWatches === 0, 5_000);
    const watches = gamma.server.counters.watches;
    gamma.server.cordon('node-00000');
    await sleep(500);
    expect(world.log.lastIdOf('gamma')).toBe(lastBefore + 1);
    expect(gamma.server.counters.watches).toBe(watches);
    expect(
      (
        await fetch(`${informer.url}/api/v1/clusters/unregister`, {
          method: 'POST',
          headers: admin(),
          body: JSON.stringify({ name: 'gamma' }),
        })
      ).status,
    ).toBe(404);

    // Registered again: the sequence continues (a new epoch), and the nodes come back.
    expect((await register(admin(), body)).status).toBe(201);
    await world.synced('gamma');
    const again = world.log.of('gamma').filter((e) => e.eventId > lastBefore + 1);
    expect(again[0]).toMatchObject({ eventId: lastBefore + 2, type: 'cluster-registered' });
    expect(again.slice(1).map((e) => e.type)).toEqual(Array(5).fill('added'));
    expect(world.cache!.model.node('gamma', 'node-00000').node?.dynamic.unschedulable).toBe(true);
  });

  it('restarts - the informer continues its ids and publishes only what changed while it was down; the cache rebuilds from the bus', async () => {
    await using world = await NodesWorld.create({ clusters: [{ name: 'alpha', nodes: 15 }] });
    const before = world.log.lastIdOf('alpha');
    await world.stopInformer();
    const s = world.cluster('alpha').server;
    s.cordon('node-00001');
    s.deleteNode('node-00002');
    s.heartbeatAll();
    s.label('node-00003', 'x', 'y');
    s.label('node-00003', 'x', undefined);
    await world.startInformer();
    await world.synced('alpha');
    const after = world.log.nodeEventsOf('alpha').filter((e) => e.eventId > before);
    expect(after.map((e) => [e.eventId, e.type, e.data.name, e.data.changed])).toEqual(
      expect.arrayContaining([
        [expect.any(Number), 'updated', 'node-00001', ['unschedulable']],
        [expect.any(Number), 'deleted', 'node-00002', []],
      ]),
    );
    expect(after).toHaveLength(2);
    expect(world.log.of('alpha').map((e) => e.eventId)).toEqual(
      Array.from({ length: before + 2 }, (_, i) => i + 1),
    );

    const snapshot = world.cache!.model.snapshot('alpha');
    await world.stopCache();
    s.uncordon('node-00001');
    await world.startCache();
    await world.synced('alpha');
    const rebuilt = world.cache!.model.snapshot('alpha');
    expect(rebuilt.lastEventId).toBe(snapshot.lastEventId + 1);
    expect(byName(rebuilt.items)).toEqual(byName(world.serverViews('alpha')));
  });

  it('redelivery - the same event again, or an older one, changes nothing in the cache', async () => {
    await using world = await NodesWorld.create({ clusters: [{ name: 'alpha', nodes: 3 }] });
    const cache = world.cache!;
    const last = world.log.nodeEventsOf('alpha').at(-1)!;
    const before = cache.model.snapshot('alpha');
    const stale: NodeEvent = {
      ...last,
      data: {
        ...last.data,
        node: { ...last.data.node, dynamic: { ...last.data.node.dynamic, unschedulable: true } },
      },
    };
    await world.bus.publish(`node.alpha.${last.type}`, last, {
      msgId: `replayed-${last.eventId}`,
      key: 'alpha',
    });
    await world.bus.publish(
      `node.alpha.updated`,
      { ...stale, type: 'updated', eventId: last.eventId - 1 },
      { msgId: 'older', key: 'alpha' },
    );
    await world.bus.publish(
      'node.alpha.updated',
      { ...stale, type: 'updated', eventId: last.eventId },
      { msgId: 'same-id', key: 'alpha' },
    );
    world.cluster('alpha').server.label('node-00000', 'marker', 'after');
    await eventually(() => cache.model.lastEventIdOf('alpha') === last.eventId + 1, 10_000);
    const after = cache.model.snapshot('alpha');
    expect(byName(after.items)[last.data.name]).toEqual(byName(before.items)[last.data.name]);
    expect(byName(after.items)).toEqual(byName(world.serverViews('alpha')));
  });

  it('outside the contract - a message the contract refuses is counted as invalid and takes no id; the next event applies', async () => {
    await using world = await NodesWorld.create({ clusters: [{ name: 'alpha', nodes: 2 }] });
    const cache = world.cache!;
    const last = cache.model.lastEventIdOf('alpha');
    await world.bus.publish(
      'node.alpha.updated',
      { eventId: last + 1, topic: 'nodes', type: 'updated', data: { cluster: 'alpha', node: { name: 'x' } } },
      { msgId: 'outside-the-contract', key: 'alpha' },
    );
    await eventually(() => world.log.invalid.length === 1, 5_000);
    world.cluster('alpha').server.label('node-00000', 'marker', 'after');
    await eventually(() => world.log.lastIdOf('alpha') === last + 1, 10_000);
    await eventually(() => cache.model.lastEventIdOf('alpha') === last + 1, 10_000);
    const metrics = await (await fetch(`${cache.url}/metrics`)).text();
    expect(metrics).toMatch(/^tideline_cache_events_total\{[^}]*outcome="invalid"[^}]*\} 1$/m);
    expect(cache.model.node('alpha', 'node-00000').node?.dynamic.labels['marker']).toBe('after');
  });
});

describe('node names at the Kubernetes limit', () => {
  // A DNS-1123 subdomain of 253 characters, the longest name Kubernetes gives a node.
  const longest = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)].join('.');

  it('nodes - a 253-character node name is served by /nodes/<name>; one character more gets 414 with the error body', async () => {
    expect(longest).toHaveLength(253);
    await using world = await NodesWorld.create({ clusters: [{ name: 'longnames', nodes: 1 }] });
    const cache = world.cache!;
    world.cluster('longnames').server.addNode(longest);
    await world.synced('longnames');
    const answer = await get(`${cache.url}${NODES_API.node('longnames', longest)}`, reader, NodeAnswer);
    expect(answer.data.name).toBe(longest);

    const tooLong = await fetch(`${cache.url}${NODES_API.node('longnames', `${longest}e`)}`, {
      headers: reader,
    });
    expect(tooLong.status).toBe(414);
    expect(await tooLong.json()).toEqual({
      error: {
        code: 'VALIDATION_FAILED',
        message: expect.stringContaining('253'),
        requestId: expect.any(String),
      },
    });
  });
});
