import rateLimit from '@fastify/rate-limit';
import type { TokenVerifier } from '@tideline/auth';
import { bearerPrincipal, HttpError } from '@tideline/runtime';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RedisWriteCounter } from '../adapters/redis-write-counter.ts';

export interface WriteRateLimitOptions {
  /** Counts the writes; its `max` and `windowMs` are the limit. */
  counter: RedisWriteCounter;
  verifier: TokenVerifier;
}

/** Route options that put a route under the write rate limit (see {@link installWriteRateLimit}). */
export const WRITE_RATE_LIMITED = { config: { rateLimit: {} } } as const;

type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void;

/**
 * Whose writes a request counts as: the subject of a valid bearer token, else the client address
 * (requests without a valid token are refused later, but still count, so a flood of them is
 * limited too). The token is verified here, so a forged `sub` never names another subject's count.
 */
async function subjectOf(request: FastifyRequest, verifier: TokenVerifier): Promise<string> {
  // Verified once per request: the route's scope check reuses this verification.
  const verifying = bearerPrincipal(request, verifier);
  if (verifying) {
    try {
      return `sub:${(await verifying).uid}`;
    } catch {
      // not a valid token: counted by address
    }
  }
  return `ip:${request.ip}`;
}

/**
 * The write rate limit (`@fastify/rate-limit`): each subject may make `max` writes per window,
 * across all routes given {@link WRITE_RATE_LIMITED} and all replicas (the counts live in Redis;
 * a busy subject's are reserved ahead, see WriteQuota).
 * One more answers 429 `RATE_LIMITED` with `Retry-After` (seconds) before any handler runs, so it
 * writes nothing. While Redis is unreachable writes are let through (fail open; each one counted
 * in a metric and logged): losing the limit for a while is judged better than losing every write.
 * Must be awaited before the routes it limits are added.
 */
export async function installWriteRateLimit(
  http: FastifyInstance,
  options: WriteRateLimitOptions,
): Promise<void> {
  const { counter } = options;
  const { max, windowMs } = counter;
  // The plugin's store interface; every route shares one count per subject (child returns itself).
  class SharedWriteStore {
    incr(key: string, callback: Callback): void {
      counter.count(key).then(
        ({ current, ttlMs }) => callback(null, { current, ttl: ttlMs }),
        (error: Error) => callback(error),
      );
    }
    child(): this {
      return this;
    }
  }
  await http.register(rateLimit, {
    global: false,
    max,
    timeWindow: windowMs,
    hook: 'onRequest',
    store: SharedWriteStore,
    skipOnError: true,
    keyGenerator: (request) => subjectOf(request, options.verifier),
    errorResponseBuilder: (_request, context) =>
      new HttpError(
        'RATE_LIMITED',
        `too many writes: at most ${context.max} per ${windowMs} ms; retry in ${context.after}`,
      ),
  });
}
