export {
  type ClusterOrigin,
  ClusterRegistry,
  ClusterRegistryError,
  type WatchSettings,
} from './cluster-registry.ts';
export { type InformerConfig, rules as informerRules, settings as informerConfigSettings } from './config.ts';
export { type ClusterLedger, type LedgerRecord, PublishedLedger } from './domain/ledger.ts';
export { ALL_NODE_FIELDS, changedFields, type ObservedNode, toNodeView } from './domain/node-view.ts';
export {
  ClusterWatcher,
  type ClusterWatcherOptions,
  type ObservedSink,
  type WatcherState,
} from './kube/cluster-watcher.ts';
export { FORCED_RELIST, GuardedWatch, type GuardedWatchOptions } from './kube/guarded-watch.ts';
export {
  KubeconfigError,
  type KubeconfigSource,
  loadKubeConfig,
  parseClusterEntries,
} from './kube/kubeconfig.ts';
export { createInformerMetrics, type InformerMetrics } from './metrics.ts';
export { ClusterPublisher, type ClusterPublisherOptions } from './pipeline/cluster-publisher.ts';
export { type RecoveryReport, recoverLedger } from './pipeline/recovery.ts';
export { type RunningInformer, SERVICE_NAME, type StartInformerOptions, startInformer } from './service.ts';
