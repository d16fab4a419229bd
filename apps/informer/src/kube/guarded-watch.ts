import { type KubeConfig, Watch } from '@kubernetes/client-node';

export interface GuardedWatchOptions {
  /** `timeoutSeconds` sent with every watch: the API server ends the watch cleanly after it. */
  timeoutSeconds: number;
  /** Ask for BOOKMARK events (the library never does). */
  bookmarks: boolean;
  /**
   * No byte for this long abandons a watch (the library's `requestTimeoutMs`: 2.0.0 applied it to
   * the whole request, aborting every watch after 30 s; 2.0.1 to inactivity).
   */
  idleTimeoutMs: number;
  /** A watch answered 200 and is streaming. */
  onConnected: () => void;
  /** Any line of a current watch, BOOKMARK included. */
  onEvent: (phase: string) => void;
  /** See {@link deliverWatchEvent}. */
  skipUnchanged?: (object: unknown) => boolean;
}

type WatchCallback = (phase: string, apiObj: unknown, watchObj?: unknown) => void;

/**
 * Hands one watch event to the ListWatch. A `MODIFIED` object that `skipUnchanged` accepts (the
 * informer found it meaningfully equal to what it published, and counted it) reaches the
 * ListWatch only as its resourceVersion, as a BOOKMARK would: the resume point moves on, and the
 * library's cache keeps the previous, meaningfully equal object instead of retaining every
 * heartbeat (which is what makes a heartbeat cost a parse and little else).
 */
export function deliverWatchEvent(
  phase: string,
  apiObj: unknown,
  watchObj: unknown,
  callback: WatchCallback,
  skipUnchanged: ((object: unknown) => boolean) | undefined,
): void {
  if (phase === 'MODIFIED' && skipUnchanged?.(apiObj)) {
    const resourceVersion = (apiObj as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    callback('BOOKMARK', { metadata: { resourceVersion } }, watchObj);
    return;
  }
  callback(phase, apiObj, watchObj);
}

type Done = (error: unknown) => void;

interface OpenWatch {
  readonly generation: number;
  controller: AbortController | undefined;
  finished: boolean;
  readonly done: Done;
}

/** The error a watch ends with when {@link GuardedWatch.expireCurrent} asks for a relist: the library's 410 path. */
export const FORCED_RELIST = Object.freeze({
  statusCode: 410,
  message: 'relist requested by the informer (resync)',
});

/**
 * The @kubernetes/client-node `Watch` with the guards its ListWatch needs: every watch asks for
 * bookmarks and a server-side timeout; watches of an older generation ({@link invalidate}) are
 * aborted and their events and endings never reach the ListWatch again, so a restarted ListWatch
 * cannot be disturbed by a watch its previous run left behind; and the current watch can be ended
 * as a 410 to make the library relist ({@link expireCurrent}).
 */
export class GuardedWatch extends Watch {
  private currentGeneration = 0;
  private readonly open = new Set<OpenWatch>();

  constructor(
    config: KubeConfig,
    private readonly options: GuardedWatchOptions,
  ) {
    super(config);
    // `requestTimeoutMs` is private in the typings of 2.0.1 but read at every watch.
    Reflect.set(this, 'requestTimeoutMs', options.idleTimeoutMs);
  }

  get generation(): number {
    return this.currentGeneration;
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: Done,
  ): Promise<AbortController> {
    const entry: OpenWatch = {
      generation: this.currentGeneration,
      controller: undefined,
      finished: false,
      done,
    };
    this.open.add(entry);
    const current = () => entry.generation === this.currentGeneration && !entry.finished;
    const onLine = (phase: string, apiObj: unknown, watchObj?: unknown) => {
      if (!current()) return;
      this.options.onEvent(phase);
      deliverWatchEvent(phase, apiObj, watchObj, callback, this.options.skipUnchanged);
    };
    const onDone: Done = (error) => {
      if (!current()) return;
      entry.finished = true;
      this.open.delete(entry);
      done(error);
    };
    const params = {
      ...queryParams,
      timeoutSeconds: this.options.timeoutSeconds,
      ...(this.options.bookmarks ? { allowWatchBookmarks: true } : {}),
    };
    let controller: AbortController;
    try {
      controller = await super.watch(path, params, onLine, onDone);
    } catch (error) {
      // Failures before the request (authentication providers, kubeconfig) end the watch like any other error.
      controller = new AbortController();
      onDone(error);
    }
    entry.controller = controller;
    if (entry.generation !== this.currentGeneration) controller.abort();
    else if (!entry.finished) this.options.onConnected();
    if (entry.finished || entry.generation !== this.currentGeneration) this.open.delete(entry);
    return controller;
  }

  /** Aborts every watch opened so far; nothing they do reaches their ListWatch any more. */
  invalidate(): void {
    this.currentGeneration += 1;
    for (const entry of this.open) entry.controller?.abort();
    this.open.clear();
  }

  /**
   * Ends the open watch of the current generation as if the API server had answered 410 Gone, so
   * the ListWatch relists through its own path. False when no watch is streaming right now.
   */
  expireCurrent(): boolean {
    const entry = [...this.open].find(
      (e) => e.generation === this.currentGeneration && e.controller && !e.finished,
    );
    if (!entry) return false;
    entry.finished = true;
    this.open.delete(entry);
    entry.controller!.abort();
    entry.done(FORCED_RELIST);
    return true;
  }
}
