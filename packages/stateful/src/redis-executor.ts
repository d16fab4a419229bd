import { statefulSettings } from '@tideline/config';
import { type Redis, ReplyError } from 'ioredis';
import { type ComputeBatch, ComputeBatcher } from './compute-batching.ts';
import { StatefulChooserError, StatefulUnavailableError, toStatefulError } from './errors.ts';
import { keys } from './keys.ts';
import { closeRedis, openRedis, type RedisConnectionSpec } from './redis-connection.ts';
import { validate } from './schemas.ts';
import { type ScriptName, ScriptRunner } from './scripts.ts';
import type {
  AcquireConnectionOptions,
  ComputeLinkOptions,
  ComputeResult,
  ConnectionResult,
  LinkOptions,
  ReleaseConnectionOptions,
  RemoveLinkOptions,
  RemoveLinkWithIdOptions,
  RenewLeasesOptions,
  RenewLeasesResult,
  SetServiceStateOptions,
  StatefulExecutor,
  TrySetResult,
} from './types.ts';
import { WriteCoalescer } from './write-coalescing.ts';

export interface RedisStatefulExecutorOptions extends RedisConnectionSpec {
  /**
   * Calls issued in one event-loop turn leave as one socket write ({@link WriteCoalescer};
   * TIDELINE_STATEFUL_AUTO_PIPELINING). Default: that setting's default (on).
   */
  autoPipelining?: boolean | undefined;
  /**
   * Most uids one link_compute call links for the state-chooser computeLinkedPodIfAbsent calls of
   * one event-loop turn ({@link ComputeBatcher}; TIDELINE_STATEFUL_COMPUTE_BATCH_MAX; 1: a call
   * each). Default: that setting's default.
   */
  computeBatchMax?: number | undefined;
}

const SECOND_MS = 1000;
/** Replies of a server that does not accept the connection's credentials (they never quote them). */
const AUTH_REFUSED = /^(WRONGPASS|NOAUTH|NOPERM)\b|invalid password/;
/** Error codes of a failed TLS handshake (an unverifiable or mismatched server certificate, …). */
const TLS_FAILURE = /CERT|TLS|SSL/;

function pairsToMap(flat: unknown): Map<string, string> {
  const out = new Map<string, string>();
  const list = flat as string[];
  for (let i = 0; i + 1 < list.length; i += 2) out.set(list[i]!, list[i + 1]!);
  return out;
}

/**
 * The stateful executor on one Redis (standalone, or a primary with replicas): every script runs
 * on the one server that holds all keys (computeLinkedPodIfAbsent's reads a service's pods and
 * writes uids' links together, several hash slots). Calls fail fast while disconnected — there is no offline queue — and the
 * client reconnects in the background; scripts are reloaded transparently after a restart. With
 * auto-pipelining (the default) the calls of one event-loop turn share one socket write.
 */
export class RedisStatefulExecutor implements StatefulExecutor {
  private readonly redis: Redis;
  private readonly scripts: ScriptRunner;
  private readonly coalescer: WriteCoalescer | undefined;
  private readonly computeBatcher: ComputeBatcher;
  private started = false;
  private closed = false;
  /** The last error of the connection, so a refused AUTH is named instead of "Connection is closed". */
  private lastConnectionError: Error | undefined;

  constructor(options: RedisStatefulExecutorOptions) {
    this.redis = openRedis({
      ...options,
      onConnectionError: (error) => {
        this.lastConnectionError = error;
        options.onConnectionError?.(error);
      },
    });
    this.scripts = new ScriptRunner(this.redis);
    const autoPipelining = options.autoPipelining ?? statefulSettings.statefulAutoPipelining.default;
    this.coalescer = autoPipelining ? new WriteCoalescer(this.redis) : undefined;
    this.computeBatcher = new ComputeBatcher(
      (batch) => this.computeBatch(batch),
      // The setting always has a default; without one a call would go alone.
      options.computeBatchMax ?? statefulSettings.statefulComputeBatchMax.default ?? 1,
    );
    this.redis.on('ready', () => {
      if (this.started) this.scripts.loadAll().catch(() => {});
    });
  }

  /**
   * Connects and loads the scripts. Throws a StatefulUnavailableError when Redis cannot be
   * reached; the client keeps reconnecting in the background either way.
   */
  async connect(): Promise<void> {
    try {
      await this.redis.connect();
      await this.scripts.loadAll();
    } catch (error) {
      const refused = this.lastConnectionError;
      if (refused && AUTH_REFUSED.test(refused.message))
        throw new StatefulUnavailableError('offline', `Redis refused the credentials: ${refused.message}`, {
          cause: refused,
        });
      if (refused && TLS_FAILURE.test((refused as NodeJS.ErrnoException).code ?? ''))
        throw new StatefulUnavailableError('offline', `TLS towards Redis failed: ${refused.message}`, {
          cause: refused,
        });
      throw toStatefulError(error, '(connect)');
    } finally {
      this.started = true;
    }
  }

