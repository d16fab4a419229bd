import { get } from 'node:https';
import { describe, expect, it } from 'vitest';
import { KubeTestServer } from './server.ts';
import { selfSignedCertificate } from './tls.ts';

function httpsGet(url: string, options: { ca?: string; token: string }) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = get(
      url,
      { headers: { authorization: `Bearer ${options.token}` }, ...(options.ca ? { ca: options.ca } : {}) },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('error', reject);
  });
}

describe('KubeTestServer over https', () => {
  it('https - with a key and certificate the server speaks TLS: a client trusting that certificate lists nodes, others are refused', async () => {
    const tls = selfSignedCertificate();
    await using server = await KubeTestServer.start({ tls });
    server.addNodes(2);
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const listed = await httpsGet(`${server.url}/api/v1/nodes`, { ca: tls.cert, token: server.token });
    expect(listed.status).toBe(200);
    expect((JSON.parse(listed.body) as { items: unknown[] }).items).toHaveLength(2);
    await expect(httpsGet(`${server.url}/api/v1/nodes`, { token: server.token })).rejects.toThrow(
      /self-signed certificate/,
    );
    expect(server.kubeconfig()).toContain(
      `certificate-authority-data: "${Buffer.from(tls.cert).toString('base64')}"`,
    );
    expect(server.kubeconfig()).not.toContain('insecure-skip-tls-verify');
  });
});
