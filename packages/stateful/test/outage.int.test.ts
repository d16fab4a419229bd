import { DisposableServer, eventually, FaultProxy, freePort } from '@tideline/test-support';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatefulUnavailableError } from '../src/errors.ts';
import { PodPresence } from '../src/pod-presence.ts';
import type { RedisStatefulExecutor } from '../src/redis-executor.ts';
import { readScripts, type ScriptName } from '../src/scripts.ts';
import { adminClient, executorFor, TEST_TIMEOUTS, uniqueNs } from './fixtures.ts';

/** Slack over the command timeout for scheduling on a busy 2-core machine. */
const RECOVERY_TIMEOUT_MS = 10_000;

async function failure(call: () => Promise<unknown>): Promise<{ error: unknown; elapsedMs: number }> {
  const started = performance.now();
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, elapsedMs: performance.now() - started };
}

// Every test here runs against a private redis-server: it is flushed, paused and killed. Both
// ways of writing commands (one write each, or auto-pipelined per event-loop turn) must fail fast
// and time out the same way.
describe.each([{ autoPipelining: false }, { autoPipelining: true }])(
  'outages (private redis-server, autoPipelining $autoPipelining)',
  ({ autoPipelining }) => {
    let server: DisposableServer;
    let executor: RedisStatefulExecutor;
    let admin: Redis;
    const ns = uniqueNs('outage');
    const link = (podId: string) => ({ ns, uid: 'u1', service: 'gw', podId, persistSeconds: 1 });
    /** How the link of `uid` is stored: leased and live (four fields), persisting (three), or absent. */
    const linkCondition = async (uid: string) => {
      const value = await admin.hget(`tl:{${ns}:uid:${uid}}:links`, 'gw');
      if (value === null) return 'absent';
      return value.split('|').length === 4 ? 'live' : 'persisting';
    };

    beforeAll(async () => {
      server = await DisposableServer.redis();
      executor = executorFor(server.url, { autoPipelining });
      await executor.connect();
      admin = adminClient(server.url);
    });

    afterAll(async () => {
      await executor?.close();
      admin?.disconnect();
      await server?.[Symbol.asyncDispose]();
    });

    it('NOSCRIPT - after SCRIPT FLUSH every script is reloaded on first use, transparently', async () => {
      await executor.setServiceState({ ns, service: 'gw', podId: 'pod-a', state: 'ready' });
      await executor.setLinkedPod(link('pod-a'));
      const scripts = readScripts();
      const shas = [...scripts.values()].map((s) => s.sha);
      expect(await admin.script('EXISTS', ...shas)).toEqual(shas.map(() => 1));

      await admin.script('FLUSH');
      expect(await admin.script('EXISTS', ...shas)).toEqual(shas.map(() => 0));

      expect(await executor.getLinkedPod(ns, 'u1', 'gw')).toBe('pod-a');
      expect(await executor.trySetLinkedPod(link('pod-b'))).toEqual({ ok: false, podId: 'pod-a' });
      expect(await executor.getServiceState(ns, 'gw')).toEqual(new Map([['pod-a', 'ready']]));
      expect(
        await executor.computeLinkedPodIfAbsent({
          ns,
          uid: 'u9',
          service: 'gw',
          choose: { states: ['ready'] },
          persistSeconds: 0,
        }),
      ).toEqual({
        podId: 'pod-a',
        created: true,
      });
      expect(
        await executor.removeLinkedPodWithId({
          ns,
          uid: 'u1',
          service: 'gw',
          podId: 'pod-a',
          persistSeconds: 0,
        }),
      ).toBe(true);
      const loaded = async (name: ScriptName) =>
        (await admin.script('EXISTS', scripts.get(name)!.sha)) as number[];
      for (const name of [
        'link_get',
        'link_try_set',
        'service_state_get',
        'link_compute',
        'link_remove',
      ] as const) {
        expect(await loaded(name), `${name} was used since the flush, so it is loaded again`).toEqual([1]);
      }
      expect(await loaded('link_all'), 'link_all was not used: reloading happens on use').toEqual([0]);
    });

    it('timeout - a server that does not answer fails the call with a typed timeout within the command timeout', async () => {
      await admin.client('PAUSE', 1_000, 'ALL');
      try {
        const { error, elapsedMs } = await failure(() => executor.getLinkedPod(ns, 'u1', 'gw'));
        expect(error).toBeInstanceOf(StatefulUnavailableError);
        expect((error as StatefulUnavailableError).reason).toBe('timeout');
        expect((error as StatefulUnavailableError).code).toBe('UNAVAILABLE');
        // The server stays paused longer than the command timeout: only the timeout can end the call.
        // A lower bound only (a busy machine makes a call slower, never faster).
        expect(elapsedMs).toBeGreaterThanOrEqual(TEST_TIMEOUTS.commandTimeoutMs - 50);
      } finally {
        await admin.client('UNPAUSE');
      }
      expect(await executor.getLinkedPod(ns, 'u1', 'gw')).toBeUndefined();
    });

    it('stop/start - calls fail fast as unavailable while Redis is down, and succeed again once it is back', async () => {
      await executor.setLinkedPod(link('pod-a'));
      // SIGTERM, not the default SIGKILL: DisposableServer.start() does not restart a process that
      // died by a signal (its exitCode stays null). Redis closes every connection either way.
      await server.stop('SIGTERM');

      const first = await failure(() => executor.getLinkedPod(ns, 'u1', 'gw'));
      expect(first.error, 'the call in flight when the server died').toBeInstanceOf(StatefulUnavailableError);
      // Failed by the lost connection, not by waiting out the command timeout.
      expect((first.error as StatefulUnavailableError).reason).not.toBe('timeout');
      expect(await eventually(() => !executor.healthy(), 2_000)).toBe(true);

      for (let i = 0; i < 5; i++) {
        const { error } = await failure(() => executor.trySetLinkedPod(link('pod-b')));
        expect(error).toBeInstanceOf(StatefulUnavailableError);
        // `offline`, not `timeout`: no offline queue holds the call until the timeout.
        expect((error as StatefulUnavailableError).reason).toBe('offline');
      }

      await server.start();
      expect(await eventually(() => executor.healthy(), RECOVERY_TIMEOUT_MS)).toBe(true);
      // A fresh process: data and scripts are gone (no persistence); the calls below must reload them.
      expect(await executor.trySetLinkedPod(link('pod-b'))).toEqual({ ok: true, podId: 'pod-b' });
      expect(await executor.getLinkedPod(ns, 'u1', 'gw')).toBe('pod-b');
      expect(await executor.removeLinkedPod({ ns, uid: 'u1', service: 'gw', persistSeconds: 0 })).toBe(true);
    });

    it('PodPresence - a release that failed while Redis was unreachable is retried by the heartbeat', async () => {
      await using proxy = await FaultProxy.to(server.port);
      const viaProxy = executorFor(`redis://127.0.0.1:${proxy.port}`, { autoPipelining });
      await viaProxy.connect();
      const errors: unknown[] = [];
      const presence = new PodPresence({
        executor: viaProxy,
        ns,
        service: 'gw',
        podId: 'gw-1',
        heartbeatIntervalMs: 100,
        stateTtlSeconds: 5,
        linkPersistSeconds: 30,
        // A lease (60 s) far longer than the cut: the links stay live while the pod cannot renew them.
        leaseHeartbeats: 600,
        onError: (error) => errors.push(error),
      });
      try {
        await presence.start();
        await presence.link('zoe');
        await presence.link('yan');
        proxy.cut();
        await expect(presence.unlink('zoe')).rejects.toBeInstanceOf(StatefulUnavailableError);
        await expect(presence.unlink('yan')).rejects.toBeInstanceOf(StatefulUnavailableError);
        expect(await linkCondition('zoe'), 'Redis itself is fine: still live').toBe('live');
        await expect(presence.link('yan'), 'still unreachable').rejects.toBeInstanceOf(
          StatefulUnavailableError,
        );
        expect(
          await eventually(() => errors.length > 0, RECOVERY_TIMEOUT_MS),
          'a heartbeat failed while cut',
        ).toBe(true);
        proxy.restore();
        const released = await eventually(
          async () => (await linkCondition('zoe')) === 'persisting',
          RECOVERY_TIMEOUT_MS,
        );
        expect(released, 'the heartbeat released zoe once Redis was reachable again').toBe(true);
        expect(await executor.getLinkedPod(ns, 'zoe', 'gw'), 'inside its persist window').toBe('gw-1');
        expect(
          await eventually(async () => (await linkCondition('yan')) === 'persisting', RECOVERY_TIMEOUT_MS),
        ).toBe(true);
      } finally {
        await presence.stop();
        await viaProxy.close();
      }
    });

    it('connect - an unreachable Redis fails connect() with a typed error; calls meanwhile are refused as offline', async () => {
      const port = await freePort();
      const lonely = executorFor(`redis://127.0.0.1:${port}`, { autoPipelining });
      try {
        const { error } = await failure(() => lonely.connect());
        expect(error).toBeInstanceOf(StatefulUnavailableError);
        expect((error as StatefulUnavailableError).reason).toBe('offline');
        const call = await failure(() => lonely.getLinkedPod(ns, 'u1', 'gw'));
        expect(call.error).toBeInstanceOf(StatefulUnavailableError);
        // Refused as offline at once, not held until the command timeout.
        expect((call.error as StatefulUnavailableError).reason).toBe('offline');
      } finally {
        await lonely.close();
      }
    });

    it('close - calls after close fail as unavailable (closed)', async () => {
      const short = executorFor(server.url, { autoPipelining });
      await short.connect();
      expect(short.healthy()).toBe(true);
      await short.close();
      await short.close();
      const { error } = await failure(() => short.getServiceState(ns, 'gw'));
      expect(error).toBeInstanceOf(StatefulUnavailableError);
      expect((error as StatefulUnavailableError).reason).toBe('closed');
    });
  },
);
