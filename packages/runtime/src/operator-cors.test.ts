import { describe, expect, it } from 'vitest';
import { runService } from './service.ts';

const CONSOLE = 'http://console.example:5173';

async function probe() {
  return runService(
    {
      name: 'probe',
      settings: {},
      listen: () => ({ port: 0, host: '127.0.0.1' }),
      start: async ({ http }) => {
        http.get('/api/v1/operator/thing', async () => ({ data: 1 }));
        http.get('/api/v1/other', async () => ({ data: 2 }));
      },
    },
    { source: { env: { TIDELINE_LOG_LEVEL: 'silent', TIDELINE_OPERATOR_CORS_ORIGINS: CONSOLE } } },
  );
}

describe('operator endpoints and browser origins', () => {
  it('cors - the console origin may read the operator endpoints: preflight answered, origin named', async () => {
    await using service = await probe();
    const preflight = await fetch(`${service.url}/api/v1/operator/thing`, {
      method: 'OPTIONS',
      headers: {
        origin: CONSOLE,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(CONSOLE);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
    const answer = await fetch(`${service.url}/api/v1/operator/thing`, { headers: { origin: CONSOLE } });
    expect(answer.headers.get('access-control-allow-origin')).toBe(CONSOLE);
    expect(answer.headers.get('access-control-expose-headers')).toBe('x-request-id');
  });

  it('cross-origin read - a page of another origin, or any page on other routes, gets no CORS permission', async () => {
    await using service = await probe();
    const evil = await fetch(`${service.url}/api/v1/operator/thing`, {
      headers: { origin: 'https://evil.example' },
    });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const evilPreflight = await fetch(`${service.url}/api/v1/operator/thing`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    expect(evilPreflight.headers.get('access-control-allow-origin')).toBeNull();
    const other = await fetch(`${service.url}/api/v1/other`, { headers: { origin: CONSOLE } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
