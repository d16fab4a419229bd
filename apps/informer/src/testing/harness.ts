import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeTestServer, type KubeTestServerOptions } from '@tideline/kube-test-server';
import { TEST_NATS_URL } from './nats.ts';

export interface TestClusterOptions extends KubeTestServerOptions {
  name: string;
  /** Nodes added before the informer sees the cluster (`node-00000`, …). */
  nodes?: number;
}

/** A Kubernetes API test server with a kubeconfig file for it, as a registered cluster would have. */
export class TestCluster {
  private constructor(
    readonly name: string,
    readonly server: KubeTestServer,
    private readonly dir: string,
    readonly kubeconfigPath: string,
  ) {}

  static async start(options: TestClusterOptions): Promise<TestCluster> {
    const { name, nodes, ...serverOptions } = options;
    const server = await KubeTestServer.start(serverOptions);
    if (nodes) server.addNodes(nodes);
    const dir = mkdtempSync(join(tmpdir(), `tideline-kube-${name}-`));
    const path = server.writeKubeconfig(join(dir, 'kubeconfig.yaml'), { cluster: name });
    return new TestCluster(name, server, dir, path);
  }

  /** `name=/path/to/kubeconfig`, a TIDELINE_INFORMER_CLUSTERS entry. */
  get entry(): string {
    return `${this.name}=${this.kubeconfigPath}`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface TestInformerOptions {
  prefix: string;
  clusters?: readonly TestCluster[];
  /** Further TIDELINE_* variables (they win over the test defaults). */
  env?: Record<string, string>;
}

/**
 * The environment of an informer under test: its own bus prefix, a free port, quiet logs
 * (`TIDELINE_TEST_LOG_LEVEL` to see them), short backoffs and a watchdog suited to tests.
 */
export function testInformerEnv(options: TestInformerOptions): Record<string, string> {
  return {
    TIDELINE_ENV: 'test',
    TIDELINE_LOG_LEVEL: process.env['TIDELINE_TEST_LOG_LEVEL'] ?? 'silent',
    TIDELINE_INFORMER_PORT: '0',
    TIDELINE_INFORMER_HOST: '127.0.0.1',
    TIDELINE_NATS_URL: TEST_NATS_URL,
    TIDELINE_BUS_PREFIX: options.prefix,
    TIDELINE_INFORMER_CLUSTERS: (options.clusters ?? []).map((c) => c.entry).join(','),
    TIDELINE_INFORMER_RESTART_BACKOFF_MS: '50',
    TIDELINE_INFORMER_RESTART_BACKOFF_MAX_MS: '500',
    TIDELINE_INFORMER_PUBLISH_BACKOFF_MS: '50',
    TIDELINE_INFORMER_PUBLISH_BACKOFF_MAX_MS: '500',
    TIDELINE_INFORMER_WATCHDOG_MS: '10000',
    TIDELINE_INFORMER_WATCH_IDLE_TIMEOUT_MS: '30000',
    TIDELINE_SHUTDOWN_TIMEOUT_MS: '5000',
    ...options.env,
  };
}
