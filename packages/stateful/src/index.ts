export {
  type AcquireResult,
  type ClusterLease,
  ClusterLeases,
  type ClusterLeasesOptions,
  type MembersView,
} from './cluster-leases.ts';
export {
  StatefulChooserError,
  StatefulCommandError,
  StatefulError,
  StatefulUnavailableError,
  StatefulValidationError,
  StatefulWrongTypeError,
  type UnavailableReason,
} from './errors.ts';
export {
  type CreateStatefulExecutorOptions,
  createStatefulExecutor,
  type StatefulConfig,
  type StatefulSettingsConfig,
} from './factory.ts';
export { keys as statefulKeys } from './keys.ts';
export {
  createStatefulMetrics,
  observeStatefulExecutor,
  STATEFUL_OPERATIONS,
  type StatefulObserver,
  type StatefulOperation,
  statefulErrorKind,
} from './metrics.ts';
export { type PodLinkResult, PodPresence, type PodPresenceOptions } from './pod-presence.ts';
export {
  closeRedis,
  openRedis,
  type RedisConnectionSpec,
  reconnectDelay,
  redisConnectionSpec,
} from './redis-connection.ts';
export { RedisStatefulExecutor, type RedisStatefulExecutorOptions } from './redis-executor.ts';
export type {
  AcquireConnectionOptions,
  ComputeLinkOptions,
  ComputeResult,
  ConnectionResult,
  FunctionChooser,
  LinkOptions,
  PodChooser,
  ReleaseConnectionOptions,
  RemoveLinkOptions,
  RemoveLinkWithIdOptions,
  RenewLeasesOptions,
  RenewLeasesResult,
  SetServiceStateOptions,
  StateChooser,
  StatefulExecutor,
  TrySetResult,
} from './types.ts';
