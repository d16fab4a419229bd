import type { NodeEvent } from '@tideline/contracts';
import {
  eventually,
  NodeEventLog,
  openTestBus,
  removeStreams,
  sleep,
  TestCluster,
  testToken,
  uniquePrefix,
} from '@tideline/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningInformer, startInformer } from '../src/index.ts';
import { testInformerEnv } from './support/informer-env.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: { clusters: TestCluster[]; env?: Record<string, string> }) {
  const prefix = uniquePrefix('inf');
  const bus = await openTestBus(prefix);
  cleanups.push(async () => {
    await bus.drain();
    await removeStreams(prefix);
  });
  const log = await NodeEventLog.open(bus);
  cleanups.push(() => log.close());
  const start = (clusters = options.clusters) =>
    startInformer({
      source: {
        env: testInformerEnv({
          prefix,
          clusters,
          ...(options.env ? { env: options.env } : {}),
        }),
      },
    });
  const informer = await start();
  let current: RunningInformer = informer;
  cleanups.push(() => current.stop());
  return {
    prefix,
    bus,
    log,
    get informer() {
      return current;
    },
    /** Stops the informer and starts another on the same bus (with other configured clusters when given). */
    async restart(clusters?: TestCluster[]) {
      await current.stop();
      current = await start(clusters);
      return current;
    },
  };
}

async function cluster(
  name: string,
  nodes: number,
  options: Parameters<typeof TestCluster.start>[0] = { name },
) {
  const c = await TestCluster.start({ ...options, name, nodes });
  cleanups.push(() => c[Symbol.asyncDispose]());
  return c;
}

/** Waits until the cluster is watched, the informer saw every change the server made, published it, and the log read it back. */
async function settled(informer: RunningInformer, c: TestCluster, log: NodeEventLog) {
  const publisher = informer.registry.publisherOf(c.name)!;
  const watcher = () => informer.registry.watcherOf(c.name);
  await eventually(() => {
    const w = watcher();
    if (w?.ready !== true || publisher.busy || publisher.lastEventId === 0) return false;
    if (Number(w.resourceVersion || '0') < c.server.resourceVersion) return false;
    return log.lastIdOf(c.name) === publisher.lastEventId;
  }, 10_000);
}

function ids(events: { eventId: number }[]): number[] {
  return events.map((e) => e.eventId);
}

function contiguous(events: { eventId: number }[]): boolean {
  return events.every((e, i) => e.eventId === i + 1);
}

