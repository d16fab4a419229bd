import { randomUUID } from 'node:crypto';
import { signToken } from '@tideline/auth';
import pg from 'pg';
import type { RecordingClient } from '../recorder.ts';
import type { ScenarioContext } from '../scenario.ts';
import type { ChaosStack, ChaosStackOptions } from '../stack.ts';
import type { ChaosScenario } from './registry.ts';

/** What `GET /readyz` of a service says about one dependency (`checks` or `observed`); undefined: unknown or unreachable. */
export async function readiness(url: string, dependency: string): Promise<boolean | undefined> {
  try {
    const body = (await (await fetch(`${url}/readyz`)).json()) as {
      checks?: Record<string, boolean>;
      observed?: Record<string, boolean>;
    };
    return body.checks?.[dependency] ?? body.observed?.[dependency];
  } catch {
    return undefined;
  }
}

/** Updates `client` received at or after `at` (performance.now()). */
function updatesSince(client: RecordingClient, at: number, feed?: string): number {
  let n = 0;
  for (const segment of client.segments)
    if (!feed || segment.feed === feed) for (const u of segment.updates) if (u.at >= at) n++;
  return n;
}

/** The recorded clients connected to gateway `index` right now. */
function clientsOn(stack: ChaosStack, ctx: ScenarioContext, index: number): RecordingClient[] {
  return ctx.clients.filter((c) => c.gateway === stack.gatewayUrls[index]);
}

/** Every client received updates after `at` (the stream goes on), waited for with the fault timeout. */
async function everyClientAdvances(
  ctx: ScenarioContext,
  clients: RecordingClient[],
  at: number,
  what: string,
) {
  await ctx.waitFor(what, () => clients.every((c) => updatesSince(c, at) >= ctx.settings.chaosOutageUpdates));
}

/** The services whose `/readyz` reports the bus (website-api observes it without gating readiness). */
function busWatchers(stack: ChaosStack): string[] {
  return [stack.websiteApiUrl, stack.cacheUrl, stack.informerUrl, ...stack.gatewayUrls];
}

/** Kills the broker, waits until the services report the bus down, starts it, waits until every one reports it up. */
async function restartBroker(
  stack: ChaosStack,
  ctx: ScenarioContext,
  broker: { stop(): Promise<void>; start(): Promise<void> },
  label: string,
): Promise<void> {
  ctx.inject(label);
  // Counted from the kill, not from when the gateways notice: the writers stop at the hold point
  // until the heal, so commits counted only after a slow detection (a Kafka client's timeouts) could
  // never reach the target, and the fault would wait out its timeout with the broker down.
  const before = await loggedEvents(stack.databaseUrl);
  await broker.stop();
  await ctx.waitFor('the gateways report the bus down', async () =>
    (await Promise.all(stack.gatewayUrls.map((u) => readiness(u, 'bus')))).every((b) => b === false),
  );
  // Writes go on without the broker (the HTTP answer does not wait for it): hold the outage until
  // some were committed, so the relay has a backlog to deliver after the restart. The writers stop
  // at their hold point until the heal, so once they are all there no more writes can come: the
  // backlog is what it is (a short run may reach the hold point before the target).
  await ctx.waitFor(
    'writes committed while the broker is down',
    async () =>
      (await loggedEvents(stack.databaseUrl)) >= before + ctx.settings.chaosOutageUpdates ||
      ctx.writersHeld(),
  );
  const backlog = (await loggedEvents(stack.databaseUrl)) - before;
  ctx.check(
    backlog > 0,
    `${label}: ${backlog} writes committed while the broker was down (the relay's backlog)`,
  );
  await broker.start();
  ctx.healed();
  await ctx.waitFor('every service reports the bus up again', async () =>
    (await Promise.all(busWatchers(stack).map((u) => readiness(u, 'bus')))).every((b) => b === true),
  );
  // Established by the two waits above (each fails the scenario when it times out).
  ctx.log(`${label}: every service saw the bus go down and come back`);
}

