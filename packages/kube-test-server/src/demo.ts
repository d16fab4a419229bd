/**
 * `tsx packages/kube-test-server/src/demo.ts`: a demo Kubernetes cluster whose nodes change now
 * and then. Writes a kubeconfig pointing at itself (TIDELINE_KUBE_DEMO_KUBECONFIG) and runs until
 * SIGTERM/SIGINT.
 */
import { kubeDemoSettings, loadConfigOrExit } from '@tideline/config';
import { DemoCluster } from './demo-cluster.ts';

const config = loadConfigOrExit(kubeDemoSettings);
const log = (msg: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(
    `${JSON.stringify({ level: 'info', time: new Date().toISOString(), service: 'kube-demo', msg, ...extra })}\n`,
  );

const demo = await DemoCluster.start({
  server: { host: config.kubeDemoHost, port: config.kubeDemoPort },
  nodes: config.kubeDemoNodes,
  changeIntervalMs: config.kubeDemoChangeIntervalMs,
  heartbeatIntervalMs: config.kubeDemoHeartbeatIntervalMs,
  log: (line) => log('node changed', { change: line }),
});
const server = config.kubeDemoServerUrl ?? demo.server.url;
demo.server.writeKubeconfig(config.kubeDemoKubeconfig, { cluster: config.kubeDemoCluster, server });
log('demo cluster running', { server, kubeconfig: config.kubeDemoKubeconfig, nodes: config.kubeDemoNodes });

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) process.exit(130);
  stopping = true;
  log('stopping', { signal });
  await demo.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
