import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@tideline/test-support';
import type { Stack } from './stack.ts';

const READY_TIMEOUT_MS = 30_000;
const POLL_MS = 200;

/** One Prometheus HTTP API vector/matrix result. */
export interface PromSeries {
  metric: Record<string, string>;
  value?: [number, string];
}

export interface PrometheusOptions {
  /** Scrape targets by job name, as base URLs (`http://127.0.0.1:3001`); `/metrics` is scraped. */
  targets: Record<string, string[]>;
  scrapeIntervalSeconds: number;
  /** Rule files to load (absolute paths). */
  ruleFiles?: string[];
}

/** The jobs of a running stack, named as in deploy/prometheus/prometheus.yml. */
export function stackTargets(stack: Stack): Record<string, string[]> {
  return {
    'tideline-website-api': [stack.websiteApiUrl],
    'tideline-cache': [stack.cacheUrl],
    'tideline-informer': [stack.informerUrl],
    'tideline-push-gateway': stack.gatewayUrls,
  };
}

/**
 * A real Prometheus (Debian's `prometheus`, infra/scripts/ensure-prometheus.sh) on a free
 * loopback port with its own TSDB in a temporary directory, scraping the given targets; stopped
 * and removed by `stop()`. Never the system daemon on :9090.
 */
export class DisposablePrometheus {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly log: () => string,
  ) {}

  static async start(options: PrometheusOptions): Promise<DisposablePrometheus> {
    const dir = mkdtempSync(join(tmpdir(), 'tideline-prometheus-'));
    const port = await freePort();
    const config = {
      global: {
        scrape_interval: `${options.scrapeIntervalSeconds}s`,
        scrape_timeout: `${options.scrapeIntervalSeconds}s`,
        evaluation_interval: `${options.scrapeIntervalSeconds}s`,
      },
      rule_files: options.ruleFiles ?? [],
      // As deploy/prometheus/prometheus.yml: every target labelled with its `service` (what the
      // alert rules select on), and the services' own `service` label kept as it is.
      scrape_configs: Object.entries(options.targets).map(([job, urls]) => ({
        job_name: job,
        honor_labels: true,
        static_configs: [
          { targets: urls.map((u) => new URL(u).host), labels: { service: job.replace(/^tideline-/, '') } },
        ],
      })),
    };
    // JSON is YAML: no serializer needed.
    writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2));
    let output = '';
    const child = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (chunk) => {
      output += String(chunk);
    });
    child.stderr?.on('data', (chunk) => {
      output += String(chunk);
    });
    const prometheus = new DisposablePrometheus(`http://127.0.0.1:${port}`, child, dir, () => output);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${output}`);
      const ready = await fetch(`${prometheus.url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return prometheus;
      if (Date.now() > deadline) {
        await prometheus.stop();
        throw new Error(`prometheus not ready within ${READY_TIMEOUT_MS} ms: ${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** Evaluates an instant query through `/api/v1/query`; throws on an API error. */
  async query(expr: string): Promise<PromSeries[]> {
    const response = await fetch(`${this.url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    const body = (await response.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: PromSeries[] };
    };
    if (body.status !== 'success') throw new Error(`query failed: ${expr}: ${body.error}`);
    return body.data?.result ?? [];
  }

  /** Scrape health of every target (`/api/v1/targets`). */
  async targets(): Promise<{ job: string; health: string; lastError: string }[]> {
    const body = (await (await fetch(`${this.url}/api/v1/targets`)).json()) as {
      data: { activeTargets: { labels: { job: string }; health: string; lastError: string }[] };
    };
    return body.data.activeTargets.map((t) => ({
      job: t.labels.job,
      health: t.health,
      lastError: t.lastError,
    }));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
