import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SCOPES } from '@tideline/auth';
import { eventually, freePort, TestDatabase, testToken } from '@tideline/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningPushGateway } from '../src/service.ts';
import { closeAll, connected, openSocket, type TestSocket } from './support/client.ts';
import { TestStack } from './support/stack.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FAILURE_THRESHOLD = 2;
/** Long enough that the few syncs made while it is open fit in one open period even on a busy machine. */
const HALF_OPEN_AFTER_MS = 10_000;
/** Far above how long any refused sync takes here: a sync that waited for it would fail the bounds below. */
const SOURCE_TIMEOUT_MS = 60_000;
const SYNC_ANSWER_TIMEOUT_MS = 20_000;
const READY_TIMEOUT_MS = 60_000;
const RECOVERY_TIMEOUT_MS = 60_000;
const SYNCS_WHILE_OPEN = 5;

/** A service as its own process (`tsx src/main.ts`) on a fixed port, so it can be stopped and started again. */
class ServiceChild {
  private child: ChildProcess | undefined;
  constructor(
    private readonly name: string,
    private readonly entry: string,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', this.entry], {
      cwd: REPO_ROOT,
      env: { PATH: process.env['PATH'] ?? '', ...this.env },
      stdio: 'ignore',
    });
    this.child = child;
    const ready = await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`${this.name} exited with ${child.exitCode}`);
      return (await fetch(`${this.url}/readyz`).catch(() => undefined))?.ok === true;
    }, READY_TIMEOUT_MS);
    if (!ready) throw new Error(`${this.name} not ready within ${READY_TIMEOUT_MS} ms`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}

let database: TestDatabase;
let stack: TestStack;
let api: ServiceChild;
let cache: ServiceChild;
let gateway: RunningPushGateway;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  database = await TestDatabase.create('tideline_breaker');
  stack = new TestStack();
  const [apiPort, cachePort] = [await freePort(), await freePort()];
  api = new ServiceChild(
    'website-api',
    'apps/website-api/src/main.ts',
    apiPort,
    stack.env({
      TIDELINE_LOG_LEVEL: 'error',
      TIDELINE_WEBSITE_API_PORT: String(apiPort),
      TIDELINE_WEBSITE_API_HOST: '127.0.0.1',
      TIDELINE_DATABASE_URL: database.url,
      TIDELINE_WEBSITE_API_WRITE_RATE_LIMIT_KEY_PREFIX: `${stack.namespace}:writes:`,
    }),
  );
  cache = new ServiceChild(
    'cache',
    'apps/cache/src/main.ts',
    cachePort,
    stack.env({
      TIDELINE_LOG_LEVEL: 'error',
      TIDELINE_CACHE_PORT: String(cachePort),
      TIDELINE_CACHE_HOST: '127.0.0.1',
    }),
  );
  await Promise.all([api.start(), cache.start()]);
  gateway = await stack.gateway({
    TIDELINE_GATEWAY_WEBSITE_API_URL: api.url,
    TIDELINE_GATEWAY_CACHE_URL: cache.url,
    TIDELINE_GATEWAY_BREAKER_FAILURE_THRESHOLD: String(FAILURE_THRESHOLD),
    TIDELINE_GATEWAY_BREAKER_HALF_OPEN_AFTER_MS: String(HALF_OPEN_AFTER_MS),
    TIDELINE_GATEWAY_SOURCE_TIMEOUT_MS: String(SOURCE_TIMEOUT_MS),
    // Every sync below must reach the breaker: no reuse of an earlier snapshot, no re-snapshot limit.
    TIDELINE_GATEWAY_SNAPSHOT_REUSE_MS: '0',
    TIDELINE_GATEWAY_RESNAPSHOT_INTERVAL_MS: '0',
    TIDELINE_GATEWAY_RATE_LIMIT_EVENTS: '10000',
  });
}, READY_TIMEOUT_MS * 2);

afterAll(async () => {
  closeAll(sockets);
  await Promise.all([api?.stop(), cache?.stop()]);
  await stack?.[Symbol.asyncDispose]();
  await database?.[Symbol.asyncDispose]();
});

/** The sum of a metric's samples whose labels contain every `labels` pair. */
async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

const breakerState = (dependency = 'website-api') => metric('tideline_gateway_breaker_state', { dependency });
const rejections = (dependency = 'website-api') =>
  metric('tideline_gateway_breaker_rejections_total', { dependency });
const requestsSent = (source = 'website-api') => metric('tideline_gateway_source_requests_total', { source });

