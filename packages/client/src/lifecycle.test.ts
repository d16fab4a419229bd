import type { NodeView, WebsiteItem } from '@tideline/contracts';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type ClientState, type ConnectOptions, connect, TidelineClient } from './client.ts';
import { TidelineClientError } from './errors.ts';
import { fakeIo, handshakeRefusal } from './testing/fake-socket.ts';

const flush = () => new Promise((resolve) => setImmediate(resolve));
const clients: TidelineClient[] = [];

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  vi.useRealTimers();
});

function start(options: Partial<ConnectOptions> = {}) {
  const fake = fakeIo();
  const client = connect({
    url: 'http://gateway.test',
    token: 't',
    reconnectDelayMs: { initial: 1_000, max: 8_000 },
    io: fake.io,
    ...options,
  });
  clients.push(client);
  return { client, ...fake };
}

/** A client whose first connection is live with websites (at 5) and nodes of `prod` (at 3) synced. */
async function liveWithCollections(onStatus?: (status: string) => void) {
  const started = start();
  if (onStatus) started.client.onStatus(onStatus);
  const first = started.opened[0]!;
  first.accept();
  const websites = started.client.websites();
  const nodes = started.client.nodes('prod');
  await flush();
  first.fire('websites:initial', websitesInitial(5, [site(1)]));
  first.fire('nodes:initial', nodesInitial('prod', 3, [node('n1')]));
  return { ...started, websites, nodes };
}

const node = (name: string, extra: Partial<NodeView> = {}) => ({ name, ...extra }) as NodeView;
const site = (id: number, extra: Partial<WebsiteItem> = {}) =>
  ({ website_id: id, domains: [`s${id}.example.com`], https_enabled: false, ...extra }) as WebsiteItem;
const nodesInitial = (cluster: string, lastEventId: number, items: NodeView[] = []) => ({
  cluster,
  items,
  total: items.length,
  lastEventId,
});
const websitesInitial = (lastEventId: number, items: WebsiteItem[] = []) => ({
  items,
  total: items.length,
  version: 'v1',
  lastEventId,
});
const fakeTimers = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });

