export {
  CLIENT_DEFAULTS,
  type ConnectionStatus,
  type ConnectOptions,
  connect,
  TidelineClient,
} from './client.ts';
export { type CollectionState, type CollectionTransport, LiveCollection } from './collection.ts';
export {
  type ApplyResult,
  type Change,
  Replica,
  type ReplicaOptions,
  type ReplicaUpdate,
  type Snapshot,
} from './replica.ts';
export { expiryOf } from './token.ts';
