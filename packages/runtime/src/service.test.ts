import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ConfigError, int } from '@tideline/config';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runService } from './service.ts';

function sink() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, stream };
}

const settings = { answer: int({ env: 'TIDELINE_T_ANSWER', min: 0, max: 100, default: 42, doc: 'answer' }) };
const listen = () => ({ port: 0, host: '127.0.0.1' });
/** A test that starts a service process (tsx compiles it first) on a machine others keep busy. */
const PROCESS_TEST_TIMEOUT_MS = 60_000;

describe('runService', () => {
  it('endpoints - serves /healthz, /readyz with dependency checks, and Prometheus /metrics', async () => {
    let dependencyUp = true;
    await using service = await runService(
      {
        name: 'probe',
        settings,
        listen,
        start: async ({ http, readiness, config }) => {
          readiness.add('dependency', () => dependencyUp);
          http.get('/answer', async () => ({ answer: config.answer }));
        },
      },
      { source: { env: { TIDELINE_LOG_LEVEL: 'silent', TIDELINE_T_ANSWER: '7' } } },
    );
    expect(await (await fetch(`${service.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${service.url}/answer`)).json()).toEqual({ answer: 7 });
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      ready: true,
      checks: { started: true, accepting: true, dependency: true },
    });
    dependencyUp = false;
    const notReady = await fetch(`${service.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ ready: false, checks: { dependency: false } });
    const metrics = await fetch(`${service.url}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await metrics.text()).toMatch(/process_cpu_user_seconds_total\{service="probe"\}/);
  });

  it('stop - runs stop steps in reverse order of registration, then closes HTTP', async () => {
    const order: string[] = [];
    const { lines, stream } = sink();
    const service = await runService(
      {
        name: 'ordered',
        settings,
        listen,
        start: async ({ onStop }) => {
          onStop('bus', async () => void order.push('bus'));
          onStop('consumers', async () => void order.push('consumers'));
          onStop('failing', () => {
            throw new Error('boom');
          });
        },
      },
      { source: { env: { TIDELINE_LOG_LEVEL: 'info' } }, logDestination: stream },
    );
    const url = service.url;
    await service.stop('test');
    expect(order).toEqual(['consumers', 'bus']);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    const messages = lines.map((l) => l['msg']);
    expect(messages).toContain('stop step failed');
    expect(lines.every((l) => l['service'] === 'ordered')).toBe(true);
  });

  it('stop - refuses new requests and reports not ready before the service steps run', async () => {
    let release!: () => void;
    const seen: { ready: number; api: number; body: unknown }[] = [];
    const service = await runService(
      {
        name: 'intake',
        settings,
        listen,
        start: async ({ http, onStop }) => {
          http.get('/work', async () => ({ ok: true }));
          onStop('consumers', () => new Promise<void>((resolve) => (release = resolve)));
        },
      },
      { source: { env: { TIDELINE_LOG_LEVEL: 'silent' } } },
    );
    const url = service.url;
    const stopped = service.stop();
    const ready = await fetch(`${url}/readyz`);
    const api = await fetch(`${url}/work`);
    seen.push({ ready: ready.status, api: api.status, body: await api.json() });
    release();
    await stopped;
    expect(seen).toEqual([
      {
        ready: 503,
        api: 503,
        body: { error: { code: 'UNAVAILABLE', message: expect.any(String), requestId: expect.any(String) } },
      },
    ]);
  });

  it('stop - a request already running finishes before the service steps close what it uses', async () => {
    const order: string[] = [];
    const service = await runService(
      {
        name: 'in-flight',
        settings,
        listen,
        start: async ({ http, onStop }) => {
          http.get('/slow', async () => {
            await new Promise((resolve) => setTimeout(resolve, 200));
            order.push('request done');
            return { ok: true };
          });
          onStop('pool', () => void order.push('pool closed'));
        },
      },
      { source: { env: { TIDELINE_LOG_LEVEL: 'silent' } } },
    );
    const response = fetch(`${service.url}/slow`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await service.stop();
    expect((await response).status).toBe(200);
    expect(order).toEqual(['request done', 'pool closed']);
  });

  it('stop - a stop step that hangs is cut off by the shutdown timeout', async () => {
    const service = await runService(
      {
        name: 'hangs',
        settings,
        listen,
        start: async ({ onStop }) => onStop('hang', () => new Promise(() => {})),
      },
      { source: { env: { TIDELINE_LOG_LEVEL: 'silent', TIDELINE_SHUTDOWN_TIMEOUT_MS: '200' } } },
    );
    const started = performance.now();
    await service.stop();
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('config - an invalid value stops the start before anything runs', async () => {
    let started = false;
    await expect(
      runService(
        {
          name: 'bad',
          settings,
          listen,
          start: async () => {
            started = true;
          },
        },
        { source: { env: { TIDELINE_T_ANSWER: '101' } } },
      ),
    ).rejects.toBeInstanceOf(ConfigError);
    expect(started).toBe(false);
  });

  it('start failure - stop steps registered before the failure run', async () => {
    const order: string[] = [];
    await expect(
      runService(
        {
          name: 'fails',
          settings,
          listen,
          start: async ({ onStop }) => {
            onStop('pool', () => void order.push('pool'));
            throw new Error('dependency down');
          },
        },
        { source: { env: { TIDELINE_LOG_LEVEL: 'silent' } } },
      ),
    ).rejects.toThrow('dependency down');
    expect(order).toEqual(['pool']);
  });

  it(
    'SIGTERM - a service process drains its steps and exits 0',
    async () => {
      const script = fileURLToPath(new URL('../test/signal-fixture.ts', import.meta.url));
      const recordPath = join(mkdtempSync(join(tmpdir(), 'tideline-signal-')), 'record.json');
      const child = spawn(process.execPath, ['--import', 'tsx', script], {
        env: { ...process.env, TIDELINE_LOG_LEVEL: 'info', SIGNAL_FIXTURE_RECORD: recordPath },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      onTestFinished(() => void child.kill('SIGKILL'));
      // 'close', not 'exit': only then has everything the process wrote been read.
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
      let out = '';
      const started = new Promise<void>((resolve) => {
        child.stdout.on('data', (d) => {
          out += String(d);
          if (out.includes('"msg":"started"')) resolve();
        });
      });
      await Promise.race([started, closed]);
      child.kill('SIGTERM');
      expect(await closed).toBe(0);
      // The order from the process's own record: its step ran while HTTP still listened, and HTTP
      // was closed before the process exited.
      expect(JSON.parse(readFileSync(recordPath, 'utf8'))).toEqual([
        { step: 'in-flight work', httpListening: true },
        { step: 'exit', httpListening: false },
      ]);
      // Every stop line reached the output before the exit (none lost at process.exit).
      expect(out).toContain('"step":"in-flight work"');
      expect(out).toContain('"step":"http"');
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
