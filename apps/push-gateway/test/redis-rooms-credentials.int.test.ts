import { randomUUID } from 'node:crypto';
import { loadConfig, redisConnectionOptions, redisSettings } from '@tideline/config';
import { createLogger } from '@tideline/runtime';
import { DisposableServer } from '@tideline/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisRooms } from '../src/adapters/redis-rooms.ts';

const PASSWORD = `pw-${randomUUID()}`;
const CONNECT_TIMEOUT_MS = 1_000;

describe('the Socket.IO adapter on a Redis that requires a password', () => {
  let server: DisposableServer;
  beforeAll(async () => {
    server = await DisposableServer.redis({ requirepass: PASSWORD });
  });
  afterAll(async () => {
    await server?.[Symbol.asyncDispose]();
  });

  function connect(env: Record<string, string>) {
    const config = loadConfig(redisSettings, { env: { TIDELINE_REDIS_URL: server.url, ...env } });
    return RedisRooms.connect({
      url: config.redisUrl,
      connection: redisConnectionOptions(config),
      commandTimeoutMs: config.redisCommandTimeoutMs,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      connectionName: 'credentials-test',
      logger: createLogger({ service: 'test', level: 'silent' }),
    });
  }

  it('redis - a gateway without the password cannot join the shared rooms', async () => {
    await expect(connect({})).rejects.toThrow();
  });

  it('redis - the configured password connects both adapter connections', async () => {
    const rooms = await connect({ TIDELINE_REDIS_PASSWORD: PASSWORD });
    try {
      expect(rooms.ready).toBe(true);
    } finally {
      await rooms.close();
    }
  });
});
