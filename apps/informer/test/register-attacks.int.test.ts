import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { ClusterStatus } from '@tideline/contracts';
import {
  eventually,
  NodeEventLog,
  openTestBus,
  removeStreams,
  TestCluster,
  testToken,
  uniquePrefix,
} from '@tideline/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningInformer, startInformer } from '../src/index.ts';
import { testInformerEnv } from './support/informer-env.ts';

/**
 * Attacks on cluster registration (issue 12, item 1): a kubeconfig that arrives over the HTTP API
 * must not run commands, read files, or reach a server the operator did not allow, and nothing a
 * child process printed or a file held may come back in `lastError` or the logs.
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const WAIT_MS = 15_000;
const ADMIN = {
  authorization: `Bearer ${testToken('admin', ['clusters:admin'])}`,
  'content-type': 'application/json',
};

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tideline-register-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An informer under test whose log lines are kept. */
async function informerWith(env: Record<string, string> = {}) {
  const prefix = uniquePrefix('infsec');
  const bus = await openTestBus(prefix);
  cleanups.push(async () => {
    await bus.drain();
    await removeStreams(prefix);
  });
  const logs: string[] = [];
  const informer = await startInformer({
    // Every log line, down to debug, is captured: the tests look for what must never be logged.
    source: { env: testInformerEnv({ prefix, env: { TIDELINE_LOG_LEVEL: 'debug', ...env } }) },
    logDestination: new Writable({
      write(chunk, _encoding, callback) {
        logs.push(String(chunk));
        callback();
      },
    }),
  });
  cleanups.push(() => informer.stop());
  return { informer, bus, logs };
}

/** An HTTP server that records every request and answers 503 with a body naming a secret-looking marker. */
async function recordingServer() {
  const requests: { url: string; authorization: string | undefined }[] = [];
  const server: Server = createServer((request, response) => {
    requests.push({ url: request.url ?? '', authorization: request.headers.authorization });
    response.writeHead(503, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ kind: 'Status', code: 503, message: 'server-body-PWNED' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** A kubeconfig document (JSON is YAML) with one cluster, one user and one context. */
function kubeconfig(
  server: string,
  user: Record<string, unknown>,
  cluster: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'c',
        cluster: {
          server,
          ...(server.startsWith('http:') ? { 'insecure-skip-tls-verify': true } : {}),
          ...cluster,
        },
      },
    ],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'ctx',
  });
}

/** The exec plugin of the issue: writes a marker with the informer's identity, prints PWNED on stderr, fails. */
function pwningExec(marker: string) {
  return {
    exec: {
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      command: 'sh',
      args: ['-c', `id > ${marker}; echo PWNED >&2; exit 1`],
      interactiveMode: 'Never',
    },
  };
}

