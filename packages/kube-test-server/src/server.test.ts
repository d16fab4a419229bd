import { describe, expect, it } from 'vitest';
import { KubeTestServer } from './server.ts';

interface WatchLine {
  type: string;
  object: {
    metadata: { name?: string; resourceVersion: string };
    code?: number;
    reason?: string;
    message?: string;
  };
}

/** Opens a watch with fetch and collects its lines until the stream ends or is cut. */
function openWatch(server: KubeTestServer, query: string) {
  const lines: WatchLine[] = [];
  const controller = new AbortController();
  let status = 0;
  // Settles, never rejects: an abort or a cut at any point (before or after the headers) is `cut`.
  const ended = (async () => {
    try {
      const response = await fetch(`${server.url}/api/v1/nodes?watch=true&${query}`, {
        headers: { authorization: `Bearer ${server.token}` },
        signal: controller.signal,
      });
      status = response.status;
      if (status !== 200) return { outcome: 'status' as const, body: await response.json() };
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let newline = buffer.indexOf('\n');
        while (newline >= 0) {
          lines.push(JSON.parse(buffer.slice(0, newline)) as WatchLine);
          buffer = buffer.slice(newline + 1);
          newline = buffer.indexOf('\n');
        }
      }
      return { outcome: 'ended' as const };
    } catch {
      return { outcome: 'cut' as const };
    }
  })();
  return { lines, ended, abort: () => controller.abort(), status: () => status };
}

