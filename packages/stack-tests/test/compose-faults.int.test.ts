import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ChaosStack,
  type FaultFn,
  loadChaosSettings,
  NodesTopicTruth,
  type NodeTruth,
  nodeTruthOfKube,
  runScenario,
  type ScenarioReport,
  type TruthSource,
  type WebsiteEventTruth,
  type WebsiteTruth,
} from '@tideline/chaos';
import type { KubeTestServer } from '@tideline/kube-test-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The fault round of `npm run test:compose` (infra/compose/test-compose.sh): faults through the
 * container engine on the compose stack, under the history checker (packages/chaos). The truth is
 * read from the containers themselves: PostgreSQL through `podman exec … psql`, the nodes from the
 * demo cluster's API inside its container, the nodes topic from NATS (published on a loopback port
 * by the runner's local override). Skipped outside that runner: it names the compose project.
 */
const PROJECT = process.env['TIDELINE_COMPOSE_PROJECT'];
const WORK = process.env['TIDELINE_COMPOSE_WORK'];
const settings = loadChaosSettings();
const SCENARIO_TIMEOUT_MS = settings.chaosFaultTimeoutMs + settings.chaosCatchUpTimeoutMs + 60_000;
const KUBECONFIG = '/var/lib/tideline/kube-demo/kubeconfig';

function podman(args: string[]): string {
  const result = spawnSync('podman', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`podman ${args[0]} failed: ${result.stderr.trim()}`);
  return result.stdout;
}

/** The container of a compose service of this project. */
function containerOf(service: string): string {
  const id = podman([
    'ps',
    '-a',
    '-q',
    '--filter',
    `label=com.docker.compose.project=${PROJECT}`,
    '--filter',
    `label=com.docker.compose.service=${service}`,
  ]).trim();
  if (!id) throw new Error(`no container for ${service} in ${PROJECT}`);
  return id.split('\n')[0]!;
}

/** Values of the runner's generated env file (secrets: never printed). */
function stackEnv(): Record<string, string> {
  const text = readFileSync(join(WORK!, 'stack.env'), 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

const WEBSITES_JSON_SQL = `
  SELECT coalesce(json_agg(row_to_json(t) ORDER BY t.website_id), '[]') FROM (
    SELECT w.id AS website_id, w.https_enabled, w.status::text AS status,
           lg.id AS line_group_id, lg.name AS line_group_name, lg.cname,
           (SELECT d.domain FROM website_domains d WHERE d.website_id = w.id AND d.is_primary) AS primary_domain,
           ARRAY(SELECT d.domain FROM website_domains d WHERE d.website_id = w.id ORDER BY d.domain) AS domains
      FROM websites w JOIN line_groups lg ON lg.id = w.line_group_id) t`;

/** The truth of the compose stack, read from inside its containers (and the broker). */
class ContainerTruth implements TruthSource {
  private readonly nodesTopic: NodesTopicTruth;

  constructor(busEnv: Record<string, string>) {
    this.nodesTopic = new NodesTopicTruth(busEnv, 'compose-truth');
  }

  private psql(sql: string): unknown {
    const out = podman([
      'exec',
      containerOf('postgres'),
      // The container's own socket (local connections are trusted there; TCP asks for the password).
      'psql',
      '-U',
      'tideline',
      '-d',
      'tideline',
      '-At',
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      sql,
    ]);
    return JSON.parse(out.trim() || 'null');
  }

  async websites(): Promise<WebsiteTruth[]> {
    const rows = this.psql(WEBSITES_JSON_SQL) as Record<string, unknown>[];
    return rows.map((r) => ({
      website_id: Number(r['website_id']),
      primary_domain: String(r['primary_domain']),
      domains: (r['domains'] as string[]).slice().sort(),
      cname: String(r['cname']),
      line_group: { id: Number(r['line_group_id']), name: String(r['line_group_name']) },
      https_enabled: Boolean(r['https_enabled']),
      status: String(r['status']),
    }));
  }

  async websiteEvents(afterId: number, upToId?: number): Promise<WebsiteEventTruth[]> {
    const upTo = upToId === undefined ? '' : ` AND id <= ${Math.trunc(upToId)}`;
    const rows = this.psql(
      `SELECT coalesce(json_agg(json_build_object('id', id, 'type', event_type::text, 'websiteId', payload->>'website_id') ORDER BY id), '[]')
         FROM ws_events WHERE topic = 'websites' AND id > ${Math.trunc(afterId)}${upTo}`,
    ) as { id: number; type: string; websiteId: string }[];
    return rows.map((r) => ({ id: Number(r.id), type: r.type, websiteId: Number(r.websiteId) }));
  }

  async lastWebsiteEventId(): Promise<number> {
    return Number(this.psql(`SELECT coalesce(max(id), 0) FROM ws_events WHERE topic = 'websites'`));
  }

  async nodes(): Promise<NodeTruth[]> {
    // The demo cluster's API inside its container, with the token of the kubeconfig it wrote.
    const script = `const t=/token: *"?([^"\\s]+)/.exec(require('fs').readFileSync('${KUBECONFIG}','utf8'))[1];
      fetch('http://127.0.0.1:6443/api/v1/nodes',{headers:{authorization:'Bearer '+t}})
        .then(r=>r.text()).then(b=>process.stdout.write(b),e=>{console.error(e.message);process.exit(1)})`;
    const list = JSON.parse(podman(['exec', containerOf('kube-demo'), 'node', '-e', script])) as {
      items: Parameters<typeof nodeTruthOfKube>[0][];
    };
    return list.items.map(nodeTruthOfKube).sort((a, b) => a.name.localeCompare(b.name));
  }

  nodeEventIds(cluster: string): Promise<number[]> {
    return this.nodesTopic.ids(cluster);
  }

  async close(): Promise<void> {
    await this.nodesTopic.close();
  }
}

/**
 * The demo cluster changes its nodes by itself (kube-demo's change interval); the runner's own
 * node changes have nothing to act on here, so they are no-ops.
 */
const selfChangingCluster = new Proxy(
  {},
  {
    get: (_target, name) => (name === 'nodeNames' ? () => ['demo-node-00001'] : () => undefined),
  },
) as KubeTestServer;

async function until(what: string, condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() >= deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, settings.chaosPollIntervalMs));
  }
}
const ready = (url: string) => async () => (await fetch(`${url}/readyz`)).ok;
const running = (service: string) =>
  podman(['inspect', '-f', '{{.State.Running}}', containerOf(service)]).trim() === 'true';

