import { type BusMessage, type EventBus, readTopic, type Subscription } from '@tideline/bus';
import {
  decodeNodesTopicEvent,
  NODES_TOPIC,
  type NodesTopicEvent,
  type SequenceStep,
} from '@tideline/contracts';
import { inSpanSync, type Logger } from '@tideline/runtime';
import type { NodeReadModel } from '../domain/read-model.ts';

export interface NodesFeedOptions {
  bus: EventBus;
  model: NodeReadModel;
  /** This instance's own group (ephemeral): every cache instance reads every event. */
  group: string;
  /** Events read per request while catching up. */
  pageSize: number;
  /** Consecutive empty reads that confirm the end of the topic while catching up. */
  endReads: number;
  logger: Logger;
  onApplied?: (outcome: SequenceStep | 'invalid') => void;
}

/**
 * Feeds the read model from the nodes topic, from its first retained event, then live. The live
 * subscription starts first and holds what arrives while the topic is read in bulk, so nothing
 * published during the catch-up is missed; the overlap is dropped by event id. Messages are
 * decoded by the contracts' one decoder of the topic; one outside the contract is dead-lettered
 * (live) or skipped (catch-up) and logged.
 */
export class NodesFeed {
  private subscription: Subscription | undefined;
  private caughtUp = false;
  private stopped = false;
  private held: NodesTopicEvent[] = [];

  constructor(private readonly options: NodesFeedOptions) {}

  /** True once the retained topic was read and live events flow. */
  get ready(): boolean {
    return this.caughtUp;
  }

  /**
   * Subscribes to live events (held until the catch-up ends). Resolves once subscribed; then
   * {@link catchUp} reads the retained topic.
   */
  async subscribe(): Promise<void> {
    this.subscription = await this.options.bus.subscribe({
      topic: NODES_TOPIC,
      group: this.options.group,
      ephemeral: true,
      startAt: 'new',
      concurrency: 1,
      handler: (message) => {
        const event = this.decode(message, 'dead-lettered');
        if (!event) return 'reject';
        if (this.caughtUp) this.apply(event);
        else this.held.push(event);
      },
    });
  }

  /**
   * Reads the retained topic into the model, then applies what arrived meanwhile: ready after;
   * resolves true. Stopping the feed ends it early, not ready: resolves false (no error).
   */
  async catchUp(): Promise<boolean> {
    const { bus, model, logger } = this.options;
    const started = performance.now();
    let read = 0;
    // A page can come back short, or a read empty, before the end of the topic (a broker fetch
    // that expired under load): read on from the last position until reads confirm the end.
    let from = 1;
    try {
      for (let empty = 0; empty < this.options.endReads && !this.stopped; ) {
        let found = 0;
        for await (const message of readTopic(bus, {
          topic: NODES_TOPIC,
          pageSize: this.options.pageSize,
          from,
        })) {
          read += 1;
          found += 1;
          from = message.position + 1;
          const event = this.decode(message, 'skipped');
          if (event) this.apply(event);
          if (this.stopped) break;
        }
        empty = found === 0 ? empty + 1 : 0;
      }
    } catch (error) {
      if (this.stopped) return false;
      throw error;
    }
    if (this.stopped) return false;
    for (const event of this.held) this.apply(event);
    this.held = [];
    this.caughtUp = true;
    logger.info(
      { read, ms: Math.round(performance.now() - started), clusters: model.clusterNames().length },
      'nodes read model caught up with the bus',
    );
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.subscription?.stop();
  }

  private decode(message: BusMessage, fate: 'dead-lettered' | 'skipped'): NodesTopicEvent | undefined {
    const decoded = decodeNodesTopicEvent(message.data);
    if (decoded.ok) return decoded.value;
    this.options.onApplied?.('invalid');
    this.options.logger.error(
      { subject: message.subject, msgId: message.msgId, position: message.position, err: decoded.error },
      `nodes event outside the contract; ${fate}`,
    );
    return undefined;
  }

  private apply(event: NodesTopicEvent): void {
    const outcome = inSpanSync(
      'cache apply',
      { attributes: { 'tideline.cluster': event.data.cluster, 'tideline.event_id': event.eventId } },
      (span) => {
        const step = this.options.model.apply(event);
        span?.setAttribute('tideline.outcome', step);
        return step;
      },
    );
    this.options.onApplied?.(outcome);
    if (outcome === 'gap') {
      this.options.logger.warn(
        { cluster: event.data.cluster, eventId: event.eventId },
        'event ids jumped (older events aged out of the bus); replays cannot reach across',
      );
    }
  }
}
