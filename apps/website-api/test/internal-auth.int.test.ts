import { SCOPES } from '@tideline/auth';
import { INTERNAL_PATHS, INTERNAL_SCOPE } from '@tideline/contracts';
import { testServiceToken, testToken } from '@tideline/test-support';
import { describe, expect, it } from 'vitest';
import { ApiFixture, tokens } from './harness.ts';

/** Every scope a user token could be given, `internal` included. */
const EVERY_SCOPE = [
  SCOPES.websitesRead,
  SCOPES.websitesWrite,
  SCOPES.nodesRead,
  SCOPES.clustersAdmin,
  SCOPES.operatorRead,
  INTERNAL_SCOPE,
];

describe('website-api internal endpoints', () => {
  it('internal - a user token carrying every scope is refused on /internal/*', async () => {
    const fixture = await ApiFixture.start();
    try {
      const user = testToken('mallory', EVERY_SCOPE);
      for (const path of [
        INTERNAL_PATHS.websitesSnapshot,
        `${INTERNAL_PATHS.websitesEvents}?after=0&limit=10`,
      ]) {
        const refused = await fixture.call('GET', path, { token: user });
        expect(refused.status, path).toBe(401);
        expect(refused.body, path).toEqual({
          error: {
            code: 'UNAUTHORIZED',
            message: 'the token is for another audience',
            requestId: expect.any(String),
          },
        });
        expect((await fixture.call('GET', path, { token: tokens.internal })).status, path).toBe(200);
      }
    } finally {
      await fixture.dispose();
    }
  });

  it('user endpoints - a service token is refused on the public API', async () => {
    const fixture = await ApiFixture.start();
    try {
      const refused = await fixture.call('GET', '/api/v1/websites', {
        token: testServiceToken('service:push-gateway'),
      });
      expect(refused.status).toBe(401);
      expect(refused.body).toEqual({
        error: {
          code: 'UNAUTHORIZED',
          message: 'the token is for another audience',
          requestId: expect.any(String),
        },
      });
      expect((await fixture.call('GET', '/api/v1/websites', { token: tokens.reader })).status).toBe(200);
    } finally {
      await fixture.dispose();
    }
  });

  it('management listener - /internal/* and /metrics are absent from the public port of website-api', async () => {
    const fixture = await ApiFixture.start({ env: { TIDELINE_MANAGEMENT_PORT: '0' } });
    try {
      const management = fixture.api.managementUrl!;
      for (const path of [INTERNAL_PATHS.websitesSnapshot, '/metrics']) {
        const publicAnswer = await fixture.call('GET', path, { token: tokens.internal });
        expect(publicAnswer.status, path).toBe(404);
        expect(publicAnswer.body.error.code, path).toBe('NOT_FOUND');
        const managed = await fetch(`${management}${path}`, {
          headers: { authorization: `Bearer ${tokens.internal}` },
        });
        expect(managed.status, path).toBe(200);
      }
      expect((await fixture.call('GET', '/api/v1/websites', { token: tokens.reader })).status).toBe(200);
    } finally {
      await fixture.dispose();
    }
  });
});
