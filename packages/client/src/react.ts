import type { NodeView, WebsiteItem } from '@tideline/contracts';
import {
  createContext,
  createElement,
  type ReactNode,
  useCallback,
  useContext,
  useRef,
  useSyncExternalStore,
} from 'react';
import type { ClientState, ConnectionStatus, TidelineClient } from './client.ts';
import type { CollectionFailure, CollectionSnapshot, CollectionState, LiveCollection } from './collection.ts';

const ClientContext = createContext<TidelineClient | null>(null);

export interface TidelineProviderProps {
  /** The client the hooks below use; create it once (outside render) and call `connect()` on it. */
  client: TidelineClient;
  children?: ReactNode;
}

/** Makes `client` available to {@link useWebsites}, {@link useNodes} and {@link useConnection}. */
export function TidelineProvider({ client, children }: TidelineProviderProps) {
  return createElement(ClientContext.Provider, { value: client }, children);
}

/** The client of the nearest {@link TidelineProvider}; throws outside one. */
export function useTidelineClient(): TidelineClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error('Tideline hooks need a <TidelineProvider client={…}> above them');
  return client;
}

/** What a collection hook returns; a new object after every change, the same one in between. */
export interface LiveResult<T> {
  items: readonly T[];
  /** The collection's state; `idle` when the hook is disabled. */
  status: CollectionState;
  /** True until the first snapshot arrived (or the collection failed for good). */
  isLoading: boolean;
  /** Why the collection is `failed` (`terminal` false: a retry is scheduled). */
  error: CollectionFailure | undefined;
  /** The last event the items reflect. */
  lastEventId: number | undefined;
  /** After a resume: true when missed events were replayed, false when a fresh snapshot came. */
  recovered: boolean | undefined;
}

export interface LiveOptions {
  /** False: subscribe to nothing (e.g. no cluster chosen yet). Default true. */
  enabled?: boolean;
}

/** Rendered on the server and before the first subscription: nothing yet, loading. */
const LOADING: LiveResult<never> = Object.freeze({
  items: Object.freeze([]) as readonly never[],
  status: 'subscribing',
  isLoading: true,
  error: undefined,
  lastEventId: undefined,
  recovered: undefined,
});
const DISABLED: LiveResult<never> = Object.freeze({ ...LOADING, status: 'idle', isLoading: false });

const results = new WeakMap<CollectionSnapshot<unknown>, LiveResult<unknown>>();

function resultOf<T>(snapshot: CollectionSnapshot<T>): LiveResult<T> {
  let result = results.get(snapshot) as LiveResult<T> | undefined;
  if (!result) {
    result = {
      items: snapshot.items,
      status: snapshot.state,
      isLoading: snapshot.position === undefined && !snapshot.failure?.terminal && snapshot.state !== 'idle',
      error: snapshot.failure,
      lastEventId: snapshot.position?.eventId,
      recovered: snapshot.recovered,
    };
    results.set(snapshot, result as LiveResult<unknown>);
  }
  return result;
}

/**
 * Follows a shared collection while mounted: subscribing retains it (opening it on the wire if
 * no one had it), unmounting releases it (the last release unsubscribes). Rendering itself opens
 * nothing, so server rendering and discarded renders subscribe to nothing.
 */
function useLive<T>(
  key: string | undefined,
  find: () => LiveCollection<T> | undefined,
  open: () => LiveCollection<T>,
): LiveResult<T> {
  // The collection this hook holds (it stays readable after its cluster was removed).
  const held = useRef<{ key: string; collection: LiveCollection<T> } | undefined>(undefined);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` names the collection `open` returns
  const subscribe = useCallback(
    (notify: () => void) => {
      if (key === undefined) return () => {};
      const collection = open();
      held.current = { key, collection };
      const release = collection.retain();
      const stop = collection.subscribe(notify);
      return () => {
        stop();
        release();
      };
    },
    [key],
  );
  const read = () => {
    if (key === undefined) return DISABLED as LiveResult<T>;
    const collection = held.current?.key === key ? held.current.collection : find();
    return collection ? resultOf(collection.snapshot()) : (LOADING as LiveResult<T>);
  };
  return useSyncExternalStore(subscribe, read, () =>
    key === undefined ? (DISABLED as LiveResult<T>) : (LOADING as LiveResult<T>),
  );
}

/** The websites list, live: `{ items, status, isLoading, error, lastEventId }`. */
export function useWebsites(options: LiveOptions = {}): LiveResult<WebsiteItem> {
  const client = useTidelineClient();
  return useLive(
    options.enabled === false ? undefined : `websites@${clientKey(client)}`,
    () => client.findWebsites(),
    () => client.websites(),
  );
}

/** The nodes of `cluster`, live; `cluster` undefined or `enabled: false` subscribes to nothing. */
export function useNodes(cluster: string | undefined, options: LiveOptions = {}): LiveResult<NodeView> {
  const client = useTidelineClient();
  const enabled = cluster !== undefined && cluster !== '' && options.enabled !== false;
  return useLive(
    enabled ? `nodes:${cluster}@${clientKey(client)}` : undefined,
    () => client.findNodes(cluster!),
    () => client.nodes(cluster!),
  );
}

/** The connection's state: `status` (`connecting`, `connected`, `disconnected`, `failed`), with `code` and `reason` when not connected. */
export interface ConnectionResult {
  status: ClientState['state'];
  code: string | undefined;
  reason: string | undefined;
  /** True while it will reconnect by itself (`disconnected` after a lost connection). */
  reconnecting: boolean;
}

const SERVER_CONNECTION: ConnectionResult = Object.freeze({
  status: 'connecting',
  code: undefined,
  reason: undefined,
  reconnecting: false,
});
const connections = new WeakMap<ClientState, ConnectionResult>();

function connectionOf(state: ClientState): ConnectionResult {
  let result = connections.get(state);
  if (!result) {
    result = {
      status: state.state,
      code: 'code' in state ? state.code : undefined,
      reason: 'reason' in state ? state.reason : undefined,
      reconnecting: 'reconnecting' in state ? state.reconnecting : false,
    };
    connections.set(state, result);
  }
  return result;
}

/** The connection of the provider's client: `{ status, code, reason, reconnecting }`. */
export function useConnection(): ConnectionResult {
  const client = useTidelineClient();
  const subscribe = useCallback((notify: () => void) => client.onState(notify), [client]);
  return useSyncExternalStore(
    subscribe,
    () => connectionOf(client.state),
    () => SERVER_CONNECTION,
  );
}

/** The items of a collection you hold yourself; re-renders on every change with a new, stable array. */
export function useLiveCollection<T>(collection: LiveCollection<T>): readonly T[] {
  const subscribe = useCallback((notify: () => void) => collection.subscribe(notify), [collection]);
  return useSyncExternalStore(
    subscribe,
    () => collection.snapshot().items,
    () => LOADING.items as readonly T[],
  );
}

/** The one-word connection status of a client: connecting, live, resyncing, offline or failed. */
export function useConnectionStatus(client: TidelineClient): ConnectionStatus {
  const subscribe = useCallback((notify: () => void) => client.onStatus(notify), [client]);
  return useSyncExternalStore(
    subscribe,
    () => client.status,
    () => 'connecting',
  );
}

const clientKeys = new WeakMap<TidelineClient, number>();
let nextClientKey = 0;

/** A per-client number, so a hook re-subscribes when the provider's client changes. */
function clientKey(client: TidelineClient): number {
  let key = clientKeys.get(client);
  if (key === undefined) {
    key = ++nextClientKey;
    clientKeys.set(client, key);
  }
  return key;
}
