import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, EXIT_CONFIG, loadConfig, loadConfigOrExit } from './load.ts';
import { redactCredentials, redactUrl } from './redact.ts';
import { busSettings } from './settings/bus.ts';
import { databaseSettings, redisConnectionOptions, redisSettings } from './settings/stores.ts';

const PASSWORD = 'hunter2';

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('secrets in configuration errors', () => {
  afterEach(() => vi.restoreAllMocks());

  it('config - a malformed Redis URL with a password never prints the password', () => {
    const error = configError(() =>
      loadConfig(redisSettings, { env: { TIDELINE_REDIS_URL: `redis//:${PASSWORD}@h` } }),
    );
    expect(error.variable).toBe('TIDELINE_REDIS_URL');
    expect(error.message).not.toContain(PASSWORD);
    expect(error.got).not.toContain(PASSWORD);
    expect(error.message).toBe(
      'TIDELINE_REDIS_URL: must be a URL with scheme redis or rediss (got "redis//***@h")',
    );
  });

  it('config - the line printed before exit 78 carries no password', () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const exit = vi.spyOn(process, 'exit').mockImplementation(() => {
      throw new Error('exit');
    });
    expect(() =>
      loadConfigOrExit(redisSettings, { env: { TIDELINE_REDIS_URL: `redis//:${PASSWORD}@h` } }),
    ).toThrow('exit');
    expect(exit).toHaveBeenCalledWith(EXIT_CONFIG);
    expect(written.join('')).toContain('config error: TIDELINE_REDIS_URL');
    expect(written.join('')).not.toContain(PASSWORD);
  });

  it.each([
    ['a wrong scheme with user and password', `http://admin:${PASSWORD}@db:5432/x`],
    ['no scheme at all', `:${PASSWORD}@db`],
    ['a password holding @ and /', `postgres//u:${PASSWORD}@x/y@db:5432`],
    ['a password in the query', `postgres://db:99999/x?sslmode=require&password=${PASSWORD}`],
  ])('config - a malformed database URL with %s never prints the password', (_, value) => {
    const error = configError(() => loadConfig(databaseSettings, { env: { TIDELINE_DATABASE_URL: value } }));
    expect(error.variable).toBe('TIDELINE_DATABASE_URL');
    expect(error.message).not.toContain(PASSWORD);
  });

  it('config - a malformed NATS URL carrying a token never prints the token', () => {
    const error = configError(() =>
      loadConfig(busSettings, { env: { TIDELINE_NATS_URL: 'nats//s3cr3t-token-value@nats:4222' } }),
    );
    expect(error.message).not.toContain('s3cr3t-token-value');
  });

  it('config - a secret setting that breaks its rule is shown as (hidden)', () => {
    const error = configError(() => loadConfig(busSettings, { env: { TIDELINE_NATS_PASSWORD: '   ' } }));
    expect(error.variable).toBe('TIDELINE_NATS_PASSWORD');
    expect(error.message).toContain('(hidden)');
  });

  it('config - a config file that is not valid JSON is not quoted back (it may hold secrets)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tideline-config-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, `{"TIDELINE_REDIS_PASSWORD": ${PASSWORD}}`);
    const error = configError(() => loadConfig(redisSettings, { file, env: {} }));
    expect(error.variable).toBe('TIDELINE_CONFIG_FILE');
    expect(error.message).not.toContain(PASSWORD);
    expect(error.message).toContain('not valid JSON');
  });

  it('config - an error built by any rule has the credentials of a URL it quotes redacted', () => {
    const error = new ConfigError('TIDELINE_X', 'reachable', `redis://u:${PASSWORD}@h:6379?token=abcdef`);
    expect(error.message).toBe('TIDELINE_X: must be reachable (got redis://***@h:6379?token=***)');
  });

  it('config - the Redis TLS CA file that cannot be read is named, nothing else', () => {
    const error = configError(() =>
      redisConnectionOptions(
        loadConfig(redisSettings, { env: { TIDELINE_REDIS_TLS_CA_FILE: '/nonexistent/ca.pem' } }),
      ),
    );
    expect(error.message).toBe(
      'TIDELINE_REDIS_TLS_CA_FILE: must be a readable PEM file (got /nonexistent/ca.pem: ENOENT)',
    );
  });
});

describe('redactCredentials', () => {
  it.each([
    ['redis://:pw@h:6379/0', 'redis://***@h:6379/0'],
    ['nats://user:pw@h:4222', 'nats://***@h:4222'],
    ['nats://tok@h', 'nats://***@h'],
    ['nats://u:pw@a:1,nats://tok@b:2', 'nats://***@a:1,nats://***@b:2'],
    ['x?password=pw&db=1', 'x?password=***&db=1'],
    ['x?access_token=pw', 'x?access_token=***'],
    ['Authorization: Bearer abcdefgh12345678', 'Authorization: Bearer ***'],
    ['jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl here', 'jwt *** here'],
    ['-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----', '***'],
    ['redis://h:6379 and http://h/a', 'redis://h:6379 and http://h/a'],
  ])('%s → %s', (input, output) => {
    expect(redactCredentials(input)).toBe(output);
  });

  it('redactUrl - everything from // (or the start) to the last @ is hidden', () => {
    expect(redactUrl('redis//:pw@h')).toBe('redis//***@h');
    expect(redactUrl(':pw@h')).toBe('***@h');
    expect(redactUrl('redis://u:p@ss@h')).toBe('redis://***@h');
    expect(redactUrl('redis://h:6379')).toBe('redis://h:6379');
  });

  it('redisConnectionOptions - separate settings become ioredis options; rediss:// turns TLS on', () => {
    const config = loadConfig(redisSettings, {
      env: {
        TIDELINE_REDIS_URL: 'rediss://h:6380',
        TIDELINE_REDIS_USERNAME: 'tideline',
        TIDELINE_REDIS_PASSWORD: PASSWORD,
      },
    });
    expect(redisConnectionOptions(config)).toEqual({ username: 'tideline', password: PASSWORD, tls: {} });
    expect(redisConnectionOptions(loadConfig(redisSettings, { env: {} }))).toEqual({});
  });
});