  /** True while connected and ready for commands. */
  healthy(): boolean {
    return this.redis.status === 'ready';
  }

  /** Closes the connection; later calls fail with StatefulUnavailableError (`closed`). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeRedis(this.redis);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async setServiceState(options: SetServiceStateOptions): Promise<void> {
    const a = validate('setServiceState', options);
    const key = keys.servicePods(a.ns, a.service);
    await this.run('service_state_set', key, [a.podId, a.state, (a.ttlSeconds ?? 0) * SECOND_MS]);
  }

  async getServiceState(ns: string, service: string): Promise<Map<string, string>> {
    const a = validate('getServiceState', { ns, service });
    return pairsToMap(await this.run('service_state_get', keys.servicePods(a.ns, a.service), []));
  }

  async removeServiceState(ns: string, service: string, podId: string): Promise<boolean> {
    const a = validate('removeServiceState', { ns, service, podId });
    return (await this.run('service_state_remove', keys.servicePods(a.ns, a.service), [a.podId])) === 1;
  }

  async setWorkloadState(ns: string, service: string, state: string): Promise<void> {
    const a = validate('setWorkloadState', { ns, service, state });
    const key = keys.workloads(a.ns);
    await this.command(key, () => this.redis.hset(key, a.service, a.state));
  }

  async getWorkloadState(ns: string, services: readonly string[]): Promise<Map<string, string>> {
    const a = validate('getWorkloadState', { ns, services });
    const key = keys.workloads(a.ns);
    const values = await this.command(key, () => this.redis.hmget(key, ...a.services));
    const out = new Map<string, string>();
    a.services.forEach((service, i) => {
      const value = values[i];
      if (value !== null && value !== undefined) out.set(service, value);
    });
    return out;
  }

  async setLinkedPod(options: LinkOptions): Promise<string> {
    const a = validate('setLinkedPod', options);
    const key = keys.links(a.ns, a.uid);
    return String(
      await this.run('link_set', key, [a.service, a.podId, a.persistSeconds * SECOND_MS, a.leaseMs ?? 0]),
    );
  }

  async trySetLinkedPod(options: LinkOptions): Promise<TrySetResult> {
    const a = validate('trySetLinkedPod', options);
    return this.tryLink(a, 'reclaim');
  }

  async setLinkedPodIfAbsent(options: LinkOptions): Promise<string> {
    const a = validate('setLinkedPodIfAbsent', options);
    return (await this.tryLink(a, 'reclaim')).podId;
  }

  async computeLinkedPodIfAbsent(options: ComputeLinkOptions): Promise<ComputeResult | undefined> {
    const a = validate('computeLinkedPodIfAbsent', options);
    const linksKey = keys.links(a.ns, a.uid);
    const podsKey = keys.servicePods(a.ns, a.service);
    const persistMs = a.persistSeconds * SECOND_MS;
    const leaseMs = a.leaseMs ?? 0;
    const choose = options.choose;
    if (typeof choose !== 'function') {
      const shape = { podsKey, service: a.service, persistMs, leaseMs, states: choose.states };
      let answer: [number, string] | null;
      try {
        answer = (await this.computeBatcher.add(shape, linksKey, a.uid)) as [number, string] | null;
      } catch (error) {
        throw toStatefulError(error, linksKey);
      }
      if (answer === null) return undefined;
      if (answer[0] === -1) throw toStatefulError(new ReplyError(String(answer[1])), linksKey);
      return { podId: String(answer[1]), created: answer[0] === 1 };
    }
    const reply = (await this.command(linksKey, () =>
      this.scripts.run(
        'link_compute',
        [podsKey, linksKey],
        [a.service, persistMs, leaseMs, 'candidates', 0, a.uid],
      ),
    )) as [number, ...string[]];
    if (reply[0] === 0) return { podId: String(reply[1]), created: false };
    const pods = pairsToMap(reply.slice(1));
    const chosen = await choose(pods, a.uid);
    if (chosen === undefined) return undefined;
    if (!pods.has(chosen)) {
      throw new StatefulChooserError(
        `computeLinkedPodIfAbsent: the chooser returned ${JSON.stringify(chosen)}, not one of the ${pods.size} live pods it was given`,
      );
    }
    const result = await this.tryLink({ ...a, podId: chosen }, 'absent');
    return { podId: result.podId, created: result.ok };
  }

  async getLinkedPod(ns: string, uid: string, service: string): Promise<string | undefined> {
    const a = validate('getLinkedPod', { ns, uid, service });
    return this.readLink(a.ns, a.uid, a.service);
  }

  async removeLinkedPod(options: RemoveLinkOptions): Promise<boolean> {
    const a = validate('removeLinkedPod', options);
    const key = keys.links(a.ns, a.uid);
    return (await this.run('link_remove', key, [a.service, a.persistSeconds * SECOND_MS, ''])) === 1;
  }

  async removeLinkedPodWithId(options: RemoveLinkWithIdOptions): Promise<boolean> {
    const a = validate('removeLinkedPodWithId', options);
    const key = keys.links(a.ns, a.uid);
    const window = a.persistSeconds === undefined ? '' : a.persistSeconds * SECOND_MS;
    return (await this.run('link_remove', key, [a.service, window, a.podId])) === 1;
  }

  async getLinkService(ns: string, uid: string): Promise<Map<string, string>> {
    const a = validate('getLinkService', { ns, uid });
    return pairsToMap(await this.run('link_all', keys.links(a.ns, a.uid), []));
  }

  async renewLeases(options: RenewLeasesOptions): Promise<RenewLeasesResult> {
    const a = validate('renewLeases', options);
    const linksKey = keys.links(a.ns, a.uid);
    const connsKey = keys.connections(a.ns, a.uid);
    const reply = (await this.command(linksKey, () =>
      this.scripts.run(
        'lease_renew',
        [linksKey, connsKey],
        [
          a.link?.service ?? '',
          a.podId,
          a.leaseMs,
          (a.link?.persistSeconds ?? 0) * SECOND_MS,
          ...a.connectionIds,
        ],
      ),
    )) as [number, number];
    return { linked: reply[0] === 1, connections: Number(reply[1]) };
  }

  async acquireConnection(options: AcquireConnectionOptions): Promise<ConnectionResult> {
    const a = validate('acquireConnection', options);
    const key = keys.connections(a.ns, a.uid);
    const reply = (await this.run('conn_acquire', key, [a.connectionId, a.podId, a.max, a.leaseMs])) as [
      number,
      number,
    ];
    return { ok: reply[0] === 1, count: Number(reply[1]) };
  }

  async releaseConnection(options: ReleaseConnectionOptions): Promise<boolean> {
    const a = validate('releaseConnection', options);
    return (await this.run('conn_release', keys.connections(a.ns, a.uid), [a.connectionId])) === 1;
  }

  async countConnections(ns: string, uid: string): Promise<Map<string, number>> {
    const a = validate('countConnections', { ns, uid });
    const flat = (await this.run('conn_count', keys.connections(a.ns, a.uid), [])) as (string | number)[];
    const out = new Map<string, number>();
    for (let i = 0; i + 1 < flat.length; i += 2) out.set(String(flat[i]), Number(flat[i + 1]));
    return out;
  }

  private async tryLink(
    a: { ns: string; uid: string; service: string; podId: string; persistSeconds: number; leaseMs?: number },
    mode: 'reclaim' | 'absent',
  ): Promise<TrySetResult> {
    const key = keys.links(a.ns, a.uid);
    const reply = (await this.run('link_try_set', key, [
      a.service,
      a.podId,
      a.persistSeconds * SECOND_MS,
      mode,
      a.leaseMs ?? 0,
    ])) as [number, string];
    return { ok: reply[0] === 1, podId: String(reply[1]) };
  }

  private async readLink(ns: string, uid: string, service: string): Promise<string | undefined> {
    const pod = await this.run('link_get', keys.links(ns, uid), [service]);
    return pod === null ? undefined : String(pod);
  }

  /**
   * One link_compute call (mode 'pick') for every uid of `batch`: their answers, in order. A
   * failure of the whole call is left for each caller to type with its own key.
   */
  private computeBatch(batch: ComputeBatch): Promise<readonly unknown[]> {
    if (this.closed) throw new StatefulUnavailableError('closed', 'the stateful executor was closed');
    this.coalescer?.hold();
    const scriptKeys = [batch.podsKey];
    const args: (string | number)[] = [
      batch.service,
      batch.persistMs,
      batch.leaseMs,
      'pick',
      batch.states.length,
    ];
    args.push(...batch.states);
    for (const call of batch.calls) {
      scriptKeys.push(call.linksKey);
      args.push(call.uid);
    }
    return this.scripts.run('link_compute', scriptKeys, args) as Promise<unknown[]>;
  }

  private run(name: ScriptName, key: string, args: readonly (string | number)[]): Promise<unknown> {
    return this.command(key, () => this.scripts.run(name, [key], args));
  }

  private async command<T>(key: string, send: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StatefulUnavailableError('closed', 'the stateful executor was closed');
    this.coalescer?.hold();
    try {
      return await send();
    } catch (error) {
      throw toStatefulError(error, key);
    }
  }
}