/** A create through website-api with a domain of its own; the HTTP status (0: no answer). */
async function probeCreate(stack: ChaosStack, lineGroupId: number, domain: string): Promise<number> {
  const token = signToken({
    ...stack.jwt,
    sub: 'chaos-probe',
    scopes: ['websites:write'],
    expiresInSeconds: 600,
  });
  try {
    const response = await fetch(`${stack.websiteApiUrl}/api/v1/websites/create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ domains: [domain], line_group_id: lineGroupId }),
    });
    await response.body?.cancel();
    return response.status;
  } catch {
    return 0;
  }
}

/** Rows that mention any of `domains`: their domain rows and their events in the log (direct, not through the proxy). */
async function rowsMentioning(databaseUrl: string, domains: string[]): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const owned = await client.query<{ n: string }>(
      'SELECT count(*) AS n FROM website_domains WHERE domain = ANY($1)',
      [domains],
    );
    const logged = await client.query<{ n: string }>(
      'SELECT count(*) AS n FROM ws_events WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) d WHERE payload::text LIKE $2 || d || $2)',
      [domains, '%'],
    );
    return Number(owned.rows[0]!.n) + Number(logged.rows[0]!.n);
  } finally {
    await client.end();
  }
}

/** Events in the websites log (direct, not through a proxy). */
async function loggedEvents(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM ws_events')).rows[0]!.n);
  } finally {
    await client.end();
  }
}

async function anyLineGroup(stack: ChaosStack): Promise<number> {
  const token = signToken({
    ...stack.jwt,
    sub: 'chaos-probe',
    scopes: ['websites:read'],
    expiresInSeconds: 600,
  });
  const response = await fetch(`${stack.websiteApiUrl}/api/v1/line-groups`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const groups = ((await response.json()) as { data: { id: number }[] }).data;
  if (!groups[0]) throw new Error('no line group to write a probe website into');
  return groups[0].id;
}

/**
 * Infrastructure faults: a broker, Redis or PostgreSQL going away under the running stack, and a
 * network partition between one gateway and the broker. Each runs on a stack of its own (private
 * servers, fault proxies) and ends like every scenario: 0 lost, 0 duplicated, 0 reordered, replicas
 * equal to the truth.
 */
/**
 * One stack that serves every infrastructure scenario (each also names the part it needs, for
 * `npm run chaos`, which gives such scenarios a stack of their own): the `npm test` short form
 * starts it once per transport instead of once per scenario.
 */
export const INFRA_STACK: ChaosStackOptions = {
  privateNats: true,
  privateKafka: true,
  privateRedis: true,
  postgresProxy: true,
  brokerProxyForGateway: 0,
};

export const infraScenarios: ChaosScenario[] = [
  {
    name: 'nats-restart',
    description:
      'NATS JetStream killed (SIGKILL) and started again on its store: the stream stalls, then every client catches up without a resync',
    stack: { privateNats: true },
    transports: ['nats'],
    fault: async (stack, _rng, ctx) => {
      const nats = stack.nats;
      if (!nats) throw new Error('nats-restart needs a private NATS server (stack option privateNats)');
      await restartBroker(stack, ctx, nats, 'NATS JetStream restart');
    },
  },
  {
    name: 'kafka-restart',
    description:
      'Kafka killed (SIGKILL) and started again on its data directory: the stream stalls, then every client catches up without a resync',
    stack: { privateKafka: true },
    transports: ['kafka'],
    fault: async (stack, _rng, ctx) => {
      const kafka = stack.kafka;
      if (!kafka) throw new Error('kafka-restart needs a private Kafka broker (stack option privateKafka)');
      await restartBroker(stack, ctx, kafka, 'Kafka restart');
    },
  },
  {
    name: 'redis-restart',
    description:
      'Redis killed and started again (empty): clients keep receiving from their own gateway during the outage, the gateways reconnect to Redis afterwards',
    stack: { privateRedis: true },
    fault: async (stack, _rng, ctx) => {
      const redis = stack.redis;
      if (!redis) throw new Error('redis-restart needs a private Redis (stack option privateRedis)');
      ctx.inject('Redis restart');
      await redis.stop();
      await ctx.waitFor('the gateways report Redis down', async () =>
        (await Promise.all(stack.gatewayUrls.map((u) => readiness(u, 'redis')))).every((b) => b === false),
      );
      const down = performance.now();
      await everyClientAdvances(ctx, ctx.clients, down, 'every client receiving updates while Redis is down');
      // Established by everyClientAdvances (it fails the scenario when a client stalls).
      ctx.log(
        `redis-restart: local delivery went on during the outage (every client ≥ ${ctx.settings.chaosOutageUpdates} updates)`,
      );
      await redis.start();
      ctx.healed();
      await ctx.waitFor('the gateways report Redis up again', async () =>
        (await Promise.all(stack.gatewayUrls.map((u) => readiness(u, 'redis')))).every((b) => b === true),
      );
    },
  },
  {
    name: 'postgres-cut',
    description:
      'PostgreSQL connections of website-api cut (fault proxy): writes answer 503 and write nothing, node updates go on, website updates resume with the relay once it is back',
    stack: { postgresProxy: true },
    fault: async (stack, _rng, ctx) => {
      const proxy = stack.postgresProxy;
      if (!proxy)
        throw new Error('postgres-cut needs the PostgreSQL fault proxy (stack option postgresProxy)');
      const lineGroupId = await anyLineGroup(stack);
      const domains: string[] = [];
      const statuses: number[] = [];
      ctx.inject('PostgreSQL cut', 'websites');
      proxy.cut();
      await ctx.waitFor('a write refused with 503', async () => {
        const domain = `cut-${randomUUID().slice(0, 12)}.chaos.example.com`;
        domains.push(domain);
        const status = await probeCreate(stack, lineGroupId, domain);
        statuses.push(status);
        return status === 503;
      });
      // Nodes do not depend on PostgreSQL: hold the cut until every client received node updates during it.
      const cutAt = performance.now();
      const nodesFeed = `nodes:${stack.cluster}`;
      await ctx.waitFor('every client receiving node updates during the cut', () =>
        ctx.clients.every((c) => updatesSince(c, cutAt, nodesFeed) >= ctx.settings.chaosOutageUpdates),
      );
      proxy.restore();
      ctx.healed();
      // The relay goes on: a write after the restore reaches every client.
      const after = performance.now();
      await ctx.waitFor('a write acknowledged again', async () => {
        return (
          (await probeCreate(stack, lineGroupId, `back-${randomUUID().slice(0, 12)}.chaos.example.com`)) ===
          201
        );
      });
      await everyClientAdvances(ctx, ctx.clients, after, 'every client receiving updates after the restore');
      const refused = domains.filter((_, i) => statuses[i] !== 201);
      const leftovers = await rowsMentioning(stack.databaseUrl, refused);
      ctx.check(
        statuses.at(-1) === 503 && leftovers === 0,
        `postgres-cut: writes during the cut answered ${[...new Set(statuses)].join(',')}; the ${refused.length} refused ones left ${leftovers} rows (domains, events)`,
      );
    },
  },
  {
    name: 'broker-partition',
    description:
      'the network between gateway 1 and the broker cut (fault proxy), then healed: the other gateway goes on, gateway 1 stalls, then catches up',
    stack: { brokerProxyForGateway: 0, privateKafka: true },
    fault: async (stack, _rng, ctx) => {
      const proxy = stack.brokerProxy;
      if (!proxy)
        throw new Error('broker-partition needs the broker fault proxy (stack option brokerProxyForGateway)');
      ctx.inject('gateway 1 ↮ broker partition');
      proxy.cut();
      await ctx.waitFor(
        'gateway 1 reports the bus down',
        async () => (await readiness(stack.gatewayUrls[0]!, 'bus')) === false,
      );
      const cutAt = performance.now();
      // The partition lasts until the clients of the other gateway have moved on: the world went on without gateway 1.
      const others = clientsOn(stack, ctx, 1);
      await everyClientAdvances(
        ctx,
        others,
        cutAt,
        'the clients of gateway 2 receiving updates during the partition',
      );
      const partitioned = clientsOn(stack, ctx, 0);
      ctx.log(
        `  partition: ${partitioned.length} clients on gateway 1 received ${partitioned.map((c) => updatesSince(c, cutAt)).join('/')} updates during it, ${others.length} on gateway 2 received ${others.map((c) => updatesSince(c, cutAt)).join('/')}`,
      );
      proxy.restore();
      ctx.healed();
      await everyClientAdvances(
        ctx,
        ctx.clients,
        performance.now(),
        'every client receiving updates after the heal',
      );
      ctx.check(
        others.length > 0,
        `broker-partition: ${others.length} clients on gateway 2 went on during the partition`,
      );
    },
  },
];
