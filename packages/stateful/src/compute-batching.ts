/** What one link_compute call in mode 'pick' is for: one service, one link shape, one allowed set. */
export interface ComputeBatchShape {
  podsKey: string;
  service: string;
  persistMs: number;
  leaseMs: number;
  states: readonly string[];
}

/** One uid's part of a batch, answered with its entry of the script's reply. */
export interface ComputeBatchCall {
  linksKey: string;
  uid: string;
  resolve(answer: unknown): void;
  reject(error: unknown): void;
}

export interface ComputeBatch extends ComputeBatchShape {
  calls: ComputeBatchCall[];
}

/**
 * Gathers the state-chooser computeLinkedPodIfAbsent calls issued in one event-loop turn (the
 * continuations of every reply of one socket read, a burst of new connections) into one
 * link_compute call per shape, of at most `maxUids` uids: the script reads and sorts out the
 * service's pods once for all of them, and Redis and the client handle one command instead of one
 * per uid. Nothing is held past the turn: a batch leaves on `process.nextTick`, like the corked writes of
 * write-coalescing.ts, so a lone call is not delayed. The script answers each uid as one call
 * of its own would, in the order the calls were made.
 */
export class ComputeBatcher {
  private readonly open = new Map<string, ComputeBatch>();
  private scheduled = false;

  constructor(
    private readonly send: (batch: ComputeBatch) => Promise<readonly unknown[]>,
    private readonly maxUids: number,
  ) {}

  /** The answer of the script for `uid` (its entry of the reply); rejected when the whole call failed. */
  add(shape: ComputeBatchShape, linksKey: string, uid: string): Promise<unknown> {
    // Ids and states never contain `|`.
    const key = `${shape.podsKey}|${shape.persistMs}|${shape.leaseMs}|${shape.states.join('|')}`;
    let batch = this.open.get(key);
    if (batch === undefined) {
      batch = { ...shape, calls: [] };
      this.open.set(key, batch);
    }
    const calls = batch.calls;
    const answer = new Promise<unknown>((resolve, reject) => {
      calls.push({ linksKey, uid, resolve, reject });
    });
    if (calls.length >= this.maxUids) {
      this.open.delete(key);
      this.flush(batch);
    } else if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(() => this.flushAll());
    }
    return answer;
  }

  private flushAll(): void {
    this.scheduled = false;
    const batches = [...this.open.values()];
    this.open.clear();
    for (const batch of batches) this.flush(batch);
  }

  private flush(batch: ComputeBatch): void {
    const settle = (answers: readonly unknown[]) => {
      batch.calls.forEach((call, i) => {
        call.resolve(answers[i]);
      });
    };
    const fail = (error: unknown) => {
      for (const call of batch.calls) call.reject(error);
    };
    try {
      this.send(batch).then(settle, fail);
    } catch (error) {
      fail(error);
    }
  }
}
