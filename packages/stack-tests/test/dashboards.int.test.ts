import type { TidelineClient } from '@tideline/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DeployQuery,
  DisposablePrometheus,
  deployQueries,
  driveTraffic,
  exposedMetricNames,
  missingMetrics,
  type Stack,
  stackTargets,
  startStack,
} from '../src/index.ts';

/** Short, so rate() windows hold several samples within seconds. */
const SCRAPE_INTERVAL_SECONDS = 1;
const DATA_TIMEOUT_MS = 90_000;
const POLL_MS = 500;

/** Every /metrics page of the stack, one text per service process. */
async function scrapeAll(stack: Stack): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [job, urls] of Object.entries(stackTargets(stack)))
    for (const url of urls) {
      const response = await fetch(`${url}/metrics`);
      expect(response.status, `${job} ${url}/metrics`).toBe(200);
      out.set(`${job} ${url}`, await response.text());
    }
  return out;
}

describe('dashboards and alerts against a running stack', () => {
  let stack: Stack;
  let clients: TidelineClient[] = [];
  let prometheus: DisposablePrometheus | undefined;
  const queries: DeployQuery[] = deployQueries();

  beforeAll(async () => {
    stack = await startStack();
    clients = await driveTraffic(stack);
  }, 180_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await prometheus?.stop();
    await stack?.stop();
  }, 60_000);

  it('reference - every metric a dashboard panel or an alert rule names is exposed by a service of the stack', async () => {
    const exposed = new Set<string>();
    for (const text of (await scrapeAll(stack)).values())
      for (const name of exposedMetricNames(text)) exposed.add(name);
    expect(queries.length).toBeGreaterThan(20);
    expect(missingMetrics(queries, exposed)).toEqual([]);
    // The scrape carries the conventional default metrics, and no default metric under the old prefix.
    expect(exposed).toContain('process_resident_memory_bytes');
    expect([...exposed].filter((n) => /^tideline_(process|nodejs)_/.test(n))).toEqual([]);
  });

  it(
    'real Prometheus - scraping the stack, every dashboard query returns data',
    async () => {
      prometheus = await DisposablePrometheus.start({
        targets: stackTargets(stack),
        scrapeIntervalSeconds: SCRAPE_INTERVAL_SECONDS,
      });
      const p = prometheus;
      // rate() needs two scrapes of every target inside its window.
      await expect
        .poll(async () => (await p.query('min(count_over_time(up[1m]))'))[0]?.value?.[1], {
          timeout: DATA_TIMEOUT_MS,
          interval: POLL_MS,
        })
        .toMatch(/^([3-9]|\d{2,})$/);
      expect((await p.targets()).filter((t) => t.health !== 'up')).toEqual([]);
      // Traffic again, now that Prometheus watches: counters move between two scrapes.
      for (const c of await driveTraffic(stack, 1)) clients.push(c);

      const dashboards = queries.filter((q) => q.source.startsWith('deploy/grafana/'));
      const empty: string[] = [];
      const deadline = Date.now() + DATA_TIMEOUT_MS;
      let pending = dashboards;
      while (pending.length > 0) {
        const results = await Promise.all(pending.map(async (q) => ({ q, data: await p.query(q.expr) })));
        pending = results.filter((r) => r.data.length === 0).map((r) => r.q);
        if (pending.length === 0 || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      for (const q of pending) empty.push(`${q.source}: ${q.expr}`);
      expect(empty).toEqual([]);
      expect(dashboards.length).toBeGreaterThan(20);
    },
    DATA_TIMEOUT_MS * 2,
  );
});
