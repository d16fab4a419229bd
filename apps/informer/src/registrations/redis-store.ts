import { TidelineError } from '@tideline/contracts';
import { closeRedis, openRedis, type RedisConnectionSpec } from '@tideline/stateful';
import type { Redis } from 'ioredis';
import { type RegistrationCipher, RegistrationDecryptError } from './cipher.ts';
import type { RegistrationStore, StoredRegistration } from './store.ts';

export interface RedisRegistrationStoreOptions extends RedisConnectionSpec {
  /** The Redis hash holding one sealed record per cluster name. */
  key: string;
  cipher: RegistrationCipher;
  /**
   * A record that cannot be decrypted is reported here and left out of `list()`; without this
   * callback `list()` throws the error.
   */
  onUnreadable?: (error: RegistrationDecryptError) => void;
}

/** Redis did not answer, or is not reachable. Nothing was changed. */
export class RegistrationStoreUnavailableError extends TidelineError {
  override readonly name = 'RegistrationStoreUnavailableError';
  constructor(operation: string, options?: { cause?: unknown }) {
    super('UNAVAILABLE', `the registration store (Redis) is unavailable: ${operation} failed`, options);
  }
}

/** Replaces a field only if it still holds what was read (a re-seal never overwrites a newer put). */
const RESEAL_SCRIPT = `if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
return -1`;

interface SealedBody {
  kubeconfig: string;
  context?: string;
  registeredAt: string;
}

function isSealedBody(value: unknown): value is SealedBody {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v['kubeconfig'] === 'string' &&
    typeof v['registeredAt'] === 'string' &&
    (v['context'] === undefined || typeof v['context'] === 'string')
  );
}

/**
 * Runtime registrations in one Redis hash: field = cluster name, value = the kubeconfig, context
 * and registration time sealed with AES-256-GCM ({@link RegistrationCipher}; the name is the
 * additional authenticated data). Connection handling follows packages/stateful: no offline
 * queue, a command timeout, reconnects with doubling backoff; calls fail at once while Redis is
 * unreachable.
 */
export class RedisRegistrationStore implements RegistrationStore {
  private readonly redis: Redis;
  private closed = false;

  constructor(private readonly options: RedisRegistrationStoreOptions) {
    this.redis = openRedis(options);
  }

  /** Connects; throws RegistrationStoreUnavailableError when Redis cannot be reached. */
  async connect(): Promise<void> {
    try {
      await this.redis.connect();
    } catch (error) {
      throw new RegistrationStoreUnavailableError('connect', { cause: error });
    }
  }

  healthy(): boolean {
    return this.redis.status === 'ready';
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeRedis(this.redis);
  }

  async put(registration: StoredRegistration): Promise<void> {
    const body: SealedBody = {
      kubeconfig: registration.kubeconfig,
      registeredAt: registration.registeredAt,
      ...(registration.context !== undefined ? { context: registration.context } : {}),
    };
    const sealed = this.options.cipher.seal(registration.name, JSON.stringify(body));
    await this.call('put', () => this.redis.hset(this.options.key, registration.name, sealed));
  }

  async remove(name: string): Promise<void> {
    await this.call('remove', () => this.redis.hdel(this.options.key, name));
  }

  /**
   * Every readable registration, sorted by name. A record sealed with the previous key is sealed
   * again with the current one (unless it changed meanwhile).
   */
  async list(): Promise<StoredRegistration[]> {
    const records = await this.call('list', () => this.redis.hgetall(this.options.key));
    const out: StoredRegistration[] = [];
    for (const [name, sealed] of Object.entries(records).sort(([a], [b]) => (a < b ? -1 : 1))) {
      let body: SealedBody;
      try {
        body = this.open(name, sealed);
      } catch (error) {
        if (!(error instanceof RegistrationDecryptError) || !this.options.onUnreadable) throw error;
        this.options.onUnreadable(error);
        continue;
      }
      out.push({ name, ...body });
      if (this.options.cipher.keyIdOf(sealed) !== this.options.cipher.currentKeyId) {
        const resealed = this.options.cipher.seal(name, JSON.stringify(body));
        await this.call('re-seal', () =>
          this.redis.eval(RESEAL_SCRIPT, 1, this.options.key, name, sealed, resealed),
        );
      }
    }
    return out;
  }

  /** Decrypts one record; RegistrationDecryptError when it cannot be read. */
  private open(name: string, sealed: string): SealedBody {
    const plaintext = this.options.cipher.open(name, sealed);
    let body: unknown;
    try {
      body = JSON.parse(plaintext);
    } catch {
      body = undefined;
    }
    if (!isSealedBody(body))
      throw new RegistrationDecryptError(name, 'the decrypted record is not a registration');
    return body;
  }

  private async call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    if (this.closed) throw new RegistrationStoreUnavailableError(operation);
    try {
      return await run();
    } catch (error) {
      throw new RegistrationStoreUnavailableError(operation, { cause: error });
    }
  }
}
