/** One query in flight: when it started (on the owner's sequence clock) and its answer. */
interface Flight<V> {
  readonly startedAt: number;
  readonly result: Promise<V>;
}

/**
 * Coalesces concurrent identical queries: while a query for a key runs, every caller asking the
 * same key shares its answer instead of starting another. A caller that must not accept an
 * answer computed before it arrived (see {@link SingleFlight.obtain}) gets a newer one, so at
 * most two queries per key serve any burst of callers.
 */
export class SingleFlight<K, V> {
  private readonly flights = new Map<K, Flight<V>>();

  /** `clock` ticks once per flight start and once per caller arrival; it orders the two. */
  constructor(private readonly clock: () => number) {}

  /**
   * The answer of a flight for `key`: the running one, or a new one of `run`. An answer is kept
   * when its flight started after `arrivedAt` or `acceptable(answer)` holds; otherwise the next
   * flight's answer is taken (that one necessarily started after the caller arrived).
   */
  async obtain(
    key: K,
    run: () => Promise<V>,
    arrivedAt: number,
    acceptable: (answer: V) => boolean,
  ): Promise<V> {
    for (;;) {
      const flight = this.flights.get(key) ?? this.start(key, run);
      const answer = await flight.result;
      if (flight.startedAt > arrivedAt || acceptable(answer)) return answer;
    }
  }

  private start(key: K, run: () => Promise<V>): Flight<V> {
    const startedAt = this.clock();
    // The flight leaves the map before any caller's continuation runs, so a retry starts afresh.
    const result = Promise.resolve()
      .then(run)
      .finally(() => {
        if (this.flights.get(key) === flight) this.flights.delete(key);
      });
    const flight: Flight<V> = { startedAt, result };
    this.flights.set(key, flight);
    return flight;
  }
}
