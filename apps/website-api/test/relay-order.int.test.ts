import { randomUUID } from 'node:crypto';
import { createEventBus } from '@tideline/bus';
import { busSettings, loadConfig } from '@tideline/config';
import { TestDatabase, testToken } from '@tideline/test-support';
import { expect, it } from 'vitest';
import { startWebsiteApi } from '../src/app.ts';

// Regression: the relay once sorted a batch by its `id::text` output column, publishing
// 1, 2, 10, 100, 101, … (text order) under concurrent writers.
it('relay - under 400 concurrent creates the broker receives every event once, in numeric id order', async () => {
  await using db = await TestDatabase.create('tideline_relay_order');
  const env = {
    TIDELINE_ENV: 'test',
    TIDELINE_LOG_LEVEL: 'error',
    TIDELINE_WEBSITE_API_PORT: '0',
    TIDELINE_WEBSITE_API_HOST: '127.0.0.1',
    TIDELINE_DATABASE_URL: db.url,
    TIDELINE_BUS_PREFIX: `ro${randomUUID().replaceAll('-', '').slice(0, 10)}`,
    TIDELINE_WEBSITE_API_RELAY_INTERVAL_MS: '100',
    TIDELINE_WEBSITE_API_MIGRATE_ON_START: 'true',
  };
  const api = await startWebsiteApi({ source: { env } });
  const bus = createEventBus({ config: loadConfig(busSettings, { env }), clientName: 'relay-order-test' });
  try {
    const token = testToken('writer', ['websites:write', 'websites:read']);
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${api.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(201);
      return (await response.json()) as { data: { id: number } };
    };
    const lineGroup = (await post('/api/v1/line-groups/create', { name: 'order', cname: 'edge.example.net' }))
      .data.id;
    const count = 400;
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        post('/api/v1/websites/create', { domains: [`w${i}.order.example.com`], line_group_id: lineGroup }),
      ),
    );
    await bus.start();
    const read = async () =>
      (await bus.read({ topic: 'websites', from: 1, limit: count + 10 })).map(
        (m) => m.json<{ eventId: number }>().eventId,
      );
    await expect.poll(async () => (await read()).length, { timeout: 20_000 }).toBe(count);
    expect(await read()).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  } finally {
    await bus.drain();
    await api.stop();
  }
}, 120_000);
