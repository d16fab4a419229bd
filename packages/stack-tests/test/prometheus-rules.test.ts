import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/index.ts';

const PROMETHEUS_DIR = join(REPO_ROOT, 'deploy/prometheus');
/** The `service` label of each Tideline service's series, and what the rules select `up` by. */
const SERVICES = ['cache', 'informer', 'push-gateway', 'website-api'];

interface ScrapeConfig {
  job_name: string;
  honor_labels?: boolean;
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  relabel_configs?: {
    source_labels?: string[];
    separator?: string;
    regex?: string;
    action?: string;
    target_label?: string;
  }[];
}

function read(path: string): string {
  return readFileSync(join(REPO_ROOT, path), 'utf8');
}

function scrapeConfigs(path: string): ScrapeConfig[] {
  return (load(read(path)) as { scrape_configs: ScrapeConfig[] }).scrape_configs;
}

/** The Kubernetes job of deploy/prometheus/prometheus.yml, commented out there (the file's last lines). */
function kubernetesExample(): ScrapeConfig {
  const text = read('deploy/prometheus/prometheus.yml');
  const start = text.indexOf('  # - job_name: tideline\n');
  if (start < 0) throw new Error('no Kubernetes example in deploy/prometheus/prometheus.yml');
  const lines = text
    .slice(start)
    .split('\n')
    .filter((line) => line.startsWith('  # '))
    .map((line) => line.slice(4));
  return (load(lines.join('\n')) as ScrapeConfig[])[0]!;
}

interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec: { containers: Container[]; initContainers?: Container[] };
}
interface Container {
  name: string;
  ports?: { name?: string; containerPort: number }[];
}

/** Every pod template of deploy/kubernetes/base and the development overlay (its PostgreSQL, Redis, NATS). */
function podTemplates(): { workload: string; template: PodTemplate }[] {
  return ['deploy/kubernetes/base', 'deploy/kubernetes/overlays/development'].flatMap((dir) =>
    readdirSync(join(REPO_ROOT, dir))
      .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
      .flatMap(
        (f) =>
          loadAll(read(`${dir}/${f}`)) as {
            kind?: string;
            metadata?: { name?: string };
            spec?: { template?: PodTemplate };
          }[],
      )
      .filter((doc) => doc?.spec?.template?.spec?.containers)
      .map((doc) => ({ workload: `${doc.kind}/${doc.metadata?.name}`, template: doc.spec!.template! })),
  );
}

/**
 * The targets Prometheus' pod discovery makes of the pod templates (one per container port, one
 * per container without ports) that `job` keeps, with the `service` label it gives them.
 */
function keptPodTargets(
  job: ScrapeConfig,
): { workload: string; port: number | undefined; service: string }[] {
  const meta = (name: string) => `__meta_kubernetes_pod_label_${name.replace(/[^a-zA-Z0-9_]/g, '_')}`;
  const kept: { workload: string; port: number | undefined; service: string }[] = [];
  for (const { workload, template } of podTemplates())
    for (const container of [...template.spec.containers, ...(template.spec.initContainers ?? [])])
      for (const port of container.ports?.length ? container.ports : [undefined]) {
        let labels: Record<string, string> = {
          __meta_kubernetes_pod_container_name: container.name,
          __meta_kubernetes_pod_container_port_name: port?.name ?? '',
          ...Object.fromEntries(
            Object.entries(template.metadata?.labels ?? {}).map(([k, v]) => [meta(k), v]),
          ),
        };
        for (const rule of job.relabel_configs ?? []) {
          const value = (rule.source_labels ?? []).map((l) => labels[l] ?? '').join(rule.separator ?? ';');
          const matches = new RegExp(`^(?:${rule.regex ?? '(.*)'})$`).exec(value);
          const action = rule.action ?? 'replace';
          if (action === 'keep' && !matches) labels = {};
          else if (action === 'drop' && matches) labels = {};
          else if (action === 'replace' && matches && rule.target_label)
            labels[rule.target_label] = matches[1] ?? '';
          else if (action !== 'keep' && action !== 'drop' && action !== 'replace')
            throw new Error(`relabel action ${action} is not simulated here`);
          if (Object.keys(labels).length === 0) break;
        }
        if (Object.keys(labels).length > 0)
          kept.push({ workload, port: port?.containerPort, service: labels['service'] ?? '' });
      }
  return kept.sort((a, b) => (a.workload < b.workload ? -1 : 1));
}