describe('lifecycle', () => {
  it('construction - new TidelineClient() opens nothing until connect(); the connect() factory connects at once', () => {
    const fake = fakeIo();
    const client = new TidelineClient({ url: 'http://gateway.test', token: 't', io: fake.io });
    clients.push(client);
    expect(fake.opened).toHaveLength(0);
    expect(client.state).toEqual({
      state: 'disconnected',
      code: 'NOT_CONNECTED',
      reason: 'connect() was not called yet',
      reconnecting: false,
    });
    expect(client.connect()).toBe(client);
    expect(fake.opened).toHaveLength(1);
    expect(client.state).toEqual({ state: 'connecting' });
    // A second connect() while connecting opens nothing more.
    client.connect();
    expect(fake.opened).toHaveLength(1);
    fake.opened[0]!.accept();
    expect(client.state).toEqual({ state: 'connected' });
    expect(client.status).toBe('live');

    const { opened } = start();
    expect(opened).toHaveLength(1);
  });

  it('disconnect() then connect() - collections resume from their positions, recovered: true after a replay and false after a fresh snapshot', async () => {
    const { client, opened, websites, nodes } = await liveWithCollections();
    expect(websites.recovered).toBe(false);

    client.disconnect();
    expect(client.state).toEqual({
      state: 'disconnected',
      code: 'CLIENT_DISCONNECT',
      reason: 'disconnect() was called',
      reconnecting: false,
    });
    expect(client.status).toBe('offline');
    expect(websites.state).toBe('resyncing');
    expect(websites.items()).toEqual([site(1)]);

    client.connect();
    expect(opened).toHaveLength(2);
    const second = opened[1]!;
    // The server replays the websites it missed, but answers the nodes resume with a fresh snapshot.
    second.answer = (event) => {
      if (event === 'request:websites')
        second.fire('websites:update', { eventId: 6, type: 'add', data: site(2) });
      else second.fire('nodes:initial', nodesInitial('prod', 9, [node('n2')]));
      return { ok: true };
    };
    second.accept();
    expect(await websites.whenSynced()).toEqual([site(1), site(2)]);
    await nodes.whenSynced();
    expect(second.payloadsOf('request:websites')).toEqual([{ lastEventId: 5, version: 'v1' }]);
    expect(second.payloadsOf('subscribe:nodes')).toEqual([{ cluster: 'prod', lastEventId: 3 }]);
    expect(websites.recovered).toBe(true);
    expect(nodes.recovered).toBe(false);
    expect(nodes.items()).toEqual([node('n2')]);
    expect(client.status).toBe('live');
  });

  it('close() - is final: connect() afterwards throws CLOSED and a pending whenSynced() rejects', async () => {
    const { client, opened } = start();
    const pending = client.websites().whenSynced();
    client.close();
    await expect(pending).rejects.toMatchObject({ code: 'CLOSED' });
    expect(opened[0]!.connected).toBe(false);
    expect(client.closed).toBe(true);
    expect(() => client.connect()).toThrow(TidelineClientError);
    // Asked for later, a collection comes back closed rather than waiting forever.
    const late = client.nodes('prod');
    expect(late.closed).toBe(true);
    await expect(late.whenSynced()).rejects.toMatchObject({ code: 'CLOSED' });
    expect(client.findNodes('prod')).toBeUndefined();
  });

  it('client states - a lost connection is disconnected with its code and reason, then connecting, then connected', () => {
    fakeTimers();
    const { client, opened } = start();
    const states: ClientState[] = [];
    client.onState((state) => states.push(state));
    opened[0]!.accept();
    opened[0]!.fire('disconnect', 'transport close');
    vi.advanceTimersByTime(8_000);
    opened[1]!.accept();
    expect(states).toEqual([
      { state: 'connected' },
      { state: 'disconnected', code: 'TRANSPORT_CLOSED', reason: 'transport close', reconnecting: true },
      { state: 'connecting' },
      { state: 'connected' },
    ]);
  });

  it('statuses - disconnect() goes from live straight to offline, never resyncing; connect() then resumes through resyncing', async () => {
    const statuses: string[] = [];
    const { client, opened, websites, nodes } = await liveWithCollections((status) => statuses.push(status));
    expect(client.status).toBe('live');
    statuses.length = 0;

    client.disconnect();
    expect(statuses).toEqual(['offline']);
    // The collections wait to resume; the client's status is offline all the same.
    expect(websites.state).toBe('resyncing');
    expect(nodes.state).toBe('resyncing');
    expect(client.status).toBe('offline');

    client.connect();
    opened[1]!.accept();
    await flush();
    opened[1]!.fire('websites:update', { eventId: 6, type: 'add', data: site(2) });
    await websites.whenSynced();
    await nodes.whenSynced();
    expect(statuses).toEqual(['offline', 'connecting', 'resyncing', 'live']);
  });

  it('statuses - disconnect() while catching up, and a lost connection, go straight to offline too', async () => {
    fakeTimers();
    const { client, opened } = start();
    const statuses: string[] = [];
    client.onStatus((status) => statuses.push(status));
    opened[0]!.accept();
    client.websites();
    await vi.advanceTimersByTimeAsync(0);
    // A collection asked for while live is not current yet: the client catches up.
    expect(client.status).toBe('resyncing');
    client.disconnect();
    expect(statuses).toEqual(['live', 'resyncing', 'offline']);

    statuses.length = 0;
    client.connect();
    opened[1]!.accept();
    await vi.advanceTimersByTimeAsync(0);
    opened[1]!.fire('websites:initial', websitesInitial(5, [site(1)]));
    opened[1]!.fire('disconnect', 'transport close');
    await vi.advanceTimersByTimeAsync(8_000);
    expect(statuses).toEqual(['connecting', 'resyncing', 'live', 'offline', 'connecting']);
  });

  it('whenSynced() - resolves with the first snapshot, and at once while live', async () => {
    const { client, opened } = start();
    opened[0]!.accept();
    const websites = client.websites();
    const first = websites.whenSynced();
    await flush();
    opened[0]!.fire('websites:initial', websitesInitial(4, [site(1), site(2)]));
    expect(await first).toEqual([site(1), site(2)]);
    expect(await websites.whenSynced()).toEqual([site(1), site(2)]);
  });

  it('changed - change callbacks name the changed fields: as nodes:update sends them, and computed for websites', async () => {
    const { client, opened } = start();
    opened[0]!.accept();
    const websites = client.websites();
    const nodes = client.nodes('prod');
    await flush();
    opened[0]!.fire('websites:initial', websitesInitial(1, [site(1)]));
    opened[0]!.fire('nodes:initial', nodesInitial('prod', 1, [node('n1')]));
    const changed: unknown[] = [];
    websites.onChange((change) => changed.push(change.changed));
    nodes.onChange((change) => changed.push(change.changed));
    opened[0]!.fire('websites:update', {
      eventId: 2,
      type: 'update',
      data: site(1, { https_enabled: true }),
    });
    opened[0]!.fire('nodes:update', {
      cluster: 'prod',
      eventId: 2,
      type: 'updated',
      data: node('n1', { unschedulable: true } as Partial<NodeView>),
      changed: ['unschedulable'],
    });
    expect(changed).toEqual([['https_enabled'], ['unschedulable']]);
  });

  it('listeners - every registration returns its unsubscribe', async () => {
    const { client, opened } = start();
    const calls: string[] = [];
    const offs = [
      client.onState(() => calls.push('state')),
      client.onStatus(() => calls.push('status')),
      client.onError(() => calls.push('error')),
      client.onPush('push:x', () => calls.push('push')),
    ];
    const websites = client.websites();
    offs.push(
      websites.onChange(() => calls.push('change')),
      websites.onState(() => calls.push('collection-state')),
      websites.subscribe(() => calls.push('watch')),
    );
    for (const off of offs) off();
    opened[0]!.accept();
    await flush();
    opened[0]!.fire('websites:initial', websitesInitial(1));
    opened[0]!.fire('request:error', { event: 'request:websites', code: 'BAD_REQUEST', message: 'x' });
    opened[0]!.fire('push:x', {});
    expect(calls).toEqual([]);
  });

  it('retain - the last release closes the collection and unsubscribes on the wire; a release then a retain at once keeps it', async () => {
    const { client, opened } = start();
    opened[0]!.accept();
    const nodes = client.nodes('prod');
    const releaseA = nodes.retain();
    const releaseB = nodes.retain();
    releaseA();
    releaseA();
    await flush();
    expect(nodes.closed).toBe(false);
    releaseB();
    const again = nodes.retain();
    await flush();
    expect(nodes.closed).toBe(false);
    expect(opened[0]!.payloadsOf('unsubscribe:nodes')).toEqual([]);
    again();
    await flush();
    expect(nodes.closed).toBe(true);
    expect(opened[0]!.payloadsOf('unsubscribe:nodes')).toEqual([{ cluster: 'prod' }]);
    expect(client.findNodes('prod')).toBeUndefined();
  });
});