/** Subscribes to an unregistered cluster's nodes; resolves with the answer's code (`NOT_FOUND` while the cache answers). */
async function subscribeUnknown(socket: TestSocket): Promise<string> {
  const ack = (await socket
    .timeout(SYNC_ANSWER_TIMEOUT_MS)
    .emitWithAck('subscribe:nodes', { cluster: `nowhere-${stack.id}` })) as { ok: boolean; code?: string };
  return ack.ok ? 'ok' : ack.code!;
}

/** Asks for the websites snapshot; resolves with `initial` or the refusal's code. */
function sync(socket: TestSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => finish(new Error('no answer to request:websites')),
      SYNC_ANSWER_TIMEOUT_MS,
    );
    const onInitial = () => finish(undefined, 'initial');
    const onError = (error: { event: string; code: string }) => {
      if (error.event === 'request:websites') finish(undefined, error.code);
    };
    function finish(error: Error | undefined, answer?: string) {
      clearTimeout(timer);
      socket.off('websites:initial', onInitial);
      socket.off('request:error', onError);
      if (error) reject(error);
      else resolve(answer!);
    }
    socket.on('websites:initial', onInitial);
    socket.on('request:error', onError);
    socket.emit('request:websites', {});
  });
}

describe('circuit breaker against a real website-api process', () => {
  it('breaker - opens while website-api is down (syncs refused UNAVAILABLE without calling it) and closes once it is back', async () => {
    const socket = openSocket(gateway.url, testToken('breaker-reader', [SCOPES.websitesRead]));
    sockets.push(socket);
    await connected(socket);
    expect(await sync(socket)).toBe('initial');
    expect(await breakerState()).toBe(0);

    await api.stop();
    for (let i = 0; i < FAILURE_THRESHOLD; i++) expect(await sync(socket)).toBe('UNAVAILABLE');
    expect(await breakerState()).toBe(2);

    // While open, a sync is answered by the breaker: refused, counted, and no request is sent.
    // (At most one of these can be a half-open probe, which fails and opens it again.)
    const sentBefore = await requestsSent();
    const rejectedBefore = await rejections();
    for (let i = 0; i < SYNCS_WHILE_OPEN; i++) expect(await sync(socket)).toBe('UNAVAILABLE');
    const refusedWhileOpen = (await rejections()) - rejectedBefore;
    const sentWhileOpen = (await requestsSent()) - sentBefore;
    expect(refusedWhileOpen + sentWhileOpen).toBe(SYNCS_WHILE_OPEN);
    expect(sentWhileOpen).toBeLessThanOrEqual(1);
    expect(await breakerState()).toBe(2);

    await api.start();
    // Syncs refused while it is still open; the first after the half-open delay probes and closes it.
    expect(await eventually(async () => (await sync(socket)) === 'initial', RECOVERY_TIMEOUT_MS, 200)).toBe(
      true,
    );
    expect(await breakerState()).toBe(0);
  }, 240_000);

  it('breaker - the cache stopped opens it (subscribes refused at once) and restarted closes it; an unknown cluster (404) never opens it', async () => {
    const socket = openSocket(gateway.url, testToken('breaker-nodes', [SCOPES.nodesRead]));
    sockets.push(socket);
    await connected(socket);

    // The caller's fault: however often, a 404 is answered NOT_FOUND and the breaker stays closed.
    for (let i = 0; i < FAILURE_THRESHOLD * 3; i++) expect(await subscribeUnknown(socket)).toBe('NOT_FOUND');
    expect(await breakerState('cache')).toBe(0);
    expect(await rejections('cache')).toBe(0);

    await cache.stop();
    for (let i = 0; i < FAILURE_THRESHOLD; i++) expect(await subscribeUnknown(socket)).toBe('UNAVAILABLE');
    expect(await breakerState('cache')).toBe(2);
    const sentBefore = await requestsSent('cache');
    const rejectedBefore = await rejections('cache');
    for (let i = 0; i < SYNCS_WHILE_OPEN; i++) expect(await subscribeUnknown(socket)).toBe('UNAVAILABLE');
    const refusedWhileOpen = (await rejections('cache')) - rejectedBefore;
    const sentWhileOpen = (await requestsSent('cache')) - sentBefore;
    expect(refusedWhileOpen + sentWhileOpen).toBe(SYNCS_WHILE_OPEN);
    expect(sentWhileOpen).toBeLessThanOrEqual(1);

    await cache.start();
    // Answered by the cache again (NOT_FOUND, not UNAVAILABLE): the probe went through and closed it.
    expect(
      await eventually(
        async () => (await subscribeUnknown(socket)) === 'NOT_FOUND',
        RECOVERY_TIMEOUT_MS,
        200,
      ),
    ).toBe(true);
    expect(await breakerState('cache')).toBe(0);
  }, 240_000);
});
