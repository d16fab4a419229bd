import { describe, expect, it } from 'vitest';
import { describeKubeError } from './safe-error.ts';

describe('describeKubeError', () => {
  it("lastError - an exec plugin's stderr, a server's answer body and a parser's quote never appear; class, status and errno code do", () => {
    expect(describeKubeError(new Error('PWNED uid=1000(app)'))).toBe('Error');
    const api = Object.assign(new Error('HTTP-Code: 401\nBody: {"secret":"PWNED"}'), {
      name: 'ApiException',
      code: 401,
    });
    expect(describeKubeError(api)).toBe('ApiException (HTTP 401)');
    const watch = Object.assign(new Error('Unauthorized PWNED'), { statusCode: 403 });
    expect(describeKubeError(watch)).toBe('Error (HTTP 403)');
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:6443'), { code: 'ECONNREFUSED' }),
    });
    expect(describeKubeError(refused)).toBe('TypeError (ECONNREFUSED)');
    expect(describeKubeError(Object.assign(new Error('x'), { name: 'PWNED\nmore' }))).toBe('Error');
    expect(describeKubeError('PWNED')).toBe('error');
  });
});