/** Each of these failed on the SDK as it was before issue 18 (the defects the issue lists). */
describe('SDK defects', () => {
  it('UNAUTHORIZED - a refused token fails the client for good instead of reconnecting forever', async () => {
    fakeTimers();
    const { client, opened } = start();
    const pending = client
      .websites()
      .whenSynced()
      .catch((error: unknown) => error);
    opened[0]!.fire('connect_error', handshakeRefusal('UNAUTHORIZED', 'bad-signature'));
    vi.advanceTimersByTime(60_000);
    expect(opened).toHaveLength(1);
    expect(client.status).toBe('failed');
    expect(client.state).toEqual({ state: 'failed', code: 'UNAUTHORIZED', reason: 'refused: UNAUTHORIZED' });
    expect(await pending).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('failed - connect() after a terminal failure tries again (once the cause is fixed)', () => {
    const { client, opened } = start();
    opened[0]!.fire('connect_error', handshakeRefusal('UNAUTHORIZED', 'malformed'));
    expect(client.state.state).toBe('failed');
    client.connect();
    expect(opened).toHaveLength(2);
    opened[1]!.accept();
    expect(client.state).toEqual({ state: 'connected' });
  });

  it('UNAUTHORIZED keys-unavailable - the identity provider being unreachable is retried, not terminal', () => {
    fakeTimers();
    const { client, opened } = start();
    opened[0]!.fire('connect_error', handshakeRefusal('UNAUTHORIZED', 'keys-unavailable'));
    expect(client.state).toMatchObject({ state: 'disconnected', code: 'UNAUTHORIZED', reconnecting: true });
    vi.advanceTimersByTime(1_000);
    expect(opened).toHaveLength(2);
  });

  it('TOKEN_EXPIRED with a fixed token - a refused handshake fails the client instead of reconnecting forever', () => {
    fakeTimers();
    const { client, opened } = start();
    opened[0]!.fire('connect_error', handshakeRefusal('TOKEN_EXPIRED', 'expired'));
    vi.advanceTimersByTime(60_000);
    expect(opened).toHaveLength(1);
    expect(client.state).toMatchObject({ state: 'failed', code: 'TOKEN_EXPIRED' });
  });

  it('TOKEN_EXPIRED with a fixed token - the gateway closing an expired connection fails the client instead of reconnecting forever', () => {
    fakeTimers();
    const { client, opened } = start();
    opened[0]!.accept();
    opened[0]!.fire('request:error', { event: 'connection', code: 'TOKEN_EXPIRED', message: 'expired' });
    opened[0]!.fire('disconnect', 'io server disconnect');
    vi.advanceTimersByTime(60_000);
    expect(opened).toHaveLength(1);
    expect(client.status).toBe('failed');
  });

  it('TOKEN_EXPIRED with getToken - the client reconnects with a fresh token from getToken', async () => {
    fakeTimers();
    const tokens = ['first', 'second'];
    const { client, opened } = start({ token: undefined, getToken: () => tokens.shift() });
    await vi.advanceTimersByTimeAsync(0);
    opened[0]!.accept();
    opened[0]!.fire('request:error', { event: 'connection', code: 'TOKEN_EXPIRED', message: 'expired' });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(opened.map((s) => s.options.auth)).toEqual([{ token: 'first' }, { token: 'second' }]);
    opened[1]!.accept();
    expect(client.status).toBe('live');
  });

  it('getToken returning null - the client fails with UNAUTHORIZED and opens no socket', async () => {
    const { client, opened } = start({ token: undefined, getToken: async () => null });
    await flush();
    expect(opened).toHaveLength(0);
    expect(client.state).toEqual({
      state: 'failed',
      code: 'UNAUTHORIZED',
      reason: 'getToken returned no token',
    });
  });

  it('getToken throwing UNAUTHORIZED - fails the client; any other getToken error is retried with backoff', async () => {
    const signedOut = start({
      token: undefined,
      getToken: () => {
        throw new TidelineClientError('UNAUTHORIZED', 'signed out');
      },
    });
    await flush();
    expect(signedOut.client.state).toMatchObject({ state: 'failed', code: 'UNAUTHORIZED' });

    fakeTimers();
    let calls = 0;
    const flaky = start({
      token: undefined,
      getToken: () => {
        calls++;
        if (calls === 1) throw new Error('network down');
        return 'fresh';
      },
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(flaky.client.state).toMatchObject({
      state: 'disconnected',
      code: 'UNAVAILABLE',
      reconnecting: true,
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(flaky.opened.map((s) => s.options.auth)).toEqual([{ token: 'fresh' }]);
  });

  it.each(['FORBIDDEN', 'NOT_FOUND'])(
    '%s - a refused subscription fails the collection for good instead of syncing forever; whenSynced() rejects and it is not asked again',
    async (code) => {
      fakeTimers();
      const { client, opened } = start();
      const socket = opened[0]!;
      socket.answer = (event) => ({ ok: false, event, code: code as 'FORBIDDEN', message: 'no' });
      socket.accept();
      const nodes = client.nodes('secret');
      const synced = nodes.whenSynced().catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(0);
      expect(nodes.state).toBe('failed');
      expect(nodes.failure).toEqual({ code, message: 'no', terminal: true });
      expect(await synced).toMatchObject({ code });
      await expect(nodes.whenSynced()).rejects.toMatchObject({ code });
      // The client is live: a collection that failed for good does not hold it in `resyncing`.
      expect(client.status).toBe('live');
      await vi.advanceTimersByTimeAsync(60_000);
      // Nor is it asked again after a reconnect.
      socket.fire('disconnect', 'transport close');
      await vi.advanceTimersByTimeAsync(8_000);
      opened[1]!.accept();
      await vi.advanceTimersByTimeAsync(0);
      expect([...socket.payloadsOf('subscribe:nodes'), ...opened[1]!.payloadsOf('subscribe:nodes')]).toEqual([
        { cluster: 'secret' },
      ]);
    },
  );

  it('ack timeout - a sync not acknowledged in time fails the collection with TIMEOUT and is retried with backoff until live', async () => {
    fakeTimers();
    const { client, opened } = start();
    const socket = opened[0]!;
    let answers = 0;
    socket.answer = () => {
      answers++;
      if (answers === 1) throw new Error('operation has timed out');
      socket.fire('websites:initial', websitesInitial(3, [site(1)]));
      return { ok: true };
    };
    socket.accept();
    const websites = client.websites();
    const synced = websites.whenSynced();
    await vi.advanceTimersByTimeAsync(0);
    expect(websites.state).toBe('failed');
    expect(websites.failure).toMatchObject({ code: 'TIMEOUT', terminal: false });
    expect(client.status).toBe('resyncing');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await synced).toEqual([site(1)]);
    expect(websites.state).toBe('live');
    expect(socket.payloadsOf('request:websites')).toEqual([{}, {}]);
  });

  it('UNAVAILABLE - a sync refused while a dependency is down is retried with growing delays', async () => {
    fakeTimers();
    const { client, opened } = start();
    const socket = opened[0]!;
    socket.answer = (event) => ({ ok: false, event, code: 'UNAVAILABLE', message: 'db down' });
    socket.accept();
    const websites = client.websites();
    await vi.advanceTimersByTimeAsync(0);
    expect(websites.failure).toEqual({ code: 'UNAVAILABLE', message: 'db down', terminal: false });
    // Retry 1 after 0.5–1 s, retry 2 after 1–2 s more (jittered), so at 1.5–3 s: never a hot loop.
    await vi.advanceTimersByTimeAsync(499);
    expect(socket.payloadsOf('request:websites')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(501); // 1 s
    expect(socket.payloadsOf('request:websites')).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(499); // 1.499 s
    expect(socket.payloadsOf('request:websites')).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1_501); // 3 s
    expect(socket.payloadsOf('request:websites')).toHaveLength(3);
  });

  it('closed collection - client.nodes(c) after close() is a new, working collection, and a reconnect does not re-subscribe the closed one', async () => {
    fakeTimers();
    const { client, opened } = start();
    opened[0]!.accept();
    const closed = client.nodes('prod');
    client.nodes('staging');
    await vi.advanceTimersByTimeAsync(0);
    opened[0]!.fire('nodes:initial', nodesInitial('prod', 2, [node('n1')]));
    closed.close();
    expect(opened[0]!.payloadsOf('unsubscribe:nodes')).toEqual([{ cluster: 'prod' }]);
    expect(client.findNodes('prod')).toBeUndefined();

    opened[0]!.fire('disconnect', 'transport close');
    await vi.advanceTimersByTimeAsync(8_000);
    opened[1]!.accept();
    await vi.advanceTimersByTimeAsync(0);
    expect(opened[1]!.payloadsOf('subscribe:nodes')).toEqual([{ cluster: 'staging' }]);

    const fresh = client.nodes('prod');
    expect(fresh).not.toBe(closed);
    await vi.advanceTimersByTimeAsync(0);
    opened[1]!.fire('nodes:initial', nodesInitial('prod', 5, [node('n2')]));
    expect(fresh.state).toBe('live');
    expect(fresh.items()).toEqual([node('n2')]);
    expect(closed.items()).toEqual([node('n1')]);
  });

  it('onPush - removing every listener then adding one again delivers each push once, not twice', () => {
    const { client, opened } = start();
    opened[0]!.accept();
    const first: unknown[] = [];
    const off = client.onPush('push:alert', (data) => first.push(data));
    off();
    const second: unknown[] = [];
    client.onPush('push:alert', (data) => second.push(data));
    opened[0]!.fire('push:alert', { n: 1 });
    expect(first).toEqual([]);
    expect(second).toEqual([{ n: 1 }]);
    expect(opened[0]!.listeners('push:alert')).toBe(1);
  });
});
