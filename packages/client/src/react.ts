import { useCallback, useRef, useSyncExternalStore } from 'react';
import type { ConnectionStatus, TidelineClient } from './client.ts';
import type { LiveCollection } from './collection.ts';

/** The items of a live collection; re-renders on every applied change with a new, stable array. */
export function useLiveCollection<T>(collection: LiveCollection<T>): readonly T[] {
  const snapshot = useRef<{ collection: LiveCollection<T>; items: readonly T[] } | undefined>(undefined);
  const subscribe = useCallback(
    (notify: () => void) =>
      collection.onChange(() => {
        snapshot.current = undefined;
        notify();
      }),
    [collection],
  );
  const read = useCallback(() => {
    if (snapshot.current?.collection !== collection)
      snapshot.current = { collection, items: collection.items() };
    return snapshot.current.items;
  }, [collection]);
  return useSyncExternalStore(subscribe, read);
}

/** The connection status of a client: connecting, live, resyncing or offline. */
export function useConnectionStatus(client: TidelineClient): ConnectionStatus {
  return useSyncExternalStore(
    (notify) => client.onStatus(notify),
    () => client.status,
  );
}
