import type { EventBus, Subscription } from '@tideline/bus';
import {
  decodeNodesTopicEvent,
  isClusterEvent,
  NODES_TOPIC,
  type NodeEvent,
  type NodesTopicEvent,
} from '@tideline/contracts';
import { uniquePrefix } from './nats.ts';

/**
 * Records every event of the nodes topic, decoded by the contracts' one decoder, in bus order.
 * Reads through its own ephemeral group, from the first retained event.
 */
export class NodeEventLog {
  private constructor(
    private readonly subscription: Subscription,
    /** Every decoded event, in bus order. */
    readonly events: NodesTopicEvent[],
    /** Message bodies outside the contract, as text (a test expects none). */
    readonly invalid: string[],
  ) {}

  static async open(bus: EventBus, group = uniquePrefix('log')): Promise<NodeEventLog> {
    const events: NodesTopicEvent[] = [];
    const invalid: string[] = [];
    const subscription = await bus.subscribe({
      topic: NODES_TOPIC,
      group,
      ephemeral: true,
      startAt: 'first',
      handler: (message) => {
        const decoded = decodeNodesTopicEvent(message.data);
        if (decoded.ok) events.push(decoded.value);
        else invalid.push(Buffer.from(message.data).toString('utf8'));
      },
    });
    return new NodeEventLog(subscription, events, invalid);
  }

  /** Events of one cluster, in order. */
  of(cluster: string): NodesTopicEvent[] {
    return this.events.filter((e) => e.data.cluster === cluster);
  }

  /** Node events of one cluster (cluster events left out). */
  nodeEventsOf(cluster: string): NodeEvent[] {
    return this.of(cluster).filter((e): e is NodeEvent => !isClusterEvent(e));
  }

  lastIdOf(cluster: string): number {
    return this.of(cluster).at(-1)?.eventId ?? 0;
  }

  async close(): Promise<void> {
    await this.subscription.stop();
  }
}
