import type { Redis } from 'ioredis';
import { StatefulValidationError, toStatefulError } from './errors.ts';
import { closeRedis, openRedis, type RedisConnectionSpec } from './redis-connection.ts';

/**
 * Membership and per-cluster ownership leases of informer replicas, in Redis, each operation one
 * atomic Lua script on the Redis clock. Keys share one hash tag (one Redis Cluster slot) per
 * namespace and group (the bus prefix: one event sequence per cluster and bus prefix):
 *
 * | key | type | fields → value |
 * |---|---|---|
 * | `tl:{<ns>:informer:<group>}:members` | hash | memberId → deadlineMs |
 * | `tl:{<ns>:informer:<group>}:leases` | hash | cluster → `token|deadlineMs|owner` |
 * | `tl:{<ns>:informer:<group>}:tokens` | hash | cluster → last fencing token (never decreases) |
 *
 * Guarantees:
 * - a member is listed until `ttlMs` after its last `beat` (Redis clock), then dropped;
 * - a cluster's lease has at most one owner; `acquire` succeeds only when the lease is free,
 *   expired or already this owner's, and every success issues a fencing token greater than every
 *   token issued before for that cluster;
 * - `renew` extends a lease only while owner AND token still match: once anybody else acquired it
 *   (even after it expired and was released again) the former owner's renewals fail;
 * - `release` and `check` act only on a lease still held with that owner and token.
 */
export interface ClusterLeasesOptions extends RedisConnectionSpec {
  /** Namespace of the keys (TIDELINE_STATEFUL_NAMESPACE). */
  ns: string;
  /** The group of replicas that share clusters: the bus prefix of their event sequences. */
  group: string;
}

export interface ClusterLease {
  cluster: string;
  owner: string;
  token: number;
  /** End of the lease, Unix milliseconds of the Redis clock. */
  deadlineMs: number;
}

export type AcquireResult =
  | { ok: true; token: number; deadlineMs: number }
  | { ok: false; owner: string; deadlineMs: number };

export interface MembersView {
  /** Redis clock, Unix milliseconds. */
  nowMs: number;
  /** Live members, sorted. */
  members: string[];
}

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

const PARSE = `
local function parse(v)
  local token, deadline, owner = string.match(v, '^(%d+)|(%d+)|(.+)$')
  return tonumber(token), tonumber(deadline), owner
end
`;

/** KEYS members; ARGV member, ttlMs (0: leave). → { now, member1, member2, … } (live ones). */
const MEMBERS_LUA = `${NOW}
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], now + tonumber(ARGV[2]))
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
local all = redis.call('HGETALL', KEYS[1])
local out = { now }
for i = 1, #all, 2 do
  if tonumber(all[i + 1]) > now then table.insert(out, all[i]) else redis.call('HDEL', KEYS[1], all[i]) end
end
return out
`;

/** KEYS leases, tokens; ARGV cluster, owner, ttlMs. → { 1, token, deadline } | { 0, owner, deadline }. */
const ACQUIRE_LUA = `${NOW}${PARSE}
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local token, deadline, owner = parse(cur)
  if owner ~= ARGV[2] and deadline > now then return { 0, owner, deadline } end
end
local token = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
local deadline = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], token .. '|' .. deadline .. '|' .. ARGV[2])
return { 1, token, deadline }
`;

/** KEYS leases; ARGV owner, ttlMs, cluster1, token1, … → { now, deadline1 or 0, … }. */
const RENEW_LUA = `${NOW}${PARSE}
local out = { now }
local deadline = now + tonumber(ARGV[2])
for i = 3, #ARGV, 2 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  local kept = 0
  if cur then
    local token, _, owner = parse(cur)
    if owner == ARGV[1] and token == tonumber(ARGV[i + 1]) then
      redis.call('HSET', KEYS[1], ARGV[i], token .. '|' .. deadline .. '|' .. owner)
      kept = deadline
    end
  end
  table.insert(out, kept)
end
return out
`;

/** KEYS leases; ARGV cluster, owner, token, mode ('release' | 'check'). → 1 | 0. */
const HELD_LUA = `${NOW}${PARSE}
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
local token, deadline, owner = parse(cur)
if owner ~= ARGV[2] or token ~= tonumber(ARGV[3]) then return 0 end
if ARGV[4] == 'release' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
if deadline > now then return 1 end
return 0
`;

const ID = /^[^\s{}]{1,200}$/;

function assertId(what: string, value: string): void {
  if (!ID.test(value))
    throw new StatefulValidationError('ClusterLeases', [
      { path: what, message: 'must be 1–200 characters without whitespace, { or }' },
    ]);
}

