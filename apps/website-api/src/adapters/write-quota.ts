/** One count per key and window: this write's number in the window and the time left in it. */
export interface WindowCount {
  /** This write's number in its subject's window (1 is the first); above the limit: refused. */
  current: number;
  ttlMs: number;
}

/** What the shared store answered to a reservation of writes. */
export interface Reservation {
  /** Writes granted (0: the subject's window is full). */
  granted: number;
  /** The window's count after the grant: the grant is numbers `current - granted + 1 … current`. */
  current: number;
  ttlMs: number;
}

/**
 * The shared store's one operation: add at most `wanted` writes of `key` to its window (started by
 * its first write; the store holds the limit and the window's length), never more than the limit
 * in the window and never more than `1 / RESERVE_SHARE_OF_REMAINING` of what is left (at least one
 * while anything is).
 */
export type Reserve = (key: string, wanted: number) => Promise<Reservation>;

/** The store answered after the window it reserved in had ended (see WriteQuota.count). */
export class WindowOutlivedError extends Error {
  constructor() {
    super('the write rate-limit window ended before the shared store answered');
    this.name = 'WindowOutlivedError';
  }
}

/**
 * A reservation takes at most this share (1/n) of what is left of a subject's window, so near the
 * limit reservations are single writes and little can sit unused on another replica.
 */
export const RESERVE_SHARE_OF_REMAINING = 4;

export interface WriteQuotaOptions {
  reserve: Reserve;
  /** Writes one reservation may take at most; 1: every write asks the shared store. */
  reserveMax: number;
  /** Subjects held at most; a subject beyond it asks the shared store for each write. */
  subjectsMax: number;
  /** Milliseconds on a monotonic clock (`performance.now` by default). */
  now?: () => number;
}

interface NumberRange {
  next: number;
  last: number;
  expiresAtMs: number;
}

interface Subject {
  /** Numbers this replica holds, oldest first; each range ends with its window. */
  ranges: NumberRange[];
  /** The next reservation's size: doubles up to `reserveMax` while the subject keeps writing. */
  wanted: number;
  /** The size of the last grant: a refill starts once half of it is used. */
  lastGrant: number;
  /** The window is full until then: writes are refused without asking the shared store. */
  fullUntilMs: number;
  /** The shared store's window count at the refusal (refusals answer one more). */
  fullCount: number;
  /** The reservation on its way, if any. */
  reserving: Promise<void> | null;
  /** When every range and the full mark are over: the subject can be forgotten. */
  expiresAtMs: number;
}

/**
 * The write rate limit's counting, with each replica holding a few write numbers of a busy
 * subject ahead of time: a write takes a number this replica already reserved in the shared store
 * (Redis), and the reservation is refilled in the background once half used, so a busy subject's
 * writes do not wait for a Redis round trip. A reservation starts at one write and doubles while
 * the subject keeps writing, up to `reserveMax`, and never takes more than a quarter of what is
 * left of the window, so:
 * - no more than `max` writes are ever let through per window across all replicas (every number
 *   is granted once, by the shared store);
 * - on one replica the limit is exact; a subject writing through several replicas can be refused
 *   while another replica still holds numbers it has not used yet: at most half a reservation
 *   plus the next one (≤ 1.5 × `reserveMax`) each, fewer near the limit, and that replica still
 *   lets them through;
 * - once the shared store refused a subject, this replica refuses it without asking again until
 *   the window ends (a window's count never goes down).
 * A failed reservation rejects the writes waiting on it (the caller fails open); numbers held
 * are still used. So does one answered after its window ended (a window shorter than the store's
 * round trip), rather than asking again forever.
 */
export class WriteQuota {
  private readonly subjects = new Map<string, Subject>();
  private readonly now: () => number;

