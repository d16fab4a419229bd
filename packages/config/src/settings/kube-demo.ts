import { int, ms, optionalStr, port, str } from '../setting.ts';

/** Settings of the demo cluster (`packages/kube-test-server/src/demo.ts`, run by `npm start` when no cluster is configured). */
export const kubeDemoSettings = {
  kubeDemoHost: str({
    env: 'TIDELINE_KUBE_DEMO_HOST',
    default: '127.0.0.1',
    doc: 'Address the demo Kubernetes API server listens on.',
  }),
  kubeDemoPort: port({
    env: 'TIDELINE_KUBE_DEMO_PORT',
    default: 6443,
    allowZero: true,
    doc: 'Port of the demo Kubernetes API server (0 picks a free port; the kubeconfig records it).',
  }),
  kubeDemoKubeconfig: str({
    env: 'TIDELINE_KUBE_DEMO_KUBECONFIG',
    default: '/tmp/tideline-demo-kubeconfig.yaml',
    doc: 'Where the demo writes the kubeconfig pointing at itself (give this path to TIDELINE_INFORMER_CLUSTERS).',
  }),
  kubeDemoServerUrl: optionalStr({
    env: 'TIDELINE_KUBE_DEMO_SERVER_URL',
    doc: 'API server URL written into the kubeconfig when clients reach the demo under another name (e.g. http://kube-demo:6443 in docker compose). Unset: http://<host>:<port>.',
  }),
  kubeDemoCluster: str({
    env: 'TIDELINE_KUBE_DEMO_CLUSTER',
    default: 'demo',
    doc: 'Cluster and context name in the demo kubeconfig.',
  }),
  kubeDemoNodes: int({
    env: 'TIDELINE_KUBE_DEMO_NODES',
    min: 1,
    max: 100_000,
    default: 12,
    doc: 'Simulated nodes in the demo cluster.',
  }),
  kubeDemoChangeIntervalMs: ms({
    env: 'TIDELINE_KUBE_DEMO_CHANGE_INTERVAL_MS',
    default: 4_000,
    min: 50,
    doc: 'Average time between two meaningful node changes (label, cordon, taint, NotReady) in the demo.',
  }),
  kubeDemoHeartbeatIntervalMs: ms({
    env: 'TIDELINE_KUBE_DEMO_HEARTBEAT_INTERVAL_MS',
    default: 10_000,
    min: 100,
    doc: 'Period of heartbeat-only status updates of every demo node (the informer must drop them).',
  }),
};
