import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeTestServer, selfSignedCertificate } from '@tideline/kube-test-server';
import {
  eventually,
  NodeEventLog,
  openTestBus,
  removeStreams,
  testToken,
  uniquePrefix,
} from '@tideline/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { startInformer } from '../src/index.ts';
import { SERVICE_ACCOUNT_DIR } from '../src/kube/in-cluster.ts';
import { testInformerEnv } from './support/informer-env.ts';

/**
 * Issue 14, item 5: with TIDELINE_INFORMER_IN_CLUSTER_NAME the informer watches the cluster it
 * runs in through `loadFromCluster` — https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT,
 * verified with the service-account CA, the service-account token as bearer. The Kubernetes API
 * test server serves HTTPS with a certificate made by the test; the token and CA are written to a
 * temporary service-account directory.
 */

const WAIT_MS = 15_000;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The service address as a pod sees it (the client library reads process.env), restored after the test. */
function podEnvironment(port: number): void {
  const saved = {
    host: process.env['KUBERNETES_SERVICE_HOST'],
    port: process.env['KUBERNETES_SERVICE_PORT'],
  };
  process.env['KUBERNETES_SERVICE_HOST'] = '127.0.0.1';
  process.env['KUBERNETES_SERVICE_PORT'] = String(port);
  cleanups.push(() => {
    for (const [name, value] of [
      ['KUBERNETES_SERVICE_HOST', saved.host],
      ['KUBERNETES_SERVICE_PORT', saved.port],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
}

/** A service-account directory with `token` and `ca.crt`; `standard`: under a temp prefix at the path Kubernetes mounts it. */
function serviceAccountDir(layout: 'standard' | 'custom', token: string, ca: string): string {
  const root = mkdtempSync(join(tmpdir(), 'tideline-sa-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const dir = layout === 'standard' ? join(root, SERVICE_ACCOUNT_DIR) : join(root, 'serviceaccount');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'token'), token, { mode: 0o600 });
  writeFileSync(join(dir, 'ca.crt'), ca);
  writeFileSync(join(dir, 'namespace'), 'tideline');
  return dir;
}

async function informerInCluster(dir: string) {
  const prefix = uniquePrefix('infic');
  const bus = await openTestBus(prefix);
  cleanups.push(async () => {
    await bus.drain();
    await removeStreams(prefix);
  });
  const log = await NodeEventLog.open(bus);
  cleanups.push(() => log.close());
  const informer = await startInformer({
    source: {
      env: testInformerEnv({
        prefix,
        env: {
          TIDELINE_INFORMER_IN_CLUSTER_NAME: 'home',
          TIDELINE_INFORMER_IN_CLUSTER_SERVICE_ACCOUNT_DIR: dir,
          TIDELINE_INFORMER_REGISTRATION_STORE: 'memory',
        },
      }),
    },
  });
  cleanups.push(() => informer.stop());
  return { informer, log };
}

async function httpsServer(token: string, nodes: number) {
  const tls = selfSignedCertificate();
  const server = await KubeTestServer.start({ tls, token });
  cleanups.push(() => server.close());
  server.addNodes(nodes);
  podEnvironment(server.port);
  return { server, ca: tls.cert };
}

describe('in-cluster', () => {
  it.each([
    ['at the standard path under a prefix (loadFromCluster)', 'standard'],
    ['in a directory of its own', 'custom'],
  ] as const)(
    'in-cluster - the informer watches the cluster it runs in with the service-account token and CA, %s',
    async (_, layout) => {
      const token = `sa-${uniquePrefix('token')}`;
      const { server, ca } = await httpsServer(token, 3);
      const { informer, log } = await informerInCluster(serviceAccountDir(layout, token, ca));

      expect(await eventually(() => log.of('home').length === 4, WAIT_MS)).toBe(true);
      expect(log.of('home').map((e) => e.type)).toEqual(['cluster-registered', 'added', 'added', 'added']);
      // The server takes only that bearer token (anything else is counted as unauthorized), over TLS.
      expect(server.url.startsWith('https://')).toBe(true);
      expect(server.counters).toMatchObject({ unauthorized: 0, lists: 1 });
      // The watch follows the list; its request may reach the server after the listed events are out.
      expect(await eventually(() => server.counters.watches >= 1, WAIT_MS)).toBe(true);

      server.cordon('node-00001');
      expect(await eventually(() => log.lastIdOf('home') === 5, WAIT_MS)).toBe(true);
      expect(log.of('home').at(-1)).toMatchObject({
        type: 'updated',
        data: { name: 'node-00001', changed: ['unschedulable'] },
      });

      const response = await fetch(`${informer.url}/api/v1/clusters`, {
        headers: { authorization: `Bearer ${testToken('admin', ['clusters:admin'])}` },
      });
      expect(((await response.json()) as { data: unknown[] }).data).toEqual([
        expect.objectContaining({
          name: 'home',
          source: 'config',
          state: 'watching',
          synced: true,
          nodes: 3,
        }),
      ]);
    },
  );

  it('in-cluster - a token the API server does not accept gets nothing watched or published', async () => {
    const { server, ca } = await httpsServer(`sa-${uniquePrefix('token')}`, 2);
    const { informer, log } = await informerInCluster(serviceAccountDir('standard', 'not-the-token', ca));
    expect(await eventually(() => server.counters.unauthorized >= 2, WAIT_MS)).toBe(true);
    expect(log.of('home').filter((e) => e.type !== 'cluster-registered')).toEqual([]);
    expect(informer.registry.watcherOf('home')?.ready).toBe(false);
    // The library reports it by class and status only (see describeKubeError).
    expect(informer.registry.watcherOf('home')?.lastError).toMatch(/^\w+ \(HTTP 401\)$/);
  });

  it('in-cluster - a CA that did not sign the server certificate is refused: no request reaches the API with the token', async () => {
    const token = `sa-${uniquePrefix('token')}`;
    const { server } = await httpsServer(token, 2);
    const { informer, log } = await informerInCluster(
      serviceAccountDir('standard', token, selfSignedCertificate().cert),
    );
    expect(await eventually(() => (informer.registry.watcherOf('home')?.restarts ?? 0) >= 2, WAIT_MS)).toBe(
      true,
    );
    expect(server.counters).toMatchObject({ lists: 0, listPages: 0, watches: 0, unauthorized: 0 });
    expect(informer.registry.watcherOf('home')?.lastError).toMatch(/CERT|SIGN|ISSUER/);
    expect(log.of('home').filter((e) => e.type !== 'cluster-registered')).toEqual([]);
  });
});
