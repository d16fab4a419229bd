import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load.ts';
import { bool, int, list, ms, oneOf, port, seconds, str, url } from './setting.ts';
import { authSettings, requireJwtKey } from './settings/auth.ts';
import { commonSettings } from './settings/common.ts';

const spec = {
  port: port({ env: 'TIDELINE_T_PORT', default: 3000, doc: 'port' }),
  intervalMs: ms({ env: 'TIDELINE_T_INTERVAL_MS', default: 1000, doc: 'interval' }),
  ttlSeconds: seconds({ env: 'TIDELINE_T_TTL_SECONDS', default: 60, min: 1, doc: 'ttl' }),
  limit: int({ env: 'TIDELINE_T_LIMIT', min: 1, max: 10, default: 5, doc: 'limit' }),
  flag: bool({ env: 'TIDELINE_T_FLAG', default: false, doc: 'flag' }),
  mode: oneOf({ env: 'TIDELINE_T_MODE', values: ['a', 'b'] as const, default: 'a', doc: 'mode' }),
  brokers: list({
    env: 'TIDELINE_T_BROKERS',
    item: /^[^\s:]+:\d+$/,
    itemRule: 'host:port pairs',
    default: ['x:1'],
    doc: 'b',
  }),
  target: url({ env: 'TIDELINE_T_URL', protocols: ['nats'], default: 'nats://127.0.0.1:4222', doc: 'u' }),
  name: str({ env: 'TIDELINE_T_NAME', default: 'n', doc: 'name' }),
};

