import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeTestServer, type KubeTestServerOptions } from '@tideline/kube-test-server';

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