async function register(informer: RunningInformer, body: Record<string, unknown>) {
  const response = await fetch(`${informer.url}/api/v1/clusters/register`, {
    method: 'POST',
    headers: ADMIN,
    body: JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

/** An answer as the caller can compare it: status and body, less the request id every answer has its own of. */
function comparable(answer: { status: number; text: string }): string {
  return `${answer.status} ${answer.text.replace(/"requestId":"[^"]*"/, '"requestId":"…"')}`;
}

async function statuses(informer: RunningInformer): Promise<{ text: string; data: ClusterStatus[] }> {
  const response = await fetch(`${informer.url}/api/v1/clusters`, { headers: ADMIN });
  expect(response.status).toBe(200);
  const text = await response.text();
  return { text, data: (JSON.parse(text) as { data: ClusterStatus[] }).data };
}

/** A refusal: 400 VALIDATION_FAILED in the one error body, naming `field`. */
function expectRefused(answer: { status: number; text: string }, field: string) {
  expect(answer.status).toBe(400);
  const body = JSON.parse(answer.text) as {
    error: { code: string; message: string; fields: { path: string }[] };
  };
  expect(body.error.code).toBe('VALIDATION_FAILED');
  expect(body.error.fields.map((f) => f.path)).toEqual([field]);
  return body.error;
}

/**
 * Lets the informer run list/watch attempts: registers a cluster with an inline token against
 * `server` (answering 503) and polls the cluster state until it failed and restarted `rounds`
 * times. Whatever a refused registration could have started would have run by then.
 */
async function attemptWindow(informer: RunningInformer, server: string, rounds = 3) {
  const canary = await register(informer, {
    name: 'canary',
    kubeconfig: kubeconfig(server, { token: 'canary-token' }),
  });
  expect(canary.status).toBe(201);
  expect(
    await eventually(async () => {
      const c = (await statuses(informer)).data.find((s) => s.name === 'canary');
      return (c?.restarts ?? 0) >= rounds;
    }, WAIT_MS),
  ).toBe(true);
  return (await statuses(informer)).data.find((s) => s.name === 'canary')!;
}

describe('cluster registration over the API: attacks', () => {
  it('register - a kubeconfig with an exec plugin is refused and runs nothing', async () => {
    const dir = tempDir();
    const marker = join(dir, 'pwned-marker');
    const target = await recordingServer();
    const { informer, logs } = await informerWith();

    const answer = await register(informer, {
      name: 'pwn',
      kubeconfig: kubeconfig(target.url, pwningExec(marker)),
    });
    const error = expectRefused(answer, 'kubeconfig.users[0].user.exec');
    expect(error.message).toContain('users[0].user.exec');
    expect(existsSync(marker)).toBe(false);

    // With the allow-setting off nothing ever runs, even after several list/watch attempt windows.
    const canary = await attemptWindow(informer, (await recordingServer()).url);
    expect(canary.state).toBe('retrying');
    expect(existsSync(marker)).toBe(false);
    expect(target.requests).toEqual([]);
    expect((await statuses(informer)).data.map((s) => s.name)).toEqual(['canary']);
    expect(logs.join('')).not.toContain('PWNED');
  });

  it('register - a token file is never read or sent: the server the caller chose sees no request with its content', async () => {
    const dir = tempDir();
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'file-token-SECRET');
    const target = await recordingServer();
    const { informer } = await informerWith();

    const answer = await register(informer, {
      name: 'steal',
      kubeconfig: kubeconfig(target.url, { 'token-file': tokenFile }),
    });
    const error = expectRefused(answer, 'kubeconfig.users[0].user.token-file');
    expect(error.message).toContain('users[0].user.token-file');

    // The same server is then contacted by a legitimate cluster: its requests arrive, never the file's token.
    const canary = await attemptWindow(informer, target.url);
    expect(target.requests.length).toBeGreaterThan(0);
    expect(target.requests.every((r) => r.authorization === 'Bearer canary-token')).toBe(true);
    expect(JSON.stringify(target.requests)).not.toContain('file-token-SECRET');
    // Nor does an API server's answer body come back as lastError.
    expect(canary.lastError).toMatch(/HTTP 503/);
    expect((await statuses(informer)).text).not.toContain('server-body-PWNED');
  });

  for (const [field, where] of [
    ['client-key', 'user'],
    ['client-certificate', 'user'],
    ['certificate-authority', 'cluster'],
  ] as const) {
    it(`register - a ${field} file reference is refused naming it: the file is not read and nothing is contacted`, async () => {
      const dir = tempDir();
      const file = join(dir, 'secret.pem');
      writeFileSync(file, `-----BEGIN PRIVATE KEY-----\nFILE-CONTENT-SECRET\n-----END PRIVATE KEY-----\n`);
      const target = await recordingServer();
      const { informer } = await informerWith();
      const text =
        where === 'user'
          ? kubeconfig(target.url, { token: 't', [field]: file })
          : kubeconfig(target.url, { token: 't' }, { [field]: file });

      const answer = await register(informer, { name: 'files', kubeconfig: text });
      const path = where === 'user' ? `users[0].user.${field}` : `clusters[0].cluster.${field}`;
      expect(expectRefused(answer, `kubeconfig.${path}`).message).toContain(path);
      expect(answer.text).not.toContain('FILE-CONTENT-SECRET');
      expect((await statuses(informer)).data).toEqual([]);
      expect(target.requests).toEqual([]);
    });
  }

  it('register - an auth-provider (which can run a command or read a token file) is refused and runs nothing', async () => {
    const dir = tempDir();
    const marker = join(dir, 'pwned-marker');
    const target = await recordingServer();
    const { informer } = await informerWith();
    // The gcp provider runs cmd-path; an exec-configured provider runs its command.
    const answer = await register(informer, {
      name: 'provider',
      kubeconfig: kubeconfig(target.url, {
        'auth-provider': {
          name: 'exec',
          config: { exec: { command: 'sh', args: ['-c', `id > ${marker}`] } },
        },
      }),
    });
    expectRefused(answer, 'kubeconfig.users[0].user.auth-provider');
    const tokenFileProvider = await register(informer, {
      name: 'provider',
      kubeconfig: kubeconfig(target.url, {
        'auth-provider': { name: 'file', config: { tokenFile: '/etc/hostname' } },
      }),
    });
    expectRefused(tokenFileProvider, 'kubeconfig.users[0].user.auth-provider.config.tokenFile');
    await attemptWindow(informer, target.url);
    expect(existsSync(marker)).toBe(false);
    expect(target.requests.every((r) => r.authorization === 'Bearer canary-token')).toBe(true);
  });

  it('register - kubeconfigPath is refused, and the answer does not tell whether the file exists', async () => {
    const dir = tempDir();
    const existing = join(dir, 'secret.yaml');
    writeFileSync(existing, 'password: FILE-CONTENT-SECRET\n');
    const missing = join(dir, 'missing.yaml');
    const cluster = await TestCluster.start({ name: 'alpha', nodes: 1 });
    cleanups.push(() => cluster[Symbol.asyncDispose]());

    const strict = (await informerWith()).informer;
    const answers = [];
    for (const path of [cluster.kubeconfigPath, existing, missing, dir]) {
      answers.push(await register(strict, { name: 'alpha', kubeconfigPath: path }));
    }
    expectRefused(answers[0]!, 'kubeconfigPath');
    expect(new Set(answers.map(comparable)).size).toBe(1);
    expect(cluster.server.counters.lists).toBe(0);

    // Even where the operator allows paths, an unusable file gets one answer whatever the reason.
    const allowing = (await informerWith({ TIDELINE_INFORMER_API_ALLOW_EXEC_AND_FILES: 'true' })).informer;
    const unusable = [];
    for (const path of [existing, missing, dir]) {
      unusable.push(await register(allowing, { name: 'alpha', kubeconfigPath: path }));
    }
    expectRefused(unusable[0]!, 'kubeconfigPath');
    expect(new Set(unusable.map(comparable)).size).toBe(1);
    expect(unusable[0]!.text).not.toContain('FILE-CONTENT-SECRET');
  });

  it('register - an API server host outside the allow-list is refused naming server, and never contacted', async () => {
    const allowed = await TestCluster.start({ name: 'alpha', nodes: 2 });
    cleanups.push(() => allowed[Symbol.asyncDispose]());
    const outside = await recordingServer();
    const allowedHost = new URL(allowed.server.url).host;
    const { informer } = await informerWith({
      TIDELINE_INFORMER_API_SERVER_HOSTS: `k8s.example.com,${allowedHost}`,
    });

    const refused = await register(informer, {
      name: 'outside',
      kubeconfig: kubeconfig(outside.url, { token: allowed.server.token }),
    });
    const error = expectRefused(refused, 'kubeconfig.clusters[0].cluster.server');
    expect(error.message).toContain('TIDELINE_INFORMER_API_SERVER_HOSTS');
    // localhost is another host name than 127.0.0.1: the list compares names, it does not resolve them.
    const byName = await register(informer, {
      name: 'outside',
      kubeconfig: allowed.server.kubeconfig({ server: allowed.server.url.replace('127.0.0.1', 'localhost') }),
    });
    expectRefused(byName, 'kubeconfig.clusters[0].cluster.server');

    const inside = await register(informer, { name: 'alpha', kubeconfig: allowed.server.kubeconfig() });
    expect(inside.status).toBe(201);
    expect(await eventually(async () => (await statuses(informer)).data[0]?.synced === true, WAIT_MS)).toBe(
      true,
    );
    expect(outside.requests).toEqual([]);
  });

  it('register - a plain http:// API server (token sent in clear) is refused unless the operator allows insecure servers', async () => {
    const cluster = await TestCluster.start({ name: 'alpha', nodes: 1 });
    cleanups.push(() => cluster[Symbol.asyncDispose]());
    const { informer } = await informerWith({ TIDELINE_INFORMER_API_ALLOW_INSECURE_SERVERS: 'false' });
    const answer = await register(informer, { name: 'alpha', kubeconfig: cluster.server.kubeconfig() });
    expectRefused(answer, 'kubeconfig.clusters[0].cluster.server');
    const odd = await register(informer, {
      name: 'alpha',
      kubeconfig: kubeconfig('file:///etc/passwd', { token: 't' }),
    });
    expectRefused(odd, 'kubeconfig.clusters[0].cluster.server');
    expect(cluster.server.counters.lists).toBe(0);
    expect((await statuses(informer)).data).toEqual([]);
  });

  it("lastError never carries a child process's output", async () => {
    const dir = tempDir();
    const marker = join(dir, 'ran-marker');
    const target = await recordingServer();
    const { informer, logs } = await informerWith({ TIDELINE_INFORMER_API_ALLOW_EXEC_AND_FILES: 'true' });

    // The operator allowed exec plugins: this one runs (the marker proves it) and fails with PWNED on stderr.
    const answer = await register(informer, {
      name: 'plugin',
      kubeconfig: kubeconfig(target.url, pwningExec(marker)),
    });
    expect(answer.status).toBe(201);
    expect(
      await eventually(async () => {
        const s = (await statuses(informer)).data[0];
        return existsSync(marker) && s?.lastError !== undefined && s.restarts >= 2;
      }, WAIT_MS),
    ).toBe(true);
    const { text, data } = await statuses(informer);
    expect(data[0]).toMatchObject({ name: 'plugin', state: 'retrying' });
    expect(data[0]!.lastError).toMatch(/^[A-Za-z]+( \([A-Z0-9_, ]+\))?$/);
    expect(text).not.toContain('PWNED');
    expect(text).not.toContain('uid=');
    const logged = logs.join('');
    expect(logged).toContain('list/watch failed; restarting');
    expect(logged).not.toContain('PWNED');
    expect(target.requests).toEqual([]);
  });

  it('register - a valid inline-token kubeconfig still registers and streams nodes', async () => {
    const cluster = await TestCluster.start({ name: 'alpha', nodes: 3 });
    cleanups.push(() => cluster[Symbol.asyncDispose]());
    const { informer, bus } = await informerWith();
    const log = await NodeEventLog.open(bus);
    cleanups.push(() => log.close());

    const answer = await register(informer, {
      name: 'alpha',
      kubeconfig: cluster.server.kubeconfig({ cluster: 'alpha' }),
    });
    expect(answer.status).toBe(201);
    expect(await eventually(() => log.of('alpha').length === 4, WAIT_MS)).toBe(true);
    expect(log.of('alpha').map((e) => e.type)).toEqual(['cluster-registered', 'added', 'added', 'added']);
    cluster.server.cordon('node-00001');
    expect(
      await eventually(
        () => log.nodeEventsOf('alpha').some((e) => e.type === 'updated' && e.data.name === 'node-00001'),
        WAIT_MS,
      ),
    ).toBe(true);
    expect((await statuses(informer)).data[0]).toMatchObject({ name: 'alpha', source: 'api', synced: true });
  });
});

describe('what the operator configures', () => {
  it('operator config - a kubeconfig of TIDELINE_INFORMER_CLUSTERS may still use an exec plugin, as kubectl does', async () => {
    const cluster = await TestCluster.start({ name: 'alpha', nodes: 2 });
    cleanups.push(() => cluster[Symbol.asyncDispose]());
    const dir = tempDir();
    const credential = JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      kind: 'ExecCredential',
      status: { token: cluster.server.token },
    });
    const path = join(dir, 'kubeconfig.yaml');
    writeFileSync(
      path,
      kubeconfig(cluster.server.url, {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1beta1',
          command: 'sh',
          args: ['-c', `printf '%s' '${credential}'`],
          interactiveMode: 'Never',
        },
      }),
    );
    const { informer } = await informerWith({ TIDELINE_INFORMER_CLUSTERS: `alpha=${path}` });
    expect(
      await eventually(async () => {
        const s = (await statuses(informer)).data[0];
        return s?.synced === true && s.nodes === 2;
      }, WAIT_MS),
    ).toBe(true);
    expect((await statuses(informer)).data[0]).toMatchObject({ name: 'alpha', source: 'config' });
    expect(cluster.server.counters.unauthorized).toBe(0);
  });
});
