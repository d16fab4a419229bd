import type { NodeEvent, NodesReplay } from '@tideline/contracts';

/**
 * The last `capacity` node events of one cluster, for resuming clients. Every event after
 * {@link floor} up to the cluster's last id is held; older ones, and events before an epoch
 * boundary (cluster registered/removed, or a gap in ids), are not.
 */
export class ReplayHistory {
  private ring: (NodeEvent | undefined)[];
  private start = 0;
  private length = 0;
  /** Id of the newest event that can no longer be replayed (0: everything since the start is held). */
  floor = 0;

  constructor(private readonly capacity: number) {
    this.ring = new Array(capacity);
  }

  get size(): number {
    return this.length;
  }

  push(event: NodeEvent): void {
    if (this.length === this.capacity) {
      this.floor = this.ring[this.start]!.eventId;
      this.ring[this.start] = event;
      this.start = (this.start + 1) % this.capacity;
    } else {
      this.ring[(this.start + this.length) % this.capacity] = event;
      this.length += 1;
    }
  }

  /** Forgets everything up to `eventId` (an epoch boundary): replays must start at or after it. */
  resetAt(eventId: number): void {
    this.ring = new Array(this.capacity);
    this.start = 0;
    this.length = 0;
    this.floor = eventId;
  }

  /**
   * The events after `after`, in order, when all of them are held and there are at most `limit`;
   * otherwise why not. `lastEventId` is the cluster's last applied id.
   */
  replay(after: number, limit: number, lastEventId: number): NodesReplay {
    if (after > lastEventId) return { kind: 'fallback', reason: 'future' };
    if (after === lastEventId) return { kind: 'events', events: [] };
    if (after < this.floor) return { kind: 'fallback', reason: 'purged' };
    if (lastEventId - after > limit) return { kind: 'fallback', reason: 'too-many' };
    const events: NodeEvent[] = [];
    for (let i = 0; i < this.length; i++) {
      const event = this.ring[(this.start + i) % this.capacity]!;
      if (event.eventId > after) events.push(event);
    }
    return { kind: 'events', events };
  }
}
