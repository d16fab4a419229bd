import { createAdapter } from '@socket.io/redis-adapter';
import type { RedisConnectionOptions } from '@tideline/config';
import type { Logger } from '@tideline/runtime';
import { Redis } from 'ioredis';

export interface RedisRoomsOptions {
  url: string;
  /** Credentials and TLS (`redisConnectionOptions` of @tideline/config). */
  connection?: RedisConnectionOptions;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  /** Shown by `CLIENT LIST`. */
  connectionName: string;
  logger: Logger;
}

/**
 * The two Redis connections of the Socket.IO Redis adapter, through which rooms span every
 * gateway. No delivery path uses it: feeds and targeted pushes are consumed by every gateway and
 * emitted to its own sockets only (`io.local`). While Redis is away, cross-gateway room
 * broadcasts fail fast (and are logged) instead of queueing.
 */
export class RedisRooms {
  private constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
  ) {}

  static async connect(options: RedisRoomsOptions): Promise<RedisRooms> {
    const common = {
      ...options.connection,
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs,
      connectionName: options.connectionName,
    };
    const pub = new Redis(options.url, {
      ...common,
      enableOfflineQueue: false,
      commandTimeout: options.commandTimeoutMs,
    });
    const sub = new Redis(options.url, common);
    let lastLoggedMs = 0;
    const onError = (error: Error) => {
      // ioredis reports each failed reconnect attempt; one line a second is enough.
      const now = Date.now();
      if (now - lastLoggedMs < 1_000) return;
      lastLoggedMs = now;
      options.logger.warn({ err: error }, 'redis (socket.io adapter) error');
    };
    pub.on('error', onError);
    sub.on('error', onError);
    // The adapter fires publishes without handling their failure; a failed one is logged, never an unhandled rejection.
    const publish = pub.publish.bind(pub) as (
      channel: string | Buffer,
      message: string | Buffer,
    ) => Promise<number>;
    (pub as unknown as { publish: typeof publish }).publish = (channel, message) =>
      publish(channel, message).catch((error: Error) => {
        onError(error);
        return 0;
      });
    try {
      await Promise.all([pub.connect(), sub.connect()]);
    } catch (error) {
      pub.disconnect();
      sub.disconnect();
      throw error;
    }
    return new RedisRooms(pub, sub);
  }

  /** True while both connections are up. */
  get ready(): boolean {
    return this.pub.status === 'ready' && this.sub.status === 'ready';
  }

  adapter(options: { key: string; requestsTimeoutMs: number }) {
    return createAdapter(this.pub, this.sub, {
      key: options.key,
      requestsTimeout: options.requestsTimeoutMs,
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.pub.quit(), this.sub.quit()]);
    this.pub.disconnect();
    this.sub.disconnect();
  }
}