async function until(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const auth = (server: KubeTestServer) => ({ headers: { authorization: `Bearer ${server.token}` } });

interface NodeList {
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: { metadata: { name: string; labels: Record<string, string> }; spec: { unschedulable?: boolean } }[];
}

async function list(server: KubeTestServer, query = ''): Promise<NodeList> {
  return (await (await fetch(`${server.url}/api/v1/nodes?${query}`, auth(server))).json()) as NodeList;
}

describe('KubeTestServer', () => {
  it('list - pages with limit/continue over one consistent snapshot', async () => {
    await using server = await KubeTestServer.start();
    server.addNodes(25);
    const first = await list(server, 'limit=10');
    expect(first.items).toHaveLength(10);
    expect(first.metadata.remainingItemCount).toBe(15);
    server.deleteNode('node-00024');
    server.label('node-00015', 'changed', 'yes');
    const names = first.items.map((n) => n.metadata.name);
    let token: string | undefined = first.metadata.continue;
    let pages = 1;
    while (token) {
      const page = await list(server, `limit=10&continue=${token}`);
      expect(page.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
      for (const item of page.items) {
        names.push(item.metadata.name);
        if (item.metadata.name === 'node-00015') expect(item.metadata.labels.changed).toBeUndefined();
      }
      token = page.metadata.continue;
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(names).toHaveLength(25);
    expect(server.counters).toMatchObject({ lists: 1, listPages: 3 });
  });

  it('list - an expired continue token answers 410', async () => {
    await using server = await KubeTestServer.start({ continueTtlMs: 1 });
    server.addNodes(3);
    const first = await list(server, 'limit=1');
    await new Promise((r) => setTimeout(r, 5));
    const again = await fetch(
      `${server.url}/api/v1/nodes?limit=1&continue=${first.metadata.continue ?? ''}`,
      auth(server),
    );
    expect(again.status).toBe(410);
    expect(await again.json()).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
  });

  it('auth - requests without the bearer token get 401', async () => {
    await using server = await KubeTestServer.start();
    const response = await fetch(`${server.url}/api/v1/nodes`);
    expect(response.status).toBe(401);
    expect(server.counters.unauthorized).toBe(1);
  });

  it('watch - resumes after a resourceVersion, then streams ADDED, MODIFIED, DELETED live', async () => {
    await using server = await KubeTestServer.start();
    server.addNodes(2);
    const from = server.resourceVersion;
    server.cordon('node-00000');
    const watch = openWatch(server, `resourceVersion=${from}`);
    await until(() => watch.lines.length === 1);
    expect(watch.lines[0]).toMatchObject({ type: 'MODIFIED', object: { metadata: { name: 'node-00000' } } });
    server.addNode('late');
    server.label('late', 'a', 'b');
    server.deleteNode('node-00001');
    await until(() => watch.lines.length === 4);
    expect(watch.lines.map((l) => l.type)).toEqual(['MODIFIED', 'ADDED', 'MODIFIED', 'DELETED']);
    const versions = watch.lines.map((l) => Number(l.object.metadata.resourceVersion));
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(versions.at(-1)).toBe(server.resourceVersion);
    watch.abort();
    await watch.ended;
  });

  it('watch - without resourceVersion sends the current state as ADDED first', async () => {
    await using server = await KubeTestServer.start();
    server.addNodes(3);
    const watch = openWatch(server, '');
    await until(() => watch.lines.length === 3);
    expect(watch.lines.every((l) => l.type === 'ADDED')).toBe(true);
    watch.abort();
    await watch.ended;
  });

  it('watch - BOOKMARK only when asked, and a final one before the server-side timeout ends the stream', async () => {
    await using server = await KubeTestServer.start({ bookmarkIntervalMs: 50 });
    server.addNodes(1);
    const rv = server.resourceVersion;
    const plain = openWatch(server, `resourceVersion=${rv}&timeoutSeconds=1`);
    const marked = openWatch(server, `resourceVersion=${rv}&timeoutSeconds=1&allowWatchBookmarks=true`);
    expect(await marked.ended).toEqual({ outcome: 'ended' });
    expect(await plain.ended).toEqual({ outcome: 'ended' });
    expect(plain.lines).toEqual([]);
    expect(marked.lines.length).toBeGreaterThanOrEqual(2);
    expect(
      marked.lines.every((l) => l.type === 'BOOKMARK' && l.object.metadata.resourceVersion === String(rv)),
    ).toBe(true);
  });

  it('410 - a resourceVersion older than the history window gets an ERROR event with a 410 Status', async () => {
    await using server = await KubeTestServer.start({ historyWindow: 5 });
    server.addNodes(1);
    const old = server.resourceVersion;
    for (let i = 0; i < 6; i++) server.heartbeat('node-00000');
    const watch = openWatch(server, `resourceVersion=${old}`);
    expect(await watch.ended).toEqual({ outcome: 'ended' });
    expect(watch.lines).toHaveLength(1);
    expect(watch.lines[0]).toMatchObject({
      type: 'ERROR',
      object: { kind: 'Status', code: 410, reason: 'Expired' },
    });
    expect(watch.lines[0]!.object.message).toMatch(/^too old resource version/);
    const recent = openWatch(server, `resourceVersion=${server.resourceVersion - 5}`);
    await until(() => recent.lines.length === 5);
    recent.abort();
    await recent.ended;
    expect(server.counters.expiredWatches).toBe(1);
  });

  it('410 - in `http` mode a too-old resourceVersion is answered with HTTP 410', async () => {
    await using server = await KubeTestServer.start({ expiredWatchAs: 'http' });
    server.addNodes(2);
    server.compact();
    const expired = openWatch(server, `resourceVersion=${server.resourceVersion - 1}`);
    expect(await expired.ended).toMatchObject({ outcome: 'status', body: { kind: 'Status', code: 410 } });
    const current = openWatch(server, `resourceVersion=${server.resourceVersion}`);
    await until(() => server.activeWatches === 1);
    current.abort();
    await current.ended;
  });

  it('faults - expireWatches ends open watches with ERROR 410; dropWatches cuts them', async () => {
    await using server = await KubeTestServer.start();
    server.addNodes(1);
    const a = openWatch(server, `resourceVersion=${server.resourceVersion}`);
    await until(() => server.activeWatches === 1);
    expect(server.expireWatches()).toBe(1);
    expect(await a.ended).toEqual({ outcome: 'ended' });
    expect(a.lines[0]).toMatchObject({ type: 'ERROR', object: { code: 410 } });
    const b = openWatch(server, `resourceVersion=${server.resourceVersion}`);
    await until(() => server.activeWatches === 1);
    expect(server.dropWatches()).toBe(1);
    expect(await b.ended).toEqual({ outcome: 'cut' });
  });

  it('faults - a stalled watch stays open and silent while new watches see changes', async () => {
    await using server = await KubeTestServer.start();
    server.addNodes(1);
    const stalled = openWatch(server, `resourceVersion=${server.resourceVersion}`);
    await until(() => server.activeWatches === 1);
    server.stallWatches();
    server.cordon('node-00000');
    const fresh = openWatch(server, `resourceVersion=${server.resourceVersion - 1}`);
    await until(() => fresh.lines.length === 1);
    expect(stalled.lines).toEqual([]);
    stalled.abort();
    fresh.abort();
    expect(await stalled.ended).toEqual({ outcome: 'cut' });
    expect(await fresh.ended).toEqual({ outcome: 'cut' });
  });

  it('outage - refuse, reset and unavailable modes fail requests; up() restores service and changes made meanwhile are kept', async () => {
    await using server = await KubeTestServer.start();
    server.addNodes(1);
    await server.down('refuse');
    await expect(fetch(`${server.url}/api/v1/nodes`, auth(server))).rejects.toThrow();
    server.cordon('node-00000');
    await server.up();
    const after = await list(server);
    expect(after.items[0]!.spec.unschedulable).toBe(true);
    await server.down('reset');
    await expect(fetch(`${server.url}/api/v1/nodes`, auth(server))).rejects.toThrow();
    await server.up();
    await server.down('unavailable');
    const refused = await fetch(`${server.url}/api/v1/nodes`, auth(server));
    expect(refused.status).toBe(503);
    await server.up();
    expect((await fetch(`${server.url}/api/v1/nodes`, auth(server))).status).toBe(200);
  });

  it('kubeconfig - names the server, a token user and the context', async () => {
    await using server = await KubeTestServer.start();
    const yaml = server.kubeconfig({ cluster: 'alpha', context: 'alpha-ctx' });
    expect(yaml).toContain(`server: "${server.url}"`);
    expect(yaml).toContain('insecure-skip-tls-verify: true');
    expect(yaml).toContain(`token: "${server.token}"`);
    expect(yaml).toContain('current-context: "alpha-ctx"');
  });

  it('scale - adds 5,000 nodes and heartbeats them all quickly', async () => {
    await using server = await KubeTestServer.start({ historyWindow: 20_000 });
    const started = performance.now();
    server.addNodes(5_000);
    expect(server.heartbeatAll()).toBe(5_000);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(server.nodeCount).toBe(5_000);
  });
});
