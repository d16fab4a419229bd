import { SCOPES } from '@tideline/auth';
import { type Change, TidelineClient } from '@tideline/client';
import type { WebsiteItem } from '@tideline/contracts';
import { eventually, testToken } from '@tideline/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { World } from './support/world.ts';

/**
 * The SDK's lifecycle against a real gateway, website-api, PostgreSQL, NATS and Redis: the first
 * snapshot as a promise, a resume after disconnect()/connect(), and refusals that end in a state.
 */

const WAIT_MS = 30_000;
const byId = (items: readonly WebsiteItem[]) => [...items].sort((a, b) => a.website_id - b.website_id);

let world: World;
const clients: TidelineClient[] = [];

beforeAll(async () => {
  world = await World.start();
  for (let i = 0; i < 3; i++) await world.createWebsite();
});

afterAll(async () => {
  for (const client of clients) client.close();
  await world?.[Symbol.asyncDispose]();
});

function client(uid: string, scopes: string[], token = testToken(uid, scopes)): TidelineClient {
  const c = new TidelineClient({
    url: world.gateway.url,
    token,
    reconnectDelayMs: { initial: 100, max: 1_000 },
  });
  clients.push(c);
  return c;
}

describe('SDK lifecycle on a real gateway', () => {
  it('whenSynced() resolves with the snapshot; disconnect() then connect() resumes by replay with recovered: true', async () => {
    const sdk = client('sdk-lifecycle', [SCOPES.websitesRead]);
    const websites = sdk.websites();
    const history: Change<WebsiteItem>[] = [];
    websites.onChange((change) => history.push(change));
    sdk.connect();
    const first = await websites.whenSynced();
    expect(byId(first)).toEqual(await world.databaseList());
    expect(websites.recovered).toBe(false);
    expect(sdk.status).toBe('live');

    sdk.disconnect();
    expect(sdk.state).toMatchObject({
      state: 'disconnected',
      code: 'CLIENT_DISCONNECT',
      reconnecting: false,
    });
    const held = websites.position!.eventId;
    // What changes while it is away is replayed on the resume.
    const added = await world.createWebsite();
    await world.updateWebsite(first[0]!.website_id, { https_enabled: !first[0]!.https_enabled });
    const last = await world.lastEventId();
    expect(last).toBeGreaterThan(held);

    sdk.connect();
    expect(
      await eventually(() => websites.state === 'live' && websites.position?.eventId === last, WAIT_MS),
    ).toBe(true);
    expect(websites.recovered).toBe(true);
    expect(byId(websites.items())).toEqual(await world.databaseList());
    expect(websites.get(String(added.website_id))).toEqual(added);
    // One snapshot (the first), then the missed events in order: nothing fetched afresh.
    expect(history.filter((c) => c.kind === 'reset')).toEqual([history[0]]);
    expect(history.slice(1).map((c) => c.eventId)).toEqual(
      Array.from({ length: last - held }, (_, i) => held + 1 + i),
    );
  });

  it('FORBIDDEN - a cluster the token may not read fails its collection for good, and the client stays live', async () => {
    const sdk = client('sdk-forbidden', [SCOPES.websitesRead]).connect();
    const nodes = sdk.nodes('not-mine');
    await expect(nodes.whenSynced()).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(nodes.state).toBe('failed');
    expect(nodes.failure).toMatchObject({ code: 'FORBIDDEN', terminal: true });
    await sdk.websites().whenSynced();
    expect(sdk.status).toBe('live');
  });

  it('UNAUTHORIZED - a token the gateway refuses fails the client instead of reconnecting forever', async () => {
    const sdk = client('sdk-refused', [], 'not-a-token');
    const synced = sdk
      .websites()
      .whenSynced()
      .catch((error: unknown) => error);
    sdk.connect();
    expect(await synced).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(sdk.state).toMatchObject({ state: 'failed', code: 'UNAUTHORIZED' });
    expect(sdk.status).toBe('failed');
  });
});