describe.skipIf(!PROJECT)('compose fault round (npm run test:compose)', () => {
  let stack: ChaosStack;
  let truth: ContainerTruth;
  const reports: ScenarioReport[] = [];

  beforeAll(() => {
    const env = stackEnv();
    const gatewayUrls = process.env['TIDELINE_STACK_GATEWAY_URLS']!.split(',');
    truth = new ContainerTruth({
      TIDELINE_BUS: 'nats',
      TIDELINE_NATS_URL: process.env['TIDELINE_COMPOSE_NATS_URL']!,
      TIDELINE_NATS_USER: 'tideline',
      TIDELINE_NATS_PASSWORD: env['TIDELINE_NATS_PASSWORD']!,
    });
    stack = {
      bus: 'nats',
      prefix: PROJECT!,
      cluster: process.env['TIDELINE_STACK_CLUSTER'] ?? 'demo',
      websiteApiUrl: process.env['TIDELINE_STACK_WEBSITE_API_URL']!,
      cacheUrl: process.env['TIDELINE_STACK_CACHE_URL']!,
      informerUrl: process.env['TIDELINE_STACK_INFORMER_URL']!,
      gatewayUrls,
      jwt: { secret: env['TIDELINE_JWT_SECRET']!, issuer: 'tideline', audience: 'tideline' },
      databaseUrl: '',
      busEnv: {},
      kube: selfChangingCluster,
      restart: () => Promise.reject(new Error('containers restart through the engine')),
      stop: async () => {},
    } as unknown as ChaosStack;
  });

  afterAll(async () => {
    await truth?.close();
    console.log(
      reports
        .map((r) => `${r.name}: ${r.verdict} in ${r.durationMs} ms (${JSON.stringify(r.counts)})`)
        .join('\n') || 'no fault reports',
    );
  });

  const gatewayKilled: FaultFn = async (s, _rng, ctx) => {
    ctx.inject('push-gateway-1 container: podman kill -s KILL');
    podman(['kill', '-s', 'KILL', containerOf('push-gateway-1')]);
    // The restart policy may already have started it again; otherwise the operator would.
    await until(
      'the killed container to stop',
      async () => !running('push-gateway-1') || (await ready(s.gatewayUrls[0]!)().catch(() => false)),
      settings.chaosFaultTimeoutMs,
    );
    if (!running('push-gateway-1')) podman(['start', containerOf('push-gateway-1')]);
    await until('push-gateway-1 ready again', ready(s.gatewayUrls[0]!), settings.chaosFaultTimeoutMs);
    ctx.check(
      ctx.clients.some((c) => c.reconnects > 0),
      `gateway kill -9: clients of the killed gateway reconnected (${ctx.clients.reduce((n, c) => n + c.reconnects, 0)} reconnects)`,
    );
  };
  const restarted =
    (service: string): FaultFn =>
    async (s, _rng, ctx) => {
      ctx.inject(`${service} container: podman restart`);
      podman(['restart', containerOf(service)]);
      for (const url of [s.websiteApiUrl, ...s.gatewayUrls])
        await until(`${url} ready after the ${service} restart`, ready(url), settings.chaosFaultTimeoutMs);
    };

  for (const [i, [name, fault]] of (
    [
      ['compose-gateway-kill', gatewayKilled],
      ['compose-nats-restart', restarted('nats')],
      ['compose-redis-restart', restarted('redis')],
    ] as const
  ).entries()) {
    it(
      `${name} - through the container engine, under the history checker: 0 lost, 0 duplicated, 0 reordered, replicas equal to the truth`,
      async () => {
        const report = await runScenario({
          name,
          seed: settings.chaosSeed + i,
          writes: settings.chaosShortWrites,
          stack,
          truth,
          fault,
        });
        reports.push(report);
        console.log(report.text);
        expect(report.failures, report.text).toEqual([]);
        expect(report.verdict).toBe('passed');
        expect(report.counts.faults).toBeGreaterThan(0);
        expect(report.counts.acknowledged).toBeGreaterThan(0);
        expect(report.counts.updates).toBeGreaterThan(0);
      },
      SCENARIO_TIMEOUT_MS,
    );
  }
});
