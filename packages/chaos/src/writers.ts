import type { Rng } from './rng.ts';

/** One write a writer sent, and how website-api answered. */
export interface WriteRecord {
  writer: number;
  op: 'add' | 'update' | 'delete';
  /** The website written (for a refused create: 0). */
  websiteId: number;
  /** Acknowledged (2xx). */
  ok: boolean;
  /** The HTTP status, or 0 when no answer came (connection refused, reset). */
  status: number;
  at: number;
}

export interface WritersOptions {
  websiteApiUrl: string;
  /** A token with websites:write. */
  token: string;
  lineGroupId: number;
  writers: number;
  /** Writes to send in all (acknowledged or not). */
  total: number;
  intervalMs: number;
  rng: Rng;
  /** Unique per run: domains are `<prefix>-<n>.chaos.example.com`. */
  domainPrefix: string;
  /** Called after each write (to trigger a fault at a point of the run, or hold the writers). */
  afterWrite?: (sent: number) => Promise<void> | void;
  /** Stop early. */
  signal?: AbortSignal;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * W concurrent writers on website-api's HTTP API: creates, updates (https flag, status, domains)
 * and deletes in a mix drawn from the seed, each write recorded with its answer. A refused write
 * (503 while PostgreSQL is cut, a reset connection while website-api restarts) is recorded and
 * counts towards the total; the writers never retry a write themselves.
 */
export async function runWriters(options: WritersOptions): Promise<WriteRecord[]> {
  const records: WriteRecord[] = [];
  const live = new Set<number>();
  let sent = 0;
  let domainSeq = 0;
  const call = async (path: string, body: unknown): Promise<{ status: number; json: unknown }> => {
    try {
      const response = await fetch(`${options.websiteApiUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = await response.json().catch(() => undefined);
      return { status: response.status, json };
    } catch {
      return { status: 0, json: undefined };
    }
  };
  const writer = async (n: number, rng: Rng) => {
    while (sent < options.total && !options.signal?.aborted) {
      sent += 1;
      const ids = [...live];
      const roll = rng.next();
      const at = performance.now();
      if (ids.length < 5 || roll < 0.4) {
        const domain = `${options.domainPrefix}-${++domainSeq}.chaos.example.com`;
        const { status, json } = await call('/api/v1/websites/create', {
          domains: [`www.${domain}`, domain],
          line_group_id: options.lineGroupId,
          https_enabled: rng.next() < 0.5,
        });
        const id = status === 201 ? Number((json as { data: { website_id: number } }).data.website_id) : 0;
        if (id) live.add(id);
        records.push({ writer: n, op: 'add', websiteId: id, ok: status === 201, status, at });
      } else if (roll < 0.85) {
        const id = rng.pick(ids);
        // A new domain every time: an update that changes nothing writes no event, and the checker
        // holds every acknowledged write to one event in the log.
        const domain = `${options.domainPrefix}-${++domainSeq}.chaos.example.com`;
        const { status } = await call('/api/v1/websites/update', {
          website_id: id,
          domains: [domain],
          https_enabled: rng.next() < 0.5,
          status: rng.pick(['active', 'paused'] as const),
        });
        records.push({ writer: n, op: 'update', websiteId: id, ok: status === 200, status, at });
      } else {
        const id = rng.pick(ids);
        live.delete(id);
        const { status } = await call('/api/v1/websites/delete', { website_id: id });
        records.push({ writer: n, op: 'delete', websiteId: id, ok: status === 200, status, at });
      }
      await options.afterWrite?.(sent);
      if (options.intervalMs > 0) await sleep(options.intervalMs);
    }
  };
  await Promise.all(Array.from({ length: options.writers }, (_, i) => writer(i + 1, options.rng.fork())));
  return records;
}
