export { DemoCluster, type DemoClusterOptions } from './demo-cluster.ts';
export { type KubeconfigOptions, kubeconfigYaml } from './kubeconfig.ts';
export {
  applyCondition,
  applyHeartbeat,
  type ConditionStatus,
  type KubeNode,
  type KubeNodeCondition,
  type KubeTaint,
  kubeTime,
  type ManagedFieldsEntry,
  makeNode,
  type NodeSpec,
} from './node-object.ts';
export type { StoredEvent, WatchEventType } from './node-store.ts';
export {
  AlreadyExistsError,
  KubeTestServer,
  type KubeTestServerCounters,
  type KubeTestServerOptions,
  NotFoundError,
  type OutageMode,
} from './server.ts';
export { type KubeStatus, kubeStatus } from './status.ts';
