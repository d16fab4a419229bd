import { describe, expect, it } from 'vitest';
import {
  RESERVE_SHARE_OF_REMAINING,
  type Reservation,
  type WindowCount,
  WindowOutlivedError,
  WriteQuota,
} from './write-quota.ts';

/**
 * The shared store as the Redis script keeps it (fixed windows, reservations capped by the limit
 * and by a share of what is left), on a clock the test moves. Answers can be held back
 * (`hold = true`) and let go in order, to see what waits for the store and what does not.
 */
class FakeStore {
  nowMs = 0;
  hold = false;
  failing = false;
  readonly calls: { key: string; wanted: number }[] = [];
  private readonly windows = new Map<string, { count: number; endsAtMs: number }>();
  private readonly held: (() => void)[] = [];

  reserve = (key: string, wanted: number, max: number, windowMs: number): Promise<Reservation> => {
    this.calls.push({ key, wanted });
    if (this.failing) return Promise.reject(new Error('store unreachable'));
    // Evaluated when sent, as Redis runs the script atomically on arrival.
    let window = this.windows.get(key);
    if (!window || window.endsAtMs <= this.nowMs) {
      window = { count: 0, endsAtMs: this.nowMs + windowMs };
      this.windows.set(key, window);
    }
    const left = max - window.count;
    const granted =
      left > 0 ? Math.max(1, Math.min(wanted, Math.floor(left / RESERVE_SHARE_OF_REMAINING))) : 0;
    window.count += granted;
    const answer = { granted, current: window.count, ttlMs: window.endsAtMs - this.nowMs };
    if (!this.hold) return Promise.resolve(answer);
    return new Promise((resolve) => this.held.push(() => resolve(answer)));
  };

  /** Lets every held answer go, oldest first. */
  release(): void {
    for (const answer of this.held.splice(0)) answer();
  }

  get pending(): number {
    return this.held.length;
  }
}

const WINDOW_MS = 60_000;

function quota(store: FakeStore, options: { max: number; reserveMax: number; subjectsMax?: number }) {
  return new WriteQuota({
    reserve: (key, wanted) => store.reserve(key, wanted, options.max, WINDOW_MS),
    reserveMax: options.reserveMax,
    subjectsMax: options.subjectsMax ?? 100,
    now: () => store.nowMs,
  });
}

