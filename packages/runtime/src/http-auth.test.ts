import { signToken, TokenVerifier } from '@tideline/auth';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { bearerPrincipal, requireScope } from './http-auth.ts';

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';

describe('bearer tokens', () => {
  it('a hook that needs the subject early and the scope check share one verification per request', async () => {
    const verifier = new TokenVerifier({
      secret: SECRET,
      issuer: 'test',
      audience: 'test',
      clockToleranceMs: 0,
    });
    let verifications = 0;
    const verify = verifier.verify.bind(verifier);
    verifier.verify = (token) => {
      verifications++;
      return verify(token);
    };
    const http = Fastify();
    const subjects: string[] = [];
    http.addHook('onRequest', async (request) => {
      subjects.push((await bearerPrincipal(request, verifier))?.uid ?? '-');
    });
    http.post('/write', { preHandler: requireScope(verifier, 'websites:write') }, async (request) => ({
      uid: request.principal?.uid,
    }));
    const token = signToken({
      secret: SECRET,
      sub: 'ann',
      scopes: ['websites:write'],
      issuer: 'test',
      audience: 'test',
      expiresInSeconds: 60,
    });
    const first = await http.inject({
      method: 'POST',
      url: '/write',
      headers: { authorization: `Bearer ${token}` },
    });
    const second = await http.inject({
      method: 'POST',
      url: '/write',
      headers: { authorization: `Bearer ${token}` },
    });
    expect([first.json(), second.json()]).toEqual([{ uid: 'ann' }, { uid: 'ann' }]);
    expect(subjects).toEqual(['ann', 'ann']);
    // One verification per request, not one per hook.
    expect(verifications).toBe(2);
    await http.close();
  });
});
