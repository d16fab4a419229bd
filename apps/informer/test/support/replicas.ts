import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  CLUSTERS_ADMIN_API,
  type ClusterStatus,
  ClusterStatuses,
  isClusterEvent,
  type NodeView,
} from '@tideline/contracts';
import {
  eventually,
  type NodeEventLog,
  removeStreams,
  type TestCluster,
  testToken,
} from '@tideline/test-support';
import { Redis } from 'ioredis';
import { changedFields, toNodeView } from '../../src/domain/node-view.ts';
import { testInformerEnv } from './informer-env.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const REDIS_URL = process.env['TIDELINE_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
/** How long a child process may take to transpile and start listening. */
const CHILD_START_TIMEOUT_MS = 60_000;

/**
 * Lease settings of the replica tests: a short TTL so failovers are quick, renewals at a sixth
 * of it (the rule asks for at most a third) so a busy test machine does not lapse live leases.
 */
export const TEST_LEASE = { ttlMs: 3_000, renewIntervalMs: 500 } as const;

export interface InformerProcess {
  readonly id: string;
  readonly url: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly lines: string[];
  signal(signal: NodeJS.Signals): void;
}

/** Informer replicas as separate processes (`tsx src/main.ts`), sharing clusters under one bus prefix. */
export class InformerReplicas {
  readonly namespace = `ha${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  readonly processes: InformerProcess[] = [];
  /** Clusters registered at runtime through {@link register} (shared by the replicas through the store). */
  readonly registered: string[] = [];
  private readonly token = testToken('ha-test', ['clusters:admin']);

  constructor(
    readonly prefix: string,
    private readonly clusters: readonly TestCluster[],
  ) {}

  env(id: string): Record<string, string> {
    return testInformerEnv({
      prefix: this.prefix,
      clusters: this.clusters,
      env: {
        TIDELINE_LOG_LEVEL: 'info',
        TIDELINE_INSTANCE_ID: id,
        TIDELINE_INFORMER_SHARDING: 'true',
        TIDELINE_INFORMER_LEASE_TTL_MS: String(TEST_LEASE.ttlMs),
        TIDELINE_INFORMER_LEASE_RENEW_INTERVAL_MS: String(TEST_LEASE.renewIntervalMs),
        // A pause must not look like a stalled watch: the tests pause replicas on purpose.
        TIDELINE_INFORMER_WATCHDOG_MS: '120000',
        TIDELINE_INFORMER_WATCH_IDLE_TIMEOUT_MS: '120000',
        TIDELINE_REDIS_URL: REDIS_URL,
        TIDELINE_STATEFUL_NAMESPACE: this.namespace,
      },
    });
  }

  /** Starts replica `id` and waits until it listens. */
  async start(id: string): Promise<InformerProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      cwd: REPO_ROOT,
      env: { PATH: process.env['PATH'] ?? '', ...this.env(id) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`informer ${id} did not start:\n${lines.join('\n')}`)),
        CHILD_START_TIMEOUT_MS,
      );
      createInterface({ input: child.stdout! }).on('line', (line) => {
        lines.push(line);
        try {
          const entry = JSON.parse(line) as { msg?: string; port?: number };
          if (entry.msg === 'started' && typeof entry.port === 'number') {
            clearTimeout(timer);
            resolve(entry.port);
          }
        } catch {
          // not a log line
        }
      });
      createInterface({ input: child.stderr! }).on('line', (line) => lines.push(line));
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`informer ${id} exited (${code}) before it started:\n${lines.join('\n')}`));
      });
    });
    const handle: InformerProcess = {
      id,
      url: `http://127.0.0.1:${port}`,
      child,
      exited,
      lines,
      signal: (signal) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      },
    };
    this.processes.push(handle);
    return handle;
  }

  /** GET /api/v1/clusters of one replica. */
  async statuses(p: InformerProcess): Promise<ClusterStatus[]> {
    const response = await fetch(`${p.url}${CLUSTERS_ADMIN_API.list}`, {
      headers: { authorization: `Bearer ${this.token}` },
    });
    if (!response.ok) throw new Error(`${p.id}: GET clusters answered ${response.status}`);
    return ClusterStatuses.parse(await response.json()).data;
  }

  /** The clusters a replica runs and watches, by its own operator view. */
  async running(p: InformerProcess): Promise<string[]> {
    const statuses = await this.statuses(p);
    return statuses.filter((s) => s.state === 'watching' && s.owner === p.id && s.synced).map((s) => s.name);
  }

  /**
   * Cluster → replica, once every cluster is run (watching, synced) by exactly one of `replicas`
   * and no replica runs one it does not hold; undefined while that is not so.
   */
  async ownership(replicas: readonly InformerProcess[]): Promise<Map<string, string> | undefined> {
    const owners = new Map<string, string>();
    for (const p of replicas) {
      for (const name of await this.running(p)) {
        if (owners.has(name)) return undefined;
        owners.set(name, p.id);
      }
    }
    return owners.size === this.clusters.length + this.registered.length ? owners : undefined;
  }

  /**
   * Waits until {@link ownership} is settled on `expected` (cluster → the replica the hashing
   * picks over `replicas`: membership changes converge there) and returns it.
   */
  async settledOwnership(
    replicas: readonly InformerProcess[],
    timeoutMs: number,
    expected: (cluster: string) => string | undefined,
  ): Promise<Map<string, string>> {
    let owners: Map<string, string> | undefined;
    await eventually(async () => {
      owners = await this.ownership(replicas);
      return owners !== undefined && [...owners].every(([cluster, owner]) => expected(cluster) === owner);
    }, timeoutMs);
    return owners!;
  }

  /** POST /api/v1/clusters/register on one replica, with an inline kubeconfig. */
  async register(p: InformerProcess, name: string, kubeconfig: string): Promise<number> {
    const response = await fetch(`${p.url}${CLUSTERS_ADMIN_API.register}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name, kubeconfig }),
    });
    if (response.status === 201) this.registered.push(name);
    return response.status;
  }

  /** Every value the replicas' registration store holds in Redis, as one string. */
  async storedRegistrations(): Promise<string> {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      const all = await redis.hgetall(`${this.namespace}:informer:${this.prefix}:registrations`);
      return JSON.stringify(all);
    } finally {
      redis.disconnect();
    }
  }

  /** Value of a counter or gauge in a replica's /metrics (0 when absent). */
  async metric(p: InformerProcess, name: string, labels: Record<string, string>): Promise<number> {
    const text = await (await fetch(`${p.url}/metrics`)).text();
    let total = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(`${name}{`)) continue;
      const matches = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
      if (matches) total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return total;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const p of this.processes) {
      p.signal('SIGCONT');
      p.signal('SIGKILL');
    }
    await Promise.all(this.processes.map((p) => p.exited));
    await removeStreams(this.prefix);
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      const found = [
        ...(await redis.keys(`tl:{${this.namespace}:*`)),
        ...(await redis.keys(`${this.namespace}:*`)),
      ];
      if (found.length > 0) await redis.del(...found);
    } finally {
      redis.disconnect();
    }
  }
}

/**
 * What a browser would see of one cluster, checked from the bus history: ids 1, 2, 3, … without
 * gap or duplicate; every event a real change (an `added` of a node not present, an `updated`
 * that changes a field, a `deleted` of a present node). Returns the violations (empty when none)
 * and the node views the history ends with.
 */
export function historyOf(
  log: NodeEventLog,
  cluster: string,
): { violations: string[]; views: Map<string, NodeView>; lastEventId: number } {
  const violations: string[] = [];
  const views = new Map<string, NodeView>();
  let last = 0;
  for (const event of log.of(cluster)) {
    if (event.eventId !== last + 1) violations.push(`id ${event.eventId} after ${last}`);
    last = Math.max(last, event.eventId);
    if (isClusterEvent(event)) {
      views.clear();
      continue;
    }
    const { name, node } = event.data;
    const before = views.get(name);
    if (event.type === 'added') {
      if (before) violations.push(`${event.eventId}: added ${name} that was present`);
      views.set(name, node);
    } else if (event.type === 'updated') {
      if (!before) violations.push(`${event.eventId}: updated ${name} that was absent`);
      else if (changedFields(before, node).length === 0)
        violations.push(`${event.eventId}: updated ${name} with no change`);
      views.set(name, node);
    } else {
      if (!before) violations.push(`${event.eventId}: deleted ${name} that was absent`);
      views.delete(name);
    }
  }
  return { violations, views, lastEventId: last };
}

/** Differences between the views a history ends with and the API server's nodes (empty: equal). */
export function differencesFromServer(views: Map<string, NodeView>, cluster: TestCluster): string[] {
  const out: string[] = [];
  const names = new Set(cluster.server.nodeNames());
  for (const name of names) {
    const node = cluster.server.getNode(name)!;
    const view = views.get(name);
    if (!view) out.push(`${name} missing`);
    else {
      const changed = changedFields(view, toNodeView(node));
      if (changed.length > 0) out.push(`${name} differs in ${changed.join(',')}`);
    }
  }
  for (const name of views.keys()) if (!names.has(name)) out.push(`${name} deleted on the server`);
  return out;
}
