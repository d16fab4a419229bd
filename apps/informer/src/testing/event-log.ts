import type { EventBus, Subscription } from '@tideline/bus';
import { ClusterEvent, NODES_TOPIC, NodeEvent } from '@tideline/contracts';

export type AnyNodesEvent = NodeEvent | ClusterEvent;

/**
 * Records every event of the nodes topic, checked against the contracts, in bus order. Reads
 * through its own ephemeral group, from the first retained event.
 */
export class NodeEventLog {
  readonly events: AnyNodesEvent[] = [];
  /** Messages that matched neither contract (a test expects none). */
  readonly invalid: unknown[] = [];
  private constructor(private readonly subscription: Subscription) {}

  static async open(
    bus: EventBus,
    group = `log-${Math.random().toString(36).slice(2, 10)}`,
  ): Promise<NodeEventLog> {
    let log: NodeEventLog | undefined;
    const pending: unknown[] = [];
    const subscription = await bus.subscribe({
      topic: NODES_TOPIC,
      group,
      ephemeral: true,
      startAt: 'first',
      handler: (message) => {
        const raw = message.json();
        if (log) log.record(raw);
        else pending.push(raw);
      },
    });
    log = new NodeEventLog(subscription);
    for (const raw of pending) log.record(raw);
    return log;
  }

  private record(raw: unknown): void {
    const node = NodeEvent.safeParse(raw);
    if (node.success) {
      this.events.push(node.data);
      return;
    }
    const cluster = ClusterEvent.safeParse(raw);
    if (cluster.success) this.events.push(cluster.data);
    else this.invalid.push(raw);
  }

  /** Events of one cluster, in order. */
  of(cluster: string): AnyNodesEvent[] {
    return this.events.filter((e) => e.data.cluster === cluster);
  }

  /** Node events of one cluster (cluster events left out). */
  nodeEventsOf(cluster: string): NodeEvent[] {
    return this.of(cluster).filter((e): e is NodeEvent => 'name' in e.data);
  }

  lastIdOf(cluster: string): number {
    return this.of(cluster).at(-1)?.eventId ?? 0;
  }

  async close(): Promise<void> {
    await this.subscription.stop();
  }
}
