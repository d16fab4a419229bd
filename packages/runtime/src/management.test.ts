import { describe, expect, it } from 'vitest';
import { runService } from './service.ts';

const listen = () => ({ port: 0, host: '127.0.0.1' });
const start = async ({ http }: { http: import('fastify').FastifyInstance }) => {
  http.get('/internal/secrets', async () => ({ internal: true }));
  http.get('/api/v1/things', async () => ({ public: true }));
};

async function answer(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url);
  const text = await response.text();
  return {
    status: response.status,
    body: response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
  };
}

describe('management listener', () => {
  it('management listener - /internal/* and /metrics are absent from the public port', async () => {
    await using service = await runService(
      { name: 'mgmt', settings: {}, listen, start },
      { source: { env: { TIDELINE_LOG_LEVEL: 'silent', TIDELINE_MANAGEMENT_PORT: '0' } } },
    );
    const management = service.managementUrl!;
    expect(service.managementPort).toBeGreaterThan(0);
    expect(service.managementPort).not.toBe(service.port);

    // Public port: the API and the probes, nothing of the management surface, however spelled.
    expect(await answer(`${service.url}/api/v1/things`)).toEqual({ status: 200, body: { public: true } });
    for (const path of [
      '/internal/secrets',
      '/internal/secrets?x=1',
      '/%69nternal/secrets',
      '/metrics',
      '/metrics?',
    ]) {
      const refused = await answer(`${service.url}${path}`);
      expect(refused.status, path).toBe(404);
      expect(refused.body, path).toEqual({
        error: {
          code: 'NOT_FOUND',
          message: expect.stringMatching(/^no route GET \//),
          requestId: expect.any(String),
        },
      });
    }
    expect((await answer(`${service.url}/healthz`)).status).toBe(200);
    expect((await answer(`${service.url}/readyz`)).status).toBe(200);

    // Management port: the management surface and the probes, not the API.
    expect(await answer(`${management}/internal/secrets`)).toEqual({ status: 200, body: { internal: true } });
    const metrics = await answer(`${management}/metrics`);
    expect(metrics.status).toBe(200);
    expect(String(metrics.body)).toMatch(/service="mgmt"/);
    expect((await answer(`${management}/healthz`)).status).toBe(200);
    expect((await answer(`${management}/readyz`)).status).toBe(200);
    expect(await answer(`${management}/api/v1/things`)).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND' } },
    });
  });

  it('management listener - unset, everything stays on the public port', async () => {
    await using service = await runService(
      { name: 'mgmt', settings: {}, listen, start },
      { source: { env: { TIDELINE_LOG_LEVEL: 'silent' } } },
    );
    expect(service.managementUrl).toBeUndefined();
    expect(await answer(`${service.url}/internal/secrets`)).toEqual({
      status: 200,
      body: { internal: true },
    });
    expect((await answer(`${service.url}/metrics`)).status).toBe(200);
  });

  it('management listener - a stop closes it with the public port', async () => {
    const service = await runService(
      { name: 'mgmt', settings: {}, listen, start },
      { source: { env: { TIDELINE_LOG_LEVEL: 'silent', TIDELINE_MANAGEMENT_PORT: '0' } } },
    );
    const management = service.managementUrl!;
    expect((await answer(`${management}/healthz`)).status).toBe(200);
    await service.stop();
    await expect(fetch(`${management}/healthz`)).rejects.toThrow();
  });
});