type LeaseRedis = Redis & {
  tlMembers(members: string, member: string, ttlMs: number): Promise<(string | number)[]>;
  tlAcquire(
    leases: string,
    tokens: string,
    cluster: string,
    owner: string,
    ttlMs: number,
  ): Promise<(string | number)[]>;
  tlRenew(leases: string, owner: string, ttlMs: number, ...pairs: (string | number)[]): Promise<number[]>;
  tlHeld(leases: string, cluster: string, owner: string, token: number, mode: string): Promise<number>;
};

export class ClusterLeases {
  private readonly redis: LeaseRedis;
  private readonly keys: { members: string; leases: string; tokens: string };
  private closed = false;

  constructor(options: ClusterLeasesOptions) {
    assertId('ns', options.ns);
    assertId('group', options.group);
    const tag = `tl:{${options.ns}:informer:${options.group}}`;
    this.keys = { members: `${tag}:members`, leases: `${tag}:leases`, tokens: `${tag}:tokens` };
    const redis = openRedis(options);
    // defineCommand runs EVALSHA and falls back to EVAL when the server forgot the script.
    redis.defineCommand('tlMembers', { numberOfKeys: 1, lua: MEMBERS_LUA });
    redis.defineCommand('tlAcquire', { numberOfKeys: 2, lua: ACQUIRE_LUA });
    redis.defineCommand('tlRenew', { numberOfKeys: 1, lua: RENEW_LUA });
    redis.defineCommand('tlHeld', { numberOfKeys: 1, lua: HELD_LUA });
    this.redis = redis as LeaseRedis;
  }

  async connect(): Promise<void> {
    try {
      await this.redis.connect();
    } catch (error) {
      throw toStatefulError(error, '(connect)');
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

  /** Renews `member`'s membership for `ttlMs` and lists the live members. */
  async beat(member: string, ttlMs: number): Promise<MembersView> {
    assertId('member', member);
    const out = await this.run(() => this.redis.tlMembers(this.keys.members, member, ttlMs));
    return { nowMs: Number(out[0]), members: out.slice(1).map(String).sort() };
  }

  /** Leaves the membership at once (graceful stop). */
  async leave(member: string): Promise<void> {
    await this.run(() => this.redis.tlMembers(this.keys.members, member, 0));
  }

  async acquire(cluster: string, owner: string, ttlMs: number): Promise<AcquireResult> {
    assertId('cluster', cluster);
    assertId('owner', owner);
    const out = await this.run(() =>
      this.redis.tlAcquire(this.keys.leases, this.keys.tokens, cluster, owner, ttlMs),
    );
    return Number(out[0]) === 1
      ? { ok: true, token: Number(out[1]), deadlineMs: Number(out[2]) }
      : { ok: false, owner: String(out[1]), deadlineMs: Number(out[2]) };
  }

  /** Extends the leases `owner` still holds with these tokens; a lost one maps to undefined. */
  async renew(
    owner: string,
    ttlMs: number,
    held: readonly { cluster: string; token: number }[],
  ): Promise<{ nowMs: number; deadlines: Map<string, number | undefined> }> {
    const pairs = held.flatMap((h) => [h.cluster, h.token]);
    const out = await this.run(() => this.redis.tlRenew(this.keys.leases, owner, ttlMs, ...pairs));
    const deadlines = new Map<string, number | undefined>();
    held.forEach((h, i) => {
      const deadline = Number(out[i + 1]);
      deadlines.set(h.cluster, deadline > 0 ? deadline : undefined);
    });
    return { nowMs: Number(out[0]), deadlines };
  }

  /** Gives a lease up (only while `owner` holds it with `token`). */
  async release(cluster: string, owner: string, token: number): Promise<boolean> {
    return (
      (await this.run(() => this.redis.tlHeld(this.keys.leases, cluster, owner, token, 'release'))) === 1
    );
  }

  /** True while `owner` holds an unexpired lease of `cluster` with `token` (a fencing-token check). */
  async check(cluster: string, owner: string, token: number): Promise<boolean> {
    return (await this.run(() => this.redis.tlHeld(this.keys.leases, cluster, owner, token, 'check'))) === 1;
  }

  /** Every lease as stored (expired ones included until taken over). */
  async leases(): Promise<ClusterLease[]> {
    const all = await this.run(() => this.redis.hgetall(this.keys.leases));
    const out: ClusterLease[] = [];
    for (const [cluster, value] of Object.entries(all)) {
      const match = /^(\d+)\|(\d+)\|(.+)$/.exec(value);
      if (match)
        out.push({ cluster, token: Number(match[1]), deadlineMs: Number(match[2]), owner: match[3]! });
    }
    return out.sort((a, b) => (a.cluster < b.cluster ? -1 : 1));
  }

  private async run<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw toStatefulError(error, this.keys.leases);
    }
  }
}
