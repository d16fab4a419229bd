/**
 * Which offsets of each partition a group consumer took and which of them are settled, so that
 * the committed offset never passes a message whose outcome is not settled. The committed offset
 * of a partition is its lowest unsettled offset, or the one after the last taken when all are
 * settled: a restart redelivers every unsettled message and nothing settled before it.
 */
export class OffsetTracker {
  private readonly partitions = new Map<number, { next: bigint; pending: Set<bigint> }>();
  private readonly committed = new Map<number, bigint>();

  /** False for an offset taken before (a refetch after a rejoin or reconnect): drop it. */
  take(partition: number, offset: bigint): boolean {
    const state = this.partitions.get(partition);
    if (!state) {
      this.partitions.set(partition, { next: offset + 1n, pending: new Set([offset]) });
      return true;
    }
    if (offset < state.next) return false;
    state.pending.add(offset);
    state.next = offset + 1n;
    return true;
  }

  settle(partition: number, offset: bigint): void {
    this.partitions.get(partition)?.pending.delete(offset);
  }

  /** Offsets to commit now: per partition, the committable offset when it moved since the last commit. */
  due(): { partition: number; offset: bigint }[] {
    const out: { partition: number; offset: bigint }[] = [];
    for (const [partition, state] of this.partitions) {
      let offset = state.next;
      for (const pending of state.pending) if (pending < offset) offset = pending;
      const last = this.committed.get(partition);
      if (last === undefined || offset > last) out.push({ partition, offset });
    }
    return out;
  }

  markCommitted(partition: number, offset: bigint): void {
    const last = this.committed.get(partition);
    if (last === undefined || offset > last) this.committed.set(partition, offset);
  }

  unsettled(): number {
    let count = 0;
    for (const state of this.partitions.values()) count += state.pending.size;
    return count;
  }
}