/** Runs promtool (infra/scripts/ensure-prometheus.sh installs it) and returns its exit status and output. */
function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd: PROMETHEUS_DIR, encoding: 'utf8' });
  if (run.error)
    throw new Error(`promtool could not run (bash infra/scripts/ensure-prometheus.sh): ${run.error.message}`);
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('Prometheus rules', () => {
  it('rules - promtool check rules accepts deploy/prometheus/rules/tideline.rules.yml', () => {
    const { status, output } = promtool('check', 'rules', 'rules/tideline.rules.yml');
    expect(output).toContain('SUCCESS');
    expect(status, output).toBe(0);
  });

  it('rules - the promtool unit tests of every alert pass', () => {
    const { status, output } = promtool('test', 'rules', 'tests/tideline.rules.test.yml');
    expect(status, output).toBe(0);
    expect(output).toContain('SUCCESS');
  });

  it('rules - the example scrape configuration is valid and loads the rules', () => {
    const { status, output } = promtool('check', 'config', 'prometheus.yml');
    expect(status, output).toBe(0);
    expect(output).toMatch(/rules\/tideline\.rules\.yml[\s\S]*SUCCESS/);
  });

  it('rules - the compose Prometheus configuration is valid', () => {
    const { status, output } = promtool('check', 'config', '../../infra/compose/prometheus/prometheus.yml');
    expect(status, output).toBe(0);
    expect(output).toContain('SUCCESS');
  });

  it('rules - the service alerts select every service by the `service` label, never by job name', () => {
    const rules = (
      load(read('deploy/prometheus/rules/tideline.rules.yml')) as {
        groups: { rules: { alert?: string; expr: string }[] }[];
      }
    ).groups.flatMap((g) => g.rules);
    for (const rule of rules) expect(rule.expr, rule.alert).not.toMatch(/\bjob\s*(=|!=|=~|!~)/);
    const expr = (alert: string) => rules.find((r) => r.alert === alert)?.expr ?? '';
    const down = /^up\{service=~"([^"]+)"\} == 0$/.exec(expr('TidelineServiceDown'))?.[1];
    expect(down?.split('|').sort()).toEqual(SERVICES);
    for (const service of SERVICES)
      expect(expr('TidelineServiceAbsent')).toContain(`absent(up{service="${service}"})`);
  });

  it.each([
    [
      'deploy/prometheus/prometheus.yml',
      /TIDELINE_MANAGEMENT_PORT=(\d+)/,
      'deploy/kubernetes/base/kustomization.yaml',
    ],
    ['infra/compose/prometheus/prometheus.yml', /TIDELINE_MANAGEMENT_PORT: (\d+)/, 'docker-compose.yml'],
  ])(
    'rules - every target of %s carries `service` (kept as exported) and is scraped on the management port',
    (file, portSetting, portSource) => {
      const managementPort = portSetting.exec(read(portSource))?.[1];
      expect(managementPort, portSource).toBeDefined();
      const services = new Set<string>();
      for (const job of scrapeConfigs(file)) {
        expect(job.honor_labels, job.job_name).toBe(true);
        for (const group of job.static_configs ?? []) {
          expect(SERVICES, job.job_name).toContain(group.labels?.['service']);
          services.add(group.labels!['service']!);
          for (const target of group.targets) expect(target.split(':')[1], target).toBe(managementPort);
        }
      }
      expect([...services].sort()).toEqual(SERVICES);
    },
  );

  it('rules - the Kubernetes example keeps exactly the management port of each Tideline pod of deploy/kubernetes, labelled with its service', () => {
    const example = kubernetesExample();
    expect(example.honor_labels).toBe(true);
    const managementPort = Number(
      /TIDELINE_MANAGEMENT_PORT=(\d+)/.exec(read('deploy/kubernetes/base/kustomization.yaml'))?.[1],
    );
    const kept = keptPodTargets(example);
    expect(kept.map((t) => t.service).sort()).toEqual(SERVICES);
    for (const target of kept) {
      expect(target.port, target.workload).toBe(managementPort);
      expect(target.workload).toBe(`Deployment/${target.service}`);
    }
    // Negative control: the example as it was (keep app.kubernetes.io/name=push-gateway) keeps nothing.
    const before: ScrapeConfig = {
      job_name: 'tideline-push-gateway',
      relabel_configs: [
        {
          source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'],
          regex: 'push-gateway',
          action: 'keep',
        },
      ],
    };
    expect(keptPodTargets(before)).toEqual([]);
  });

  it('rules - a broken alert makes promtool test rules fail (the unit tests can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tideline-rules-'));
    mkdirSync(join(dir, 'rules'));
    mkdirSync(join(dir, 'tests'));
    const rules = readFileSync(join(PROMETHEUS_DIR, 'rules/tideline.rules.yml'), 'utf8');
    writeFileSync(
      join(dir, 'rules/tideline.rules.yml'),
      rules.replace('reason="SLOW_CONSUMER"', 'reason="SLOW_CONSUMERS"'),
    );
    writeFileSync(
      join(dir, 'tests/tideline.rules.test.yml'),
      readFileSync(join(PROMETHEUS_DIR, 'tests/tideline.rules.test.yml'), 'utf8'),
    );
    const run = spawnSync('promtool', ['test', 'rules', 'tests/tideline.rules.test.yml'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(run.status).not.toBe(0);
    expect(`${run.stdout}${run.stderr}`).toContain('TidelineGatewaySlowConsumers');
  });
});
