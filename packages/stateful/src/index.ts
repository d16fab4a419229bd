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
} from './factory.ts';
export { keys as statefulKeys } from './keys.ts';
export { type PodLinkResult, PodPresence, type PodPresenceOptions } from './pod-presence.ts';
export { RedisStatefulExecutor, type RedisStatefulExecutorOptions } from './redis-executor.ts';
export type {
  AcquireConnectionOptions,
  ComputeLinkOptions,
  ConnectionResult,
  ReleaseConnectionOptions,
  RenewLeasesOptions,
  RenewLeasesResult,
  ComputeResult,
  FunctionChooser,
  LinkOptions,
  PodChooser,
  RemoveLinkOptions,
  RemoveLinkWithIdOptions,
  SetServiceStateOptions,
  StateChooser,
  StatefulExecutor,
  TrySetResult,
} from './types.ts';