  constructor(private readonly options: WriteQuotaOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Subjects held now (for tests and metrics). */
  get size(): number {
    return this.subjects.size;
  }

  /** Counts one write of `key`: its number in the window, above `max` when refused. */
  async count(key: string): Promise<WindowCount> {
    let subject = this.subject(key);
    if (!subject) {
      // Not held here (too many subjects): one write, one reservation.
      const reservation = await this.options.reserve(key, 1);
      return reservation.granted > 0
        ? { current: reservation.current, ttlMs: reservation.ttlMs }
        : { current: reservation.current + 1, ttlMs: reservation.ttlMs };
    }
    for (;;) {
      const now = this.now();
      const taken = this.take(subject, now);
      if (taken) {
        this.refillIfHalfUsed(key, subject);
        return taken;
      }
      if (subject.fullUntilMs > now) {
        return { current: subject.fullCount + 1, ttlMs: Math.ceil(subject.fullUntilMs - now) };
      }
      // Nothing held: wait for the reservation on its way, or ask for one.
      await (subject.reserving ?? this.startReserving(key, subject));
      // The subject may have been swept while waiting (its window ended): hold it again.
      subject = this.subject(key) ?? subject;
    }
  }

  /** Forgets subjects whose windows are over; call now and then (every window). */
  sweep(): void {
    const now = this.now();
    for (const [key, subject] of this.subjects) {
      if (subject.expiresAtMs <= now && !subject.reserving) this.subjects.delete(key);
    }
  }

  private subject(key: string): Subject | undefined {
    const held = this.subjects.get(key);
    if (held) return held;
    if (this.subjects.size >= this.options.subjectsMax) return undefined;
    const subject: Subject = {
      ranges: [],
      wanted: 1,
      lastGrant: 0,
      fullUntilMs: 0,
      fullCount: 0,
      reserving: null,
      expiresAtMs: 0,
    };
    this.subjects.set(key, subject);
    return subject;
  }

  private take(subject: Subject, now: number): WindowCount | null {
    while (subject.ranges.length > 0) {
      const range = subject.ranges[0]!;
      if (range.expiresAtMs > now && range.next <= range.last) {
        const current = range.next++;
        return { current, ttlMs: Math.ceil(range.expiresAtMs - now) };
      }
      subject.ranges.shift();
    }
    return null;
  }

  private held(subject: Subject): number {
    let held = 0;
    for (const range of subject.ranges) held += range.last - range.next + 1;
    return held;
  }

  private refillIfHalfUsed(key: string, subject: Subject): void {
    if (subject.reserving || subject.lastGrant < 2) return;
    if (this.held(subject) * 2 > subject.lastGrant) return;
    // Background: a failure here lets nothing through; the next write that finds nothing held asks again.
    this.startReserving(key, subject).catch(() => {});
  }

  private startReserving(key: string, subject: Subject): Promise<void> {
    const wanted = subject.wanted;
    // Measured from the request: the window ends here no later than in the shared store.
    const sentAtMs = this.now();
    const reserving = this.options
      .reserve(key, wanted)
      .then((reservation) => {
        const endsAtMs = sentAtMs + reservation.ttlMs;
        // A window shorter than the store's round trip: every answer would come too late and the
        // writes waiting on it would ask again forever. They fail instead (the caller fails open).
        if (endsAtMs <= this.now()) throw new WindowOutlivedError();
        subject.expiresAtMs = Math.max(subject.expiresAtMs, endsAtMs);
        if (reservation.granted === 0) {
          subject.fullUntilMs = endsAtMs;
          subject.fullCount = reservation.current;
          subject.wanted = 1;
          subject.lastGrant = 0;
          return;
        }
        subject.ranges.push({
          next: reservation.current - reservation.granted + 1,
          last: reservation.current,
          expiresAtMs: endsAtMs,
        });
        subject.lastGrant = reservation.granted;
        subject.wanted = Math.min(this.options.reserveMax, wanted * 2);
      })
      .finally(() => {
        subject.reserving = null;
      });
    subject.reserving = reserving;
    return reserving;
  }
}
