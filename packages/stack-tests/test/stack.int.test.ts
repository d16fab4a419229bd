import { randomUUID } from 'node:crypto';
import { createEventBus, publishPush } from '@tideline/bus';
import { connect, type TidelineClient } from '@tideline/client';
import { busSettings, loadConfig } from '@tideline/config';
import type { WebsiteItem } from '@tideline/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack, tokenFor, WebsiteApiClient } from '../src/index.ts';

const WAIT_MS = 20_000;
const results: { scenario: string; outcome: string; ms: number }[] = [];

/** A named scenario whose outcome and duration are printed in the summary at the end. */
function scenario(name: string, fn: () => Promise<void>, options: { skip?: () => string | undefined } = {}) {
  it(name, async (context) => {
    const reason = options.skip?.();
    if (reason) {
      results.push({ scenario: name, outcome: `skipped: ${reason}`, ms: 0 });
      context.skip();
      return;
    }
    const started = performance.now();
    try {
      await fn();
      results.push({ scenario: name, outcome: 'passed', ms: Math.round(performance.now() - started) });
    } catch (error) {
      results.push({ scenario: name, outcome: 'FAILED', ms: Math.round(performance.now() - started) });
      throw error;
    }
  });
}

/** A gateway's `tideline_gateway_pushes_total` of user pushes it emitted to at least one of its sockets. */
async function userPushesSent(gatewayUrl: string): Promise<number> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('tideline_gateway_pushes_total{') &&
        l.includes('target_kind="user"') &&
        l.includes('outcome="sent"'),
    );
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const sorted = (items: WebsiteItem[]) => [...items].sort((a, b) => a.website_id - b.website_id);