describe('informer against the Kubernetes API test server and NATS', () => {
  it('start - registers the cluster, then one added event per node, ids 1, 2, 3, … per cluster', async () => {
    const a = await cluster('alpha', 5);
    const b = await cluster('beta', 3);
    const { log, informer } = await setup({ clusters: [a, b] });
    await eventually(() => log.of('alpha').length === 6 && log.of('beta').length === 4, 10_000);
    expect(log.invalid).toEqual([]);
    for (const [name, nodes] of [
      ['alpha', 5],
      ['beta', 3],
    ] as const) {
      const events = log.of(name);
      expect(contiguous(events)).toBe(true);
      expect(events[0]!.type).toBe('cluster-registered');
      const added = events.slice(1) as NodeEvent[];
      expect(added.map((e) => e.type)).toEqual(Array(nodes).fill('added'));
      expect(added.every((e) => e.data.changed.length === 8)).toBe(true);
    }
    await eventually(async () => (await fetch(`${informer.url}/readyz`)).status === 200, 5_000);
  });

  it('changes - cordon, label, taint, NotReady and delete each publish one event with the right changed fields', async () => {
    const a = await cluster('alpha', 3);
    const { log, informer } = await setup({ clusters: [a] });
    await settled(informer, a, log);
    const before = log.lastIdOf('alpha');
    const s = a.server;
    s.cordon('node-00000');
    await eventually(() => log.lastIdOf('alpha') === before + 1, 5_000);
    s.label('node-00001', 'tideline.dev/team', 'payments');
    await eventually(() => log.lastIdOf('alpha') === before + 2, 5_000);
    s.taint('node-00002', { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' });
    await eventually(() => log.lastIdOf('alpha') === before + 3, 5_000);
    s.setCondition('node-00000', 'Ready', 'False');
    await eventually(() => log.lastIdOf('alpha') === before + 4, 5_000);
    s.deleteNode('node-00001');
    await eventually(() => log.lastIdOf('alpha') === before + 5, 5_000);
    await sleep(200);
    const events = log.nodeEventsOf('alpha').filter((e) => e.eventId > before);
    expect(events.map((e) => [e.eventId, e.type, e.data.name, e.data.changed])).toEqual([
      [before + 1, 'updated', 'node-00000', ['unschedulable']],
      [before + 2, 'updated', 'node-00001', ['labels']],
      [before + 3, 'updated', 'node-00002', ['taints']],
      [before + 4, 'updated', 'node-00000', ['conditions']],
      [before + 5, 'deleted', 'node-00001', []],
    ]);
    expect(events[0]!.data.node.dynamic.unschedulable).toBe(true);
    expect(events[1]!.data.node.dynamic.labels['tideline.dev/team']).toBe('payments');
    expect(events[2]!.data.node.dynamic.taints).toEqual([
      { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' },
    ]);
    expect(events[3]!.data.node.dynamic.conditions.find((c) => c.type === 'Ready')?.status).toBe('False');
    expect(log.of('alpha').length).toBe(before + 5);
  });

  it('heartbeats - 1,000 heartbeat-only updates publish zero events; a real change right after still travels', async () => {
    const a = await cluster('alpha', 10);
    const { log, informer } = await setup({ clusters: [a] });
    await settled(informer, a, log);
    const before = log.lastIdOf('alpha');
    const rvBefore = a.server.resourceVersion;
    for (let i = 0; i < 1_000; i++) a.server.heartbeat(`node-0000${i % 10}`);
    expect(a.server.resourceVersion - rvBefore).toBe(1_000);
    a.server.label('node-00003', 'after', 'heartbeats');
    await eventually(() => log.lastIdOf('alpha') === before + 1, 5_000);
    await sleep(300);
    const after = log.nodeEventsOf('alpha').filter((e) => e.eventId > before);
    expect(after.map((e) => [e.data.name, e.data.changed])).toEqual([['node-00003', ['labels']]]);
  });

  it('watch only - zero list calls between resyncs: dropped watches and server timeouts resume from the resourceVersion', async () => {
    const a = await cluster('alpha', 20);
    const { log, informer } = await setup({
      clusters: [a],
      env: { TIDELINE_INFORMER_WATCH_TIMEOUT_SECONDS: '1' },
    });
    await settled(informer, a, log);
    expect(a.server.counters.lists).toBe(1);
    const watchesBefore = a.server.counters.watches;
    for (let round = 0; round < 3; round++) {
      a.server.dropWatches();
      a.server.label(`node-0000${round}`, 'round', String(round));
      await sleep(150);
    }
    await sleep(1_300);
    a.server.cordon('node-00019');
    await eventually(
      () =>
        log
          .nodeEventsOf('alpha')
          .some((e) => e.data.name === 'node-00019' && e.data.changed.includes('unschedulable')),
      10_000,
    );
    const labelled = log
      .nodeEventsOf('alpha')
      .filter((e) => e.type === 'updated' && e.data.changed.includes('labels'));
    expect(labelled.map((e) => e.data.name).sort()).toEqual(['node-00000', 'node-00001', 'node-00002']);
    expect(a.server.counters.watches).toBeGreaterThan(watchesBefore + 2);
    expect(a.server.counters.lists).toBe(1);
    expect(contiguous(log.of('alpha'))).toBe(true);
  });

  it('410 during watch - relists and publishes exactly the differences: no duplicate, no missing event', async () => {
    const a = await cluster('alpha', 30);
    const { log, informer } = await setup({ clusters: [a] });
    await settled(informer, a, log);
    const before = log.lastIdOf('alpha');
    const s = a.server;
    // Changes the open watch never sees; only the relist that follows the 410 can find them.
    s.stallWatches();
    s.cordon('node-00001');
    s.label('node-00002', 'zone', 'b');
    s.deleteNode('node-00003');
    s.addNode('node-new');
    s.label('node-00004', 'flip', 'x');
    s.label('node-00004', 'flip', undefined);
    for (let i = 0; i < 50; i++) s.heartbeat(`node-000${10 + (i % 20)}`);
    expect(s.expireWatches()).toBeGreaterThan(0);
    await eventually(() => s.counters.lists === 2 && log.lastIdOf('alpha') === before + 4, 10_000);
    await sleep(300);
    const events = log.nodeEventsOf('alpha').filter((e) => e.eventId > before);
    const summary = events.map((e) => `${e.type}:${e.data.name}:${e.data.changed.join('+')}`).sort();
    expect(summary).toEqual([
      'added:node-new:labels+taints+unschedulable+conditions+addresses+capacity+allocatable+nodeInfo',
      'deleted:node-00003:',
      'updated:node-00001:unschedulable',
      'updated:node-00002:labels',
    ]);
    expect(ids(log.of('alpha'))).toEqual(Array.from({ length: before + 4 }, (_, i) => i + 1));
    // The watch resumes from the relist: later changes keep flowing.
    s.cordon('node-00005');
    await eventually(() => log.lastIdOf('alpha') === before + 5, 5_000);
  });

  it('410 as HTTP status - an API server answering the resume with HTTP 410 gets a relist too', async () => {
    const a = await cluster('alpha', 10, { name: 'alpha', expiredWatchAs: 'http' });
    const { log, informer } = await setup({ clusters: [a] });
    await settled(informer, a, log);
    const before = log.lastIdOf('alpha');
    a.server.stallWatches();
    a.server.cordon('node-00004');
    a.server.compact();
    a.server.dropWatches();
    await settled(informer, a, log);
    expect(a.server.counters).toMatchObject({ lists: 2, expiredWatches: 1 });
    expect(
      log
        .nodeEventsOf('alpha')
        .filter((e) => e.eventId > before)
        .map((e) => [e.data.name, e.data.changed]),
    ).toEqual([['node-00004', ['unschedulable']]]);
  });

  it('watchdog - a watch that stalls silently is restarted; changes flow again, resumed without a list', async () => {
    const a = await cluster('alpha', 5);
    const { log, informer } = await setup({
      clusters: [a],
      env: {
        TIDELINE_INFORMER_WATCHDOG_MS: '800',
        TIDELINE_INFORMER_WATCH_BOOKMARKS: 'false',
        TIDELINE_INFORMER_WATCH_IDLE_TIMEOUT_MS: '60000',
      },
    });
    await settled(informer, a, log);
    const watcher = informer.registry.watcherOf('alpha')!;
    const restarts = watcher.restarts;
    expect(a.server.stallWatches()).toBe(1);
    a.server.cordon('node-00001');
    await eventually(
      () => log.nodeEventsOf('alpha').some((e) => e.data.name === 'node-00001' && e.type === 'updated'),
      5_000,
    );
    expect(watcher.restarts).toBeGreaterThan(restarts);
    expect(a.server.counters.lists).toBe(1);
  });

  it('resync - the periodic relist publishes only true differences (a change the watch missed), nothing for heartbeats', async () => {
    const a = await cluster('alpha', 8);
    const { log, informer } = await setup({
      clusters: [a],
      env: { TIDELINE_INFORMER_RESYNC_INTERVAL_MS: '1000' },
    });
    await settled(informer, a, log);
    const before = log.lastIdOf('alpha');
    a.server.stallWatches();
    a.server.heartbeatAll();
    a.server.taint('node-00006', { key: 'lost', effect: 'NoSchedule' });
    await eventually(() => a.server.counters.lists >= 2 && log.lastIdOf('alpha') > before, 5_000);
    await sleep(1_200);
    expect(a.server.counters.lists).toBeGreaterThanOrEqual(3);
    const after = log.nodeEventsOf('alpha').filter((e) => e.eventId > before);
    expect(after.map((e) => [e.data.name, e.data.changed])).toEqual([['node-00006', ['taints']]]);
  });

  it('client watch timeout - the library abandons an idle watch (2.0.0: after 30 s, always); it is resumed from its resourceVersion, never relisted', async () => {
    const a = await cluster('alpha', 5);
    const { log, informer } = await setup({
      clusters: [a],
      env: { TIDELINE_INFORMER_WATCH_IDLE_TIMEOUT_MS: '300', TIDELINE_INFORMER_WATCH_BOOKMARKS: 'false' },
    });
    await settled(informer, a, log);
    const watches = a.server.counters.watches;
    await sleep(1_500);
    expect(a.server.counters.watches).toBeGreaterThanOrEqual(watches + 3);
    a.server.label('node-00002', 'late', 'yes');
    await eventually(
      () => log.nodeEventsOf('alpha').some((e) => e.data.name === 'node-00002' && e.type === 'updated'),
      5_000,
    );
    expect(a.server.counters.lists).toBe(1);
    expect(informer.registry.watcherOf('alpha')!.restarts).toBe(0);
  });

  it('recovery - a message outside the contract on the nodes topic is skipped at restart; ids continue after the last valid event', async () => {
    const a = await cluster('alpha', 3);
    const world = await setup({ clusters: [a] });
    await settled(world.informer, a, world.log);
    const last = world.log.lastIdOf('alpha');
    // Has an id, a type and a node name, but no node view the contract accepts.
    await world.bus.publish(
      'node.alpha.updated',
      {
        eventId: last + 50,
        topic: 'nodes',
        type: 'updated',
        data: { cluster: 'alpha', node: { name: 'x' } },
      },
      { msgId: 'outside-the-contract', key: 'alpha' },
    );
    await eventually(() => world.log.invalid.length === 1, 5_000);
    const restarted = await world.restart();
    await settled(restarted, a, world.log);
    a.server.label('node-00001', 'after', 'restart');
    await eventually(() => world.log.lastIdOf('alpha') === last + 1, 5_000);
    expect(world.log.of('alpha').at(-1)).toMatchObject({
      eventId: last + 1,
      data: { name: 'node-00001', changed: ['labels'] },
    });
  });

  // Runtime registrations are restored from Redis (test/registrations.int.test.ts); a cluster
  // dropped from the configuration is what is left orphaned.
  it('orphans - a cluster removed from TIDELINE_INFORMER_CLUSTERS is reported orphaned after a restart; unregistering it publishes cluster-removed', async () => {
    const a = await cluster('alpha', 3);
    const world = await setup({ clusters: [a] });
    const headers = {
      authorization: `Bearer ${testToken('admin', ['clusters:admin'])}`,
      'content-type': 'application/json',
    };
    await settled(world.informer, a, world.log);
    const last = world.log.lastIdOf('alpha');
    const restarted = await world.restart([]);
    const statuses = (await (await fetch(`${restarted.url}/api/v1/clusters`, { headers })).json()) as {
      data: unknown[];
    };
    expect(statuses.data).toEqual([
      {
        name: 'alpha',
        source: 'bus',
        state: 'orphaned',
        synced: false,
        nodes: 3,
        lastEventId: last,
        restarts: 0,
        lists: 0,
      },
    ]);
    const removed = await fetch(`${restarted.url}/api/v1/clusters/unregister`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'alpha' }),
    });
    expect(await removed.json()).toEqual({ data: { name: 'alpha', lastEventId: last + 1 } });
    await eventually(() => world.log.lastIdOf('alpha') === last + 1, 5_000);
    expect(world.log.of('alpha').at(-1)).toMatchObject({ type: 'cluster-removed', eventId: last + 1 });
    expect(
      ((await (await fetch(`${restarted.url}/api/v1/clusters`, { headers })).json()) as { data: unknown[] })
        .data,
    ).toEqual([]);
  });
});