function errorLine(env: Record<string, string>, s: Record<string, unknown> = spec): string {
  try {
    loadConfig(s as typeof spec, { env });
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('defaults - every setting takes its documented default when unset', () => {
    expect(loadConfig(spec, { env: {} })).toEqual({
      port: 3000,
      intervalMs: 1000,
      ttlSeconds: 60,
      limit: 5,
      flag: false,
      mode: 'a',
      brokers: ['x:1'],
      target: 'nats://127.0.0.1:4222',
      name: 'n',
    });
  });

  it('environment - values are parsed to their types', () => {
    const config = loadConfig(spec, {
      env: {
        TIDELINE_T_PORT: '8080',
        TIDELINE_T_INTERVAL_MS: '250',
        TIDELINE_T_FLAG: 'true',
        TIDELINE_T_BROKERS: 'a:1, b:2',
        TIDELINE_T_MODE: 'b',
      },
    });
    expect(config).toMatchObject({
      port: 8080,
      intervalMs: 250,
      flag: true,
      brokers: ['a:1', 'b:2'],
      mode: 'b',
    });
  });

  it('bad unit - a duration with a unit suffix names the variable and the unit', () => {
    expect(errorLine({ TIDELINE_T_INTERVAL_MS: '5s' })).toBe(
      'TIDELINE_T_INTERVAL_MS: must be a whole number of milliseconds from 0 to 31536000000 (got "5s")',
    );
    expect(errorLine({ TIDELINE_T_TTL_SECONDS: '1.5' })).toBe(
      'TIDELINE_T_TTL_SECONDS: must be a whole number of seconds from 1 to 315360000 (got "1.5")',
    );
  });

  it('bad port - out of range or not a number', () => {
    expect(errorLine({ TIDELINE_T_PORT: '70000' })).toBe(
      'TIDELINE_T_PORT: must be a TCP port from 1 to 65535 (got "70000")',
    );
    expect(errorLine({ TIDELINE_T_PORT: 'http' })).toBe(
      'TIDELINE_T_PORT: must be a TCP port from 1 to 65535 (got "http")',
    );
  });

  it('bad values of the other kinds - each names its rule', () => {
    expect(errorLine({ TIDELINE_T_LIMIT: '11' })).toBe(
      'TIDELINE_T_LIMIT: must be a whole number from 1 to 10 (got "11")',
    );
    expect(errorLine({ TIDELINE_T_FLAG: 'yes' })).toBe('TIDELINE_T_FLAG: must be true or false (got "yes")');
    expect(errorLine({ TIDELINE_T_MODE: 'c' })).toBe('TIDELINE_T_MODE: must be one of a, b (got "c")');
    expect(errorLine({ TIDELINE_T_BROKERS: 'a:1,b' })).toBe(
      'TIDELINE_T_BROKERS: must be a comma-separated list of host:port pairs (got "a:1,b")',
    );
    expect(errorLine({ TIDELINE_T_URL: 'http://x' })).toBe(
      'TIDELINE_T_URL: must be a URL with scheme nats (got "http://x")',
    );
  });

  it('instance id - a value unsafe in consumer and connection names is refused; unset picks one', () => {
    expect(errorLine({ TIDELINE_INSTANCE_ID: 'gw 1.example' }, commonSettings)).toMatch(
      /^TIDELINE_INSTANCE_ID: must be 1 to 200 letters, digits, - or _/,
    );
    expect(loadConfig(commonSettings, { env: { TIDELINE_INSTANCE_ID: 'push-gateway-1' } }).instanceId).toBe(
      'push-gateway-1',
    );
    expect(loadConfig(commonSettings, { env: {} }).instanceId).toBeUndefined();
  });

  it('missing secret - production without a JWT key is refused', () => {
    const authSpec = { ...commonSettings, ...authSettings };
    let message = '';
    try {
      loadConfig(authSpec, { env: { TIDELINE_ENV: 'production' } }, [requireJwtKey]);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      'TIDELINE_JWT_SECRET: must be set (or TIDELINE_JWT_PUBLIC_KEY or TIDELINE_JWT_JWKS_URL) when TIDELINE_ENV is production (got nothing: it is required)',
    );
    expect(() =>
      loadConfig(authSpec, { env: { TIDELINE_ENV: 'development' } }, [requireJwtKey]),
    ).not.toThrow();
  });

  it('short secret - the value is never printed', () => {
    const authSpec = { ...commonSettings, ...authSettings };
    expect(() => loadConfig(authSpec, { env: { TIDELINE_JWT_SECRET: 'short' } }, [requireJwtKey])).toThrow(
      'TIDELINE_JWT_SECRET: must be at least 32 bytes (got (hidden))',
    );
  });

  it('required - a setting without default must be set', () => {
    const required = { key: str({ env: 'TIDELINE_T_KEY', doc: 'k' }) };
    expect(errorLine({}, required)).toBe(
      'TIDELINE_T_KEY: must be a string of 1 to 4096 characters (got nothing: it is required)',
    );
  });

  it('file - values come from the file, the environment wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tideline-config-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ TIDELINE_T_PORT: 4000, TIDELINE_T_LIMIT: 7 }));
    expect(loadConfig(spec, { env: { TIDELINE_T_LIMIT: '2' }, file })).toMatchObject({
      port: 4000,
      limit: 2,
    });
    writeFileSync(file, JSON.stringify({ TIDELINE_T_PORT: 'x' }));
    expect(() => loadConfig(spec, { env: {}, file })).toThrow(
      'TIDELINE_T_PORT: must be a TCP port from 1 to 65535 (got "x")',
    );
    writeFileSync(file, '{ not json');
    expect(() => loadConfig(spec, { env: { TIDELINE_CONFIG_FILE: file } })).toThrow(
      /^TIDELINE_CONFIG_FILE: must be a JSON object/,
    );
  });

  it('file - a misspelled key is refused, naming the key and the closest known variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tideline-config-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ TIDELINE_T_PORT: 4000, TIDELINE_T_LIMT: 7 }));
    expect(() => loadConfig(spec, { env: {}, file })).toThrow(
      `TIDELINE_CONFIG_FILE: must be keyed by known TIDELINE_* variable names (got "TIDELINE_T_LIMT" in ${file}; did you mean TIDELINE_T_LIMIT?)`,
    );
    writeFileSync(file, JSON.stringify({ TIDELINE_KAFKA_BROKER: 'k:9092' }));
    expect(() => loadConfig(spec, { env: {}, file })).toThrow(/did you mean TIDELINE_KAFKA_BROKERS\?\)$/);
    writeFileSync(file, JSON.stringify({ port: 4000 }));
    expect(() => loadConfig(spec, { env: {}, file })).toThrow(
      `TIDELINE_CONFIG_FILE: must be keyed by known TIDELINE_* variable names (got "port" in ${file})`,
    );
  });

  it("file - another service's settings in a shared file are accepted and ignored", () => {
    const dir = mkdtempSync(join(tmpdir(), 'tideline-config-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ TIDELINE_T_PORT: 4000, TIDELINE_GATEWAY_PORT: 3005 }));
    expect(loadConfig(spec, { env: {}, file })).toMatchObject({ port: 4000 });
  });

  it('settings - a duration setting without its unit in the name is a programming error', () => {
    expect(() => ms({ env: 'TIDELINE_T_TIMEOUT', doc: 'x' })).toThrow(
      'TIDELINE_T_TIMEOUT: a millisecond setting must end in _MS',
    );
    expect(() => seconds({ env: 'TIDELINE_T_TTL', doc: 'x' })).toThrow(
      'a seconds setting must end in _SECONDS',
    );
  });
});

describe('loadConfigOrExit', () => {
  it('exit - a process with an invalid value exits 78 with one line naming the variable', () => {
    const script = fileURLToPath(new URL('../test/exit-fixture.ts', import.meta.url));
    const result = spawnSync(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, TIDELINE_T_PORT: '99999' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(78);
    expect(result.stderr.trim().split('\n')).toEqual([
      'config error: TIDELINE_T_PORT: must be a TCP port from 1 to 65535 (got "99999")',
    ]);
    expect(result.stdout).toBe('');
  });
});
