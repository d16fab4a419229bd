export { NodesFeed, type NodesFeedOptions } from './adapters/nodes-feed.ts';
export { type CacheConfig, rules as cacheRules, settings as cacheConfigSettings } from './config.ts';
export { ClusterNodes, type HeldNode, isReady, viewOf } from './domain/cluster-nodes.ts';
export { type LabelSelector, LabelSelectorError, parseLabelSelector } from './domain/label-selector.ts';
export {
  type ApplyOutcome,
  type NodeFilter,
  type NodePage,
  NodeReadModel,
  type NodesTopicEvent,
  UnknownClusterError,
} from './domain/read-model.ts';
export { ReplayHistory } from './domain/replay-history.ts';
export { type RunningCache, SERVICE_NAME, type StartCacheOptions, startCache } from './service.ts';
