/**
 * The last `capacity` ids seen, oldest forgotten first. Bounded memory whatever the traffic: an id
 * is recognised again as long as fewer than `capacity` newer ids were added after it. A capacity of
 * 0 remembers nothing. Used by the bus (handled msgIds per subscription) and by the gateway's push
 * consumer.
 */
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) {
      throw new RangeError(`RecentIds capacity must be a whole number, got ${capacity}`);
    }
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Remembers `id` as the newest; forgets the oldest beyond the capacity. */
  add(id: string): void {
    this.ids.delete(id);
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
  }
}
