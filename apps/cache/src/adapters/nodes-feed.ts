import { type BusMessage, type EventBus, readTopic, type Subscription } from '@tideline/bus';
import { ClusterEvent, NODES_TOPIC, NodeEvent } from '@tideline/contracts';
import type { Logger } from '@tideline/runtime';
import type { ApplyOutcome, NodeReadModel, NodesTopicEvent } from '../domain/read-model.ts';

export interface NodesFeedOptions {
  bus: EventBus;
  model: NodeReadModel;
  /** This instance's own group (ephemeral): every cache instance reads every event. */
  group: string;
  /** Events read per request while catching up. */
  pageSize: number;
  logger: Logger;
  onApplied?: (outcome: ApplyOutcome | 'invalid') => void;
}

function decode(message: BusMessage): NodesTopicEvent | undefined {
  let raw: unknown;
  try {
    raw = message.json();
  } catch {
    return undefined;
  }
  const node = NodeEvent.safeParse(raw);
  if (node.success) return node.data;
  const cluster = ClusterEvent.safeParse(raw);
  return cluster.success ? cluster.data : undefined;
}

/**
 * Feeds the read model from the nodes topic, from its first retained event, then live. The live
 * subscription starts first and holds what arrives while the topic is read in bulk, so nothing
 * published during the catch-up is missed; the overlap is dropped by event id. Invalid messages
 * are dead-lettered (live) or skipped (catch-up) and logged.
 */
export class NodesFeed {
  private subscription: Subscription | undefined;
  private caughtUp = false;
  private held: { event: NodesTopicEvent; position: number }[] = [];
  /** Position of the last message applied (catch-up or live). */
  position = 0;

  constructor(private readonly options: NodesFeedOptions) {}

  /** True once the retained topic was read and live events flow. */
  get ready(): boolean {
    return this.caughtUp;
  }

  async start(): Promise<{ read: number; ms: number }> {
    const { bus, model, logger } = this.options;
    const started = performance.now();
    this.subscription = await bus.subscribe({
      topic: NODES_TOPIC,
      group: this.options.group,
      ephemeral: true,
      startAt: 'new',
      concurrency: 1,
      handler: (message) => {
        const event = decode(message);
        if (!event) {
          this.options.onApplied?.('invalid');
          logger.error(
            { subject: message.subject, msgId: message.msgId },
            'nodes event outside the contract; dead-lettered',
          );
          return 'reject';
        }
        if (this.caughtUp) this.apply(event, message.position);
        else this.held.push({ event, position: message.position });
      },
    });
    let read = 0;
    for await (const message of readTopic(bus, { topic: NODES_TOPIC, pageSize: this.options.pageSize })) {
      read += 1;
      const event = decode(message);
      if (event) this.apply(event, message.position);
      else {
        this.options.onApplied?.('invalid');
        logger.error(
          { subject: message.subject, position: message.position },
          'nodes event outside the contract; skipped',
        );
      }
    }
    for (const { event, position } of this.held) this.apply(event, position);
    this.held = [];
    this.caughtUp = true;
    const ms = Math.round(performance.now() - started);
    logger.info(
      { read, ms, clusters: model.clusterNames().length },
      'nodes read model caught up with the bus',
    );
    return { read, ms };
  }

  private apply(event: NodesTopicEvent, position: number): void {
    const outcome = this.options.model.apply(event);
    if (position > this.position) this.position = position;
    this.options.onApplied?.(outcome);
    if (outcome === 'gap') {
      this.options.logger.warn(
        { cluster: event.data.cluster, eventId: event.eventId },
        'event ids jumped (older events aged out of the bus); replays cannot reach across',
      );
    }
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
  }
}
