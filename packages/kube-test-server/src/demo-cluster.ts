import { KubeTestServer, type KubeTestServerOptions } from './server.ts';

export interface DemoClusterOptions {
  server?: KubeTestServerOptions;
  nodes: number;
  /** Average time between two meaningful changes (label, cordon, taint, NotReady, …). */
  changeIntervalMs: number;
  /** Period of heartbeat-only status updates of every node (which must produce no event downstream). */
  heartbeatIntervalMs: number;
  /** Receives one line per simulated change. */
  log?: (line: string) => void;
  random?: () => number;
}

const TEAMS = ['payments', 'search', 'checkout', 'platform'];

/**
 * A {@link KubeTestServer} with simulated nodes that change now and then: labels, cordon and
 * uncordon, taints, NotReady and recovery, plus steady heartbeats. Used by `npm start` when no
 * cluster is configured, so the console shows nodes moving at once.
 */
export class DemoCluster {
  private changeTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly random: () => number;

  private constructor(
    readonly server: KubeTestServer,
    private readonly options: DemoClusterOptions,
  ) {
    this.random = options.random ?? Math.random;
  }

  static async start(options: DemoClusterOptions): Promise<DemoCluster> {
    const server = await KubeTestServer.start(options.server);
    const names = server.addNodes(options.nodes, { prefix: 'demo-node' });
    names.forEach((name, i) => {
      server.label(name, 'tideline.dev/team', TEAMS[i % TEAMS.length]!);
      if (i % 4 === 3) server.label(name, 'node-role.kubernetes.io/control-plane', '');
    });
    const demo = new DemoCluster(server, options);
    demo.schedule();
    demo.heartbeatTimer = setInterval(() => server.heartbeatAll(), options.heartbeatIntervalMs);
    return demo;
  }

  private schedule(): void {
    const delay = this.options.changeIntervalMs * (0.5 + this.random());
    this.changeTimer = setTimeout(() => {
      this.changeOne();
      this.schedule();
    }, delay);
  }

  /** Applies one random meaningful change and returns its description. */
  changeOne(): string {
    const names = this.server.nodeNames();
    if (names.length === 0) return 'no nodes';
    const name = names[Math.floor(this.random() * names.length)]!;
    const node = this.server.getNode(name)!;
    const ready = node.status.conditions.find((c) => c.type === 'Ready')?.status === 'True';
    const roll = this.random();
    let what: string;
    if (roll < 0.3) {
      const team = TEAMS[Math.floor(this.random() * TEAMS.length)]!;
      this.server.label(name, 'tideline.dev/team', team);
      what = `label tideline.dev/team=${team}`;
    } else if (roll < 0.55) {
      if (node.spec.unschedulable) this.server.uncordon(name);
      else this.server.cordon(name);
      what = node.spec.unschedulable ? 'uncordon' : 'cordon';
    } else if (roll < 0.75) {
      this.server.setCondition(name, 'Ready', ready ? 'False' : 'True');
      what = ready ? 'NotReady' : 'Ready';
    } else {
      const tainted = node.spec.taints?.some((t) => t.key === 'tideline.dev/maintenance');
      if (tainted) this.server.untaint(name, 'tideline.dev/maintenance');
      else this.server.taint(name, { key: 'tideline.dev/maintenance', value: 'true', effect: 'NoSchedule' });
      what = tainted ? 'untaint tideline.dev/maintenance' : 'taint tideline.dev/maintenance=true:NoSchedule';
    }
    const line = `${name}: ${what}`;
    this.options.log?.(line);
    return line;
  }

  async close(): Promise<void> {
    clearTimeout(this.changeTimer);
    clearInterval(this.heartbeatTimer);
    await this.server.close();
  }
}
