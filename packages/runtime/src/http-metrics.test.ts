import { int } from '@tideline/config';
import { describe, expect, it } from 'vitest';
import { runService } from './service.ts';

const settings = { answer: int({ env: 'TIDELINE_T_ANSWER', min: 0, max: 100, default: 42, doc: 'answer' }) };
const listen = () => ({ port: 0, host: '127.0.0.1' });

/** The `tideline_http_request_duration_seconds_count` series of a scrape, as label strings. */
function countSeries(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('tideline_http_request_duration_seconds_count{'))
    .map((line) => line.slice(line.indexOf('{'), line.lastIndexOf('}') + 1));
}

describe('HTTP request metrics', () => {
  it('http metrics - a request is observed under its route template and status, never its raw URL', async () => {
    await using service = await runService(
      {
        name: 'probe',
        settings,
        listen,
        start: async ({ http }) => {
          http.get('/items/:id', async (request) => ({ id: (request.params as { id: string }).id }));
        },
      },
      { source: { env: { TIDELINE_LOG_LEVEL: 'silent' } } },
    );
    for (const id of ['user-4711', 'user-4712']) await fetch(`${service.url}/items/${id}?secret=x`);
    await fetch(`${service.url}/no/such/path/user-4713`);
    const text = await (await fetch(`${service.url}/metrics`)).text();
    const series = countSeries(text);
    expect(series).toContain(
      '{service="probe",method="GET",route="/items/:id",status_class="2xx",status_code="200"}',
    );
    expect(series).toContain(
      '{service="probe",method="GET",route="unmatched",status_class="4xx",status_code="404"}',
    );
    expect(text).toMatch(
      /tideline_http_request_duration_seconds_count\{service="probe",method="GET",route="\/items\/:id",status_class="2xx",status_code="200"\} 2/,
    );
    expect(text).not.toContain('user-47');
    expect(text).not.toContain('secret');
  });

  it('http metrics - requests to the management listener are observed too', async () => {
    await using service = await runService(
      {
        name: 'probe',
        settings,
        listen,
        start: async ({ http }) => {
          http.get('/internal/things/:id', async () => ({ ok: true }));
        },
      },
      { source: { env: { TIDELINE_LOG_LEVEL: 'silent', TIDELINE_MANAGEMENT_PORT: '0' } } },
    );
    expect((await fetch(`${service.managementUrl}/internal/things/7`)).status).toBe(200);
    const text = await (await fetch(`${service.managementUrl}/metrics`)).text();
    expect(countSeries(text)).toContain(
      '{service="probe",method="GET",route="/internal/things/:id",status_class="2xx",status_code="200"}',
    );
  });

  it('http metrics - a made-up method is counted as other, so clients cannot mint label values', async () => {
    await using service = await runService(
      { name: 'probe', settings, listen, start: async () => {} },
      { source: { env: { TIDELINE_LOG_LEVEL: 'silent' } } },
    );
    await fetch(`${service.url}/healthz`, { method: 'PROPFIND-X' }).catch(() => undefined);
    const text = await (await fetch(`${service.url}/metrics`)).text();
    expect(text).not.toContain('PROPFIND');
  });

  it('default metrics - process and Node.js metrics keep their conventional names', async () => {
    await using service = await runService(
      { name: 'probe', settings, listen, start: async () => {} },
      { source: { env: { TIDELINE_LOG_LEVEL: 'silent' } } },
    );
    const text = await (await fetch(`${service.url}/metrics`)).text();
    for (const name of [
      'process_resident_memory_bytes',
      'process_cpu_user_seconds_total',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ])
      expect(text).toMatch(new RegExp(`^${name}\\{`, 'm'));
    // GC observations appear after the first collection; the histogram is declared from the start.
    expect(text).toContain('# TYPE nodejs_gc_duration_seconds histogram');
    expect(text).not.toMatch(/^tideline_(process|nodejs)_/m);
  });

  it('readiness metric - tideline_service_ready follows what /readyz answers', async () => {
    let up = true;
    await using service = await runService(
      {
        name: 'probe',
        settings,
        listen,
        start: async ({ readiness }) => readiness.add('dependency', () => up),
      },
      { source: { env: { TIDELINE_LOG_LEVEL: 'silent' } } },
    );
    const ready = async () =>
      /^tideline_service_ready\{service="probe"\} (\d)$/m.exec(
        await (await fetch(`${service.url}/metrics`)).text(),
      )?.[1];
    expect(await ready()).toBe('1');
    up = false;
    expect(await ready()).toBe('0');
  });

  it('readiness metric - tideline_readiness_check follows each check, gating or observed, run once per scrape', async () => {
    let database = true;
    let broker = true;
    const calls = { database: 0, broker: 0 };
    await using service = await runService(
      {
        name: 'probe',
        settings,
        listen,
        start: async ({ readiness }) => {
          readiness.add('database', () => {
            calls.database++;
            return database;
          });
          readiness.observe('broker', () => {
            calls.broker++;
            return broker;
          });
        },
      },
      { source: { env: { TIDELINE_LOG_LEVEL: 'silent' } } },
    );
    /** The readiness series of one scrape (labels → value), and how often it ran each check. */
    const scrape = async () => {
      calls.database = 0;
      calls.broker = 0;
      const text = await (await fetch(`${service.url}/metrics`)).text();
      const series = Object.fromEntries(
        [...text.matchAll(/^(tideline_service_ready|tideline_readiness_check)(\{[^}]*\}) (\d)$/gm)].map(
          ([, name, labels, value]) => [`${name}${labels}`, value],
        ),
      );
      return { series, calls: { ...calls } };
    };
    const expected = (database: string, broker: string, ready: string) => ({
      series: {
        'tideline_service_ready{service="probe"}': ready,
        'tideline_readiness_check{check="started",gating="true",service="probe"}': '1',
        'tideline_readiness_check{check="accepting",gating="true",service="probe"}': '1',
        'tideline_readiness_check{check="database",gating="true",service="probe"}': database,
        'tideline_readiness_check{check="broker",gating="false",service="probe"}': broker,
      },
      calls: { database: 1, broker: 1 },
    });

    expect(await scrape()).toEqual(expected('1', '1', '1'));
    database = false;
    expect(await scrape()).toEqual(expected('0', '1', '0'));
    database = true;
    broker = false;
    // An observed dependency is reported down, and the service stays ready.
    expect(await scrape()).toEqual(expected('1', '0', '1'));
  });
});
