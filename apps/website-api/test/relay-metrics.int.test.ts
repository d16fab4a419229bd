import { DisposableServer, eventually } from '@tideline/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiFixture } from './harness.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Value of an unlabelled-but-for-service gauge in a /metrics text (undefined when absent). */
function gauge(text: string, name: string): number | undefined {
  const match = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

describe('relay lag metrics', () => {
  it('relay lag - with the broker away, unpublished commits and the age of the oldest show on /metrics; both fall to 0 once published', async () => {
    const nats = await DisposableServer.nats();
    cleanups.push(() => nats[Symbol.asyncDispose]());
    await nats.stop();
    const fx = await ApiFixture.start({
      env: { TIDELINE_NATS_URL: nats.url, TIDELINE_WEBSITE_API_BUS_START_RETRY_MS: '100' },
    });
    cleanups.push(() => fx.dispose());
    const lineGroupId = (await fx.lineGroup('relay-lag')).id;
    for (let i = 0; i < 3; i++) {
      const answer = await fx.call('POST', '/api/v1/websites/create', {
        body: { domains: [`lag-${i}.relay.example.com`], line_group_id: lineGroupId },
      });
      expect(answer.status).toBe(201);
    }
    const scrape = async () => (await fetch(`${fx.api.url}/metrics`)).text();
    const [committedAt] = await fx.query(
      `SELECT EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS age FROM ws_events`,
    );
    const first = await scrape();
    expect(gauge(first, 'tideline_website_api_relay_unpublished_events')).toBe(3);
    // The age is read after the query above: it is at least what the database reported then.
    expect(gauge(first, 'tideline_website_api_relay_lag_seconds')).toBeGreaterThanOrEqual(
      Number(committedAt!.age),
    );
    expect(gauge(first, 'tideline_website_api_relay_lag_seconds')).toBeGreaterThan(0);

    await nats.start();
    expect(
      await eventually(
        async () => {
          const text = await scrape();
          return (
            gauge(text, 'tideline_website_api_relay_unpublished_events') === 0 &&
            gauge(text, 'tideline_website_api_relay_lag_seconds') === 0
          );
        },
        20_000,
        100,
      ),
    ).toBe(true);
  });
});
