export {
  CLIENT_DEFAULTS,
  type ClientError,
  type ClientState,
  type ConnectionStatus,
  type ConnectOptions,
  connect,
  TidelineClient,
} from './client.ts';
export {
  type CollectionFailure,
  type CollectionSnapshot,
  type CollectionState,
  type CollectionTransport,
  DISCONNECTED,
  LiveCollection,
  type SyncOutcome,
  TERMINAL_COLLECTION_CODES,
} from './collection.ts';
export { codeOf, TidelineClientError } from './errors.ts';
export {
  type ApplyOutcome,
  type ApplyResult,
  type Change,
  changedFields,
  Replica,
  type ReplicaOptions,
  type ReplicaUpdate,
  type Snapshot,
} from './replica.ts';
export { expiryOf } from './token.ts';
