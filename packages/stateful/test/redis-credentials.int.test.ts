import { randomUUID } from 'node:crypto';
import { loadConfig, redisSettings, statefulSettings } from '@tideline/config';
import { DisposableServer, type TestCertificates, testCertificates } from '@tideline/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStatefulExecutor } from '../src/factory.ts';
import type { RedisStatefulExecutor } from '../src/redis-executor.ts';
import { uniqueNs } from './fixtures.ts';

const PASSWORD = `pw-${randomUUID()}`;
const ACL_USER = 'tideline';
const ACL_PASSWORD = `acl-${randomUUID()}`;
const WRONG = `wrong-${randomUUID()}`;

/** The executor the way a service builds it: from the TIDELINE_* environment. */
function executorFromEnv(env: Record<string, string>): RedisStatefulExecutor {
  const config = loadConfig(
    { ...redisSettings, ...statefulSettings },
    {
      env: {
        TIDELINE_STATEFUL_CONNECT_TIMEOUT_MS: '1000',
        TIDELINE_REDIS_COMMAND_TIMEOUT_MS: '1000',
        ...env,
      },
    },
  );
  return createStatefulExecutor({ config });
}

/** The error of `connect()` plus one command, as the service would see it. */
async function refusal(executor: RedisStatefulExecutor): Promise<Error> {
  try {
    await executor.connect();
    await executor.getServiceState(uniqueNs(), 'svc');
  } catch (error) {
    return error as Error;
  } finally {
    await executor.close();
  }
  throw new Error('expected Redis to refuse the executor');
}

/** Everything an error would put in a log line: message, cause chain, stack. */
function printed(error: Error): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    parts.push(current.message, current.stack ?? '');
    current = current.cause;
  }
  return parts.join('\n');
}

async function roundTrip(executor: RedisStatefulExecutor): Promise<Map<string, string>> {
  try {
    await executor.connect();
    const ns = uniqueNs();
    await executor.setServiceState({ ns, service: 'svc', podId: 'pod-1', state: 'ready' });
    return await executor.getServiceState(ns, 'svc');
  } finally {
    await executor.close();
  }
}

describe('Redis that requires a password and an ACL user', () => {
  let server: DisposableServer;
  beforeAll(async () => {
    server = await DisposableServer.redis({
      requirepass: PASSWORD,
      aclUser: { name: ACL_USER, pass: ACL_PASSWORD },
    });
  });
  afterAll(async () => {
    await server?.[Symbol.asyncDispose]();
  });

  it('redis - a client without credentials cannot run a command (NOAUTH)', async () => {
    const raw = new Redis(server.url, {
      lazyConnect: true,
      enableReadyCheck: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    raw.on('error', () => undefined);
    try {
      await raw.connect();
      await expect(raw.set('tl:forged', 'x')).rejects.toThrow(/NOAUTH/);
    } finally {
      raw.disconnect();
    }
    const error = await refusal(executorFromEnv({ TIDELINE_REDIS_URL: server.url }));
    expect(error.message).toMatch(/^Redis refused the credentials: NOAUTH/);
  });

  it('redis - a wrong password is refused with an error that carries neither password', async () => {
    const error = await refusal(
      executorFromEnv({ TIDELINE_REDIS_URL: server.url, TIDELINE_REDIS_PASSWORD: WRONG }),
    );
    expect(printed(error)).toMatch(/^Redis refused the credentials: WRONGPASS/);
    expect(printed(error)).not.toContain(WRONG);
    expect(printed(error)).not.toContain(PASSWORD);
  });

  it('redis - a wrong password in TIDELINE_REDIS_URL is refused and never printed', async () => {
    const error = await refusal(
      executorFromEnv({ TIDELINE_REDIS_URL: `redis://:${WRONG}@127.0.0.1:${server.port}` }),
    );
    expect(printed(error)).toMatch(/^Redis refused the credentials: WRONGPASS/);
    expect(printed(error)).not.toContain(WRONG);
  });

  it('redis - the configured requirepass password runs commands', async () => {
    const state = await roundTrip(
      executorFromEnv({ TIDELINE_REDIS_URL: server.url, TIDELINE_REDIS_PASSWORD: PASSWORD }),
    );
    expect(state.get('pod-1')).toBe('ready');
  });

  it('redis - the configured ACL user and password run commands; a password in the URL does too', async () => {
    const state = await roundTrip(
      executorFromEnv({
        TIDELINE_REDIS_URL: server.url,
        TIDELINE_REDIS_USERNAME: ACL_USER,
        TIDELINE_REDIS_PASSWORD: ACL_PASSWORD,
      }),
    );
    expect(state.get('pod-1')).toBe('ready');
    const fromUrl = await roundTrip(
      executorFromEnv({ TIDELINE_REDIS_URL: `redis://${ACL_USER}:${ACL_PASSWORD}@127.0.0.1:${server.port}` }),
    );
    expect(fromUrl.get('pod-1')).toBe('ready');
  });

  it("redis - the ACL user with the default user's password is refused", async () => {
    const error = await refusal(
      executorFromEnv({
        TIDELINE_REDIS_URL: server.url,
        TIDELINE_REDIS_USERNAME: ACL_USER,
        TIDELINE_REDIS_PASSWORD: PASSWORD,
      }),
    );
    expect(error.message).toMatch(/^Redis refused the credentials: WRONGPASS/);
    expect(printed(error)).not.toContain(PASSWORD);
  });
});

describe('Redis over TLS that requires a password', () => {
  let server: DisposableServer;
  let certificates: TestCertificates;
  let otherAuthority: TestCertificates;
  beforeAll(async () => {
    certificates = testCertificates();
    otherAuthority = testCertificates();
    server = await DisposableServer.redis({ requirepass: PASSWORD, tls: certificates });
  });
  afterAll(async () => {
    await server?.[Symbol.asyncDispose]();
    await certificates?.[Symbol.asyncDispose]();
    await otherAuthority?.[Symbol.asyncDispose]();
  });

  it('redis - rediss:// with the configured CA verifies the server, then the password runs commands', async () => {
    expect(server.url).toMatch(/^rediss:/);
    const state = await roundTrip(
      executorFromEnv({
        TIDELINE_REDIS_URL: server.url,
        TIDELINE_REDIS_TLS_CA_FILE: certificates.caFile,
        TIDELINE_REDIS_PASSWORD: PASSWORD,
      }),
    );
    expect(state.get('pod-1')).toBe('ready');
  });

  it('redis - a server whose certificate the configured CA did not sign is refused (no password sent to an impostor)', async () => {
    const error = await refusal(
      executorFromEnv({
        TIDELINE_REDIS_URL: server.url,
        TIDELINE_REDIS_TLS_CA_FILE: otherAuthority.caFile,
        TIDELINE_REDIS_PASSWORD: PASSWORD,
      }),
    );
    expect(error.message).toMatch(/^TLS towards Redis failed: .*certificate/i);
    expect(printed(error)).not.toContain(PASSWORD);
  });
});