describe('stack', () => {
  let stack: Stack;
  let api: WebsiteApiClient;
  let lineGroup: number;
  const clients: TidelineClient[] = [];
  const suffix = randomUUID().slice(0, 8);

  const client = (url: string | string[], scopes = ['websites:read', 'nodes:read'], sub = 'stack-reader') => {
    const c = connect({
      url,
      token: tokenFor(stack, sub, scopes),
      reconnectDelayMs: { initial: 50, max: 500 },
    });
    clients.push(c);
    return c;
  };
  const localOnly = () =>
    stack.mode === 'local'
      ? undefined
      : 'needs the local topology (processes and cluster under test control)';

  beforeAll(async () => {
    stack = await startStack();
    api = new WebsiteApiClient(stack);
    lineGroup = await api.createLineGroup(`stack-${suffix}`, `edge-${suffix}.cdn.example.net`);
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await stack?.stop();
    const width = Math.max(...results.map((r) => r.scenario.length), 8);
    const lines = results.map(
      (r) => `  ${r.scenario.padEnd(width)}  ${r.outcome.padEnd(8)} ${String(r.ms).padStart(6)} ms`,
    );
    const passed = results.filter((r) => r.outcome === 'passed').length;
    console.log(
      `\nstack scenarios (${stack?.mode ?? 'not started'} topology, bus ${process.env['TIDELINE_BUS'] ?? 'nats'}): ${passed}/${results.length} passed\n${lines.join('\n')}\n`,
    );
  }, 60_000);

  scenario('websites - create, update and delete over HTTP reach SDK clients on both gateways', async () => {
    const a = client(stack.gatewayUrls[0]!);
    const b = client(stack.gatewayUrls[1] ?? stack.gatewayUrls[0]!);
    const wa = a.websites();
    const wb = b.websites();
    await expect.poll(() => a.status === 'live' && b.status === 'live', { timeout: WAIT_MS }).toBe(true);
    const created = await api.create([`www.s1-${suffix}.example.com`, `s1-${suffix}.example.com`], lineGroup);
    await api.update(created.website_id, { https_enabled: true, status: 'paused' });
    const other = await api.create([`www.s2-${suffix}.example.com`], lineGroup);
    await api.remove(other.website_id);
    const truth = sorted(await api.list());
    for (const collection of [wa, wb]) {
      await expect.poll(() => sorted(collection.items()), { timeout: WAIT_MS }).toEqual(truth);
    }
    expect(wa.get(String(created.website_id))).toMatchObject({ https_enabled: true, status: 'paused' });
    expect(wa.get(String(other.website_id))).toBeUndefined();
    expect(wa.position).toEqual(wb.position);
  });

  scenario(
    'nodes - cordon, label, taint, NotReady and delete in the cluster reach SDK clients',
    async () => {
      const kube = stack.kube!;
      const c = client(stack.gatewayUrls[0]!);
      const nodes = c.nodes(stack.cluster);
      await expect.poll(() => nodes.size, { timeout: WAIT_MS }).toBe(kube.nodeNames().length);
      const changes: string[] = [];
      nodes.onChange((change) => changes.push(`${change.kind}:${change.key ?? ''}`));
      kube.cordon('node-1');
      kube.label('node-2', 'tier', 'edge');
      kube.taint('node-3', { key: 'dedicated', value: 'db', effect: 'NoSchedule' });
      kube.setCondition('node-4', 'Ready', 'False', 'KubeletDown');
      kube.deleteNode('node-6');
      await expect.poll(() => nodes.get('node-1')?.dynamic.unschedulable, { timeout: WAIT_MS }).toBe(true);
      await expect.poll(() => nodes.get('node-2')?.dynamic.labels['tier'], { timeout: WAIT_MS }).toBe('edge');
      await expect
        .poll(() => nodes.get('node-3')?.dynamic.taints.map((t) => t.key), { timeout: WAIT_MS })
        .toEqual(['dedicated']);
      await expect
        .poll(() => nodes.get('node-4')?.dynamic.conditions.find((x) => x.type === 'Ready')?.status, {
          timeout: WAIT_MS,
        })
        .toBe('False');
      await expect.poll(() => nodes.get('node-6'), { timeout: WAIT_MS }).toBeUndefined();
      expect(
        nodes
          .items()
          .map((n) => n.name)
          .sort(),
      ).toEqual(kube.nodeNames().sort());
      expect(changes).toContain('upsert:node-1');
    },
    { skip: localOnly },
  );

  scenario('authorisation - a token scoped to another cluster is refused the nodes room', async () => {
    const c = client(stack.gatewayUrls[0]!, ['websites:read', 'nodes:read:elsewhere'], 'scoped-reader');
    const errors: string[] = [];
    c.onError((e) => errors.push(e.code));
    const nodes = c.nodes(stack.cluster);
    await expect.poll(() => errors, { timeout: WAIT_MS }).toContain('FORBIDDEN');
    expect(nodes.size).toBe(0);
  });

  scenario('resume - a client that was offline while websites changed catches up exactly', async () => {
    const c = client(stack.gatewayUrls);
    const websites = c.websites();
    await expect.poll(() => c.status, { timeout: WAIT_MS }).toBe('live');
    const before = websites.position?.eventId ?? 0;
    c.close();
    const made: WebsiteItem[] = [];
    for (let i = 0; i < 5; i++) made.push(await api.create([`www.r${i}-${suffix}.example.com`], lineGroup));
    await api.remove(made[0]!.website_id);
    const again = client(stack.gatewayUrls);
    const resumed = again.websites();
    await expect.poll(() => sorted(resumed.items()), { timeout: WAIT_MS }).toEqual(sorted(await api.list()));
    expect(resumed.position?.eventId).toBeGreaterThanOrEqual(before + 6);
  });

  scenario(
    'push - a targeted push from a backend service reaches that user on both gateways and nobody else',
    async () => {
      const alice1 = client(stack.gatewayUrls[0]!, ['websites:read'], `alice-${suffix}`);
      const alice2 = client(stack.gatewayUrls[1]!, ['websites:read'], `alice-${suffix}`);
      const bob = client(stack.gatewayUrls[0]!, ['websites:read'], `bob-${suffix}`);
      const got: string[] = [];
      alice1.onPush('push:notice', (d) => got.push(`alice1:${(d as { n: number }).n}`));
      alice2.onPush('push:notice', (d) => got.push(`alice2:${(d as { n: number }).n}`));
      bob.onPush('push:notice', (d) => got.push(`bob:${(d as { n: number }).n}`));
      await expect
        .poll(() => [alice1, alice2, bob].every((c) => c.status === 'live'), { timeout: WAIT_MS })
        .toBe(true);
      const bus = createEventBus({
        config: loadConfig(busSettings, { env: stack.busEnv }),
        clientName: 'stack-backend',
      });
      await bus.start();
      try {
        const numbers = [1, 2, 3];
        for (const n of numbers) {
          await publishPush(bus, {
            target: { kind: 'user', uid: `alice-${suffix}` },
            event: 'push:notice',
            data: { n },
          });
        }
        const expected = numbers.flatMap((n) => [`alice1:${n}`, `alice2:${n}`]).sort();
        await expect.poll(() => [...got].sort(), { timeout: WAIT_MS }).toEqual(expected);
        // Each gateway reads every push and emits it to its own sockets only: each emitted each push
        // exactly once (to its socket of alice), so nothing else is on its way to any client.
        for (const url of stack.gatewayUrls) {
          await expect.poll(() => userPushesSent(url), { timeout: WAIT_MS }).toBe(numbers.length);
        }
        expect([...got].sort()).toEqual(expected);
      } finally {
        await bus.drain();
      }
    },
    { skip: localOnly },
  );

  scenario(
    'failover - kill -9 the gateway a client uses: offline, then live on the other with the list equal to the database',
    async () => {
      const c = client(stack.gatewayUrls);
      const websites = c.websites();
      const statuses: string[] = [];
      c.onStatus((s) => statuses.push(s));
      await expect.poll(() => c.status, { timeout: WAIT_MS }).toBe('live');
      const used = stack.gatewayUrls.indexOf(c.currentUrl);
      const writes = (async () => {
        for (let i = 0; i < 10; i++) await api.create([`www.f${i}-${suffix}.example.com`], lineGroup);
      })();
      await stack.gateways[used]!.stop('SIGKILL');
      await writes;
      await expect.poll(() => c.status, { timeout: WAIT_MS }).toBe('live');
      expect(statuses).toContain('offline');
      expect(c.currentUrl).not.toBe(stack.gatewayUrls[used]);
      await expect
        .poll(() => sorted(websites.items()), { timeout: WAIT_MS })
        .toEqual(sorted(await api.list()));
      await stack.gateways[used]!.start();
    },
    { skip: localOnly },
  );
});
