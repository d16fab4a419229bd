import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, deleteNamespace, executorFor, SHARED_REDIS_URL, uniqueNs } from './fixtures.ts';

describe.each([{ autoPipelining: true }, { autoPipelining: false }])(
  'auto-pipelining $autoPipelining',
  ({ autoPipelining }) => {
    const ns = uniqueNs('coalesce');
    let admin: Redis;

    beforeAll(() => {
      admin = adminClient(SHARED_REDIS_URL);
    });

    afterAll(async () => {
      await deleteNamespace(admin, ns);
      admin.disconnect();
    });

    it('auto-pipelining - calls issued in one event-loop turn each get their own answer, and a lone call later its own', async () => {
      await using executor = executorFor(SHARED_REDIS_URL, { autoPipelining });
      await executor.connect();
      await executor.setServiceState({ ns, service: 'gw', podId: 'pod-a', state: 'ready' });
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          i % 2 === 0
            ? executor.setLinkedPod({ ns, uid: `u${i}`, service: 'gw', podId: `pod-${i}`, persistSeconds: 1 })
            : executor.computeLinkedPodIfAbsent({
                ns,
                uid: `u${i}`,
                service: 'gw',
                choose: { states: ['ready'] },
                persistSeconds: 1,
              }),
        ),
      );
      results.forEach((result, i) => {
        expect(result).toEqual(i % 2 === 0 ? `pod-${i}` : { podId: 'pod-a', created: true });
      });
      const reads = await Promise.all(
        Array.from({ length: 50 }, (_, i) => executor.getLinkedPod(ns, `u${i}`, 'gw')),
      );
      expect(reads).toEqual(results.map((result) => (typeof result === 'string' ? result : result?.podId)));
      expect(await executor.getLinkedPod(ns, 'u48', 'gw')).toBe('pod-48');
    });
  },
);