/** Settles what is queued (resolved promises and their continuations). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('WriteQuota', () => {
  it('on one replica lets exactly the limit through, each write a number of its own', async () => {
    const store = new FakeStore();
    const q = quota(store, { max: 50, reserveMax: 8 });
    const counts: WindowCount[] = [];
    for (let i = 0; i < 60; i++) counts.push(await q.count('sub:a'));
    const admitted = counts.filter((c) => c.current <= 50).map((c) => c.current);
    expect(admitted).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(counts.slice(50).every((c) => c.current === 51)).toBe(true);
    // Reservations grew (1, 2, 4, 8 …) instead of one store call per write.
    expect(store.calls.length).toBeLessThan(25);
    expect(Math.max(...store.calls.map((c) => c.wanted))).toBe(8);
  });

  it('a busy subject takes numbers held ahead while the refill is on its way', async () => {
    const store = new FakeStore();
    store.hold = true;
    const q = quota(store, { max: 1_000, reserveMax: 8 });
    const first = q.count('sub:busy');
    store.release();
    expect((await first).current).toBe(1);
    const second = q.count('sub:busy');
    store.release();
    expect((await second).current).toBe(2);
    // Half of the grant of 2 is used: a refill of 4 is on its way, and the next write does not wait for it.
    expect(store.pending).toBe(1);
    let third: WindowCount | undefined;
    void q.count('sub:busy').then((c) => {
      third = c;
    });
    await settle();
    expect(third?.current).toBe(3);
    expect(store.pending).toBe(1);
    store.release();
    await settle();
    const later: number[] = [];
    for (let i = 0; i < 4; i++) later.push((await q.count('sub:busy')).current);
    expect(later).toEqual([4, 5, 6, 7]);
  });

  it('across replicas never lets more than the limit through, and refuses at most 1.5 reservations early per other replica', async () => {
    const store = new FakeStore();
    const replicas = [quota(store, { max: 100, reserveMax: 8 }), quota(store, { max: 100, reserveMax: 8 })];
    const numbers: number[] = [];
    let admittedAtFirstRefusal: number | null = null;
    // Writes spread over both replicas, several at once, the store's answers let go in batches.
    store.hold = true;
    for (let round = 0; round < 40; round++) {
      const writes = [0, 1, 1, 0, 1].map((r) => replicas[r]!.count('sub:spread'));
      const answers: (WindowCount | undefined)[] = [];
      writes.forEach((write, i) => void write.then((count) => (answers[i] = count)));
      for (let turn = 0; turn < 20 && answers.filter(Boolean).length < writes.length; turn++) {
        store.release();
        await settle();
      }
      expect(answers.filter(Boolean)).toHaveLength(writes.length);
      for (const count of answers as WindowCount[]) {
        if (count.current <= 100) numbers.push(count.current);
        else admittedAtFirstRefusal ??= numbers.length;
      }
    }
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(Math.max(...numbers)).toBeLessThanOrEqual(100);
    // Both replicas keep writing, so every number granted is used in the end.
    expect(numbers).toHaveLength(100);
    expect(admittedAtFirstRefusal).not.toBeNull();
    expect(admittedAtFirstRefusal!).toBeGreaterThanOrEqual(100 - 1.5 * 8);
  });

  it('many first writes at once on one replica each get a number of their own, 1 to n', async () => {
    const store = new FakeStore();
    store.hold = true;
    const q = quota(store, { max: 1_000, reserveMax: 8 });
    const writes = Array.from({ length: 20 }, () => q.count('sub:burst'));
    const answers: (WindowCount | undefined)[] = [];
    writes.forEach((write, i) => void write.then((count) => (answers[i] = count)));
    for (let turn = 0; turn < 40 && answers.filter(Boolean).length < writes.length; turn++) {
      store.release();
      await settle();
    }
    const numbers = (answers as WindowCount[]).map((c) => c.current).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('once the window is full refuses without asking the store until the window ends', async () => {
    const store = new FakeStore();
    const q = quota(store, { max: 3, reserveMax: 8 });
    for (let i = 0; i < 3; i++) expect((await q.count('sub:full')).current).toBeLessThanOrEqual(3);
    const refused = await q.count('sub:full');
    expect(refused.current).toBe(4);
    const calls = store.calls.length;
    store.nowMs += 30_000;
    const again = await q.count('sub:full');
    expect(again).toEqual({ current: 4, ttlMs: 30_000 });
    expect(store.calls.length).toBe(calls);
    // A new window: counted from 1 again.
    store.nowMs += 30_000;
    expect((await q.count('sub:full')).current).toBe(1);
  });

  it('a refill refused because another replica took the rest does not refuse the numbers still held', async () => {
    const store = new FakeStore();
    const [a, b] = [quota(store, { max: 40, reserveMax: 8 }), quota(store, { max: 40, reserveMax: 8 })];
    for (let i = 0; i < 3; i++) await a.count('sub:r');
    // a holds 4–7 (a grant of 4); b takes the other 33 and is refused.
    let taken = 0;
    while ((await b.count('sub:r')).current <= 40) taken++;
    expect(taken).toBe(33);
    const fromA: number[] = [];
    for (let i = 0; i < 5; i++) fromA.push((await a.count('sub:r')).current);
    expect(fromA).toEqual([4, 5, 6, 7, 41]);
  });

  it('numbers held from a window that ended are not used', async () => {
    const store = new FakeStore();
    const q = quota(store, { max: 1_000, reserveMax: 16 });
    for (let i = 0; i < 10; i++) await q.count('sub:w');
    store.nowMs += 60_000;
    const next = await q.count('sub:w');
    expect(next.current).toBeLessThanOrEqual(16);
    expect(next.ttlMs).toBe(60_000);
  });

  it('a window held here ends no later than in the store, however long the answer took', async () => {
    const store = new FakeStore();
    const q = quota(store, { max: 1_000, reserveMax: 8 });
    store.hold = true;
    const first = q.count('sub:slow');
    // The store started the window at 0 and answered 60 s left; the answer arrives 10 s later.
    store.nowMs += 10_000;
    store.release();
    expect(await first).toEqual({ current: 1, ttlMs: 50_000 });
    store.hold = false;
    store.nowMs = 59_999;
    expect((await q.count('sub:slow')).current).toBe(2);
    store.nowMs = 60_000;
    expect((await q.count('sub:slow')).current).toBe(1);
  });

  it('a store that answers only after each window ended fails the write instead of asking forever', async () => {
    const store = new FakeStore();
    const q = new WriteQuota({
      reserve: (key, wanted) => {
        const answer = store.reserve(key, wanted, 1_000, 100);
        // Every answer arrives a whole window after it was sent.
        store.nowMs += 100;
        return answer;
      },
      reserveMax: 8,
      subjectsMax: 10,
      now: () => store.nowMs,
    });
    await expect(q.count('sub:late')).rejects.toThrow(WindowOutlivedError);
    expect(store.calls).toHaveLength(1);
  });

  it('a store that does not answer rejects the write that waits on it; numbers held are still used', async () => {
    const store = new FakeStore();
    const q = quota(store, { max: 1_000, reserveMax: 8 });
    for (let i = 0; i < 3; i++) await q.count('sub:f');
    store.failing = true;
    // Numbers 4–7 (a grant of 4) are held; the failed background refills let nothing through.
    const held: number[] = [];
    for (let i = 0; i < 4; i++) held.push((await q.count('sub:f')).current);
    expect(held).toEqual([4, 5, 6, 7]);
    await expect(q.count('sub:f')).rejects.toThrow('store unreachable');
    await expect(q.count('sub:other')).rejects.toThrow('store unreachable');
  });

  it('holds at most subjectsMax subjects; others ask the store for each write, and swept subjects are forgotten', async () => {
    const store = new FakeStore();
    const q = quota(store, { max: 10, reserveMax: 8, subjectsMax: 1 });
    await q.count('sub:held');
    const before = store.calls.length;
    for (let i = 1; i <= 12; i++) {
      const count = await q.count('ip:flood');
      expect(count.current).toBe(Math.min(i, 11));
    }
    expect(store.calls.slice(before).every((c) => c.key === 'ip:flood' && c.wanted === 1)).toBe(true);
    expect(store.calls.length - before).toBe(12);
    expect(q.size).toBe(1);
    store.nowMs += 60_000;
    q.sweep();
    expect(q.size).toBe(0);
  });
});
