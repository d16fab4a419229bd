import { setTimeout as sleep, setImmediate as yieldToLoop } from 'node:timers/promises';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { type BackoffPolicy, backoffDelay, type EventBus, PublishExpectationError } from '@tideline/bus';
import {
  ClusterEvent,
  NODES_TOPIC,
  NodeEvent,
  type NodeEventType,
  type NodeField,
  type NodePatch,
  type NodesTopicEvent,
  type NodeView,
  nodePatchOf,
  SCHEMA_VERSION,
  subjects,
} from '@tideline/contracts';
import { inSpan, inSpanSync, type Logger, tracingEnabled } from '@tideline/runtime';
import type { ClusterLedger, PublishedLedger } from '../domain/ledger.ts';
import {
  ALL_NODE_FIELDS,
  changedFields,
  type ObservedNode,
  toNodeView,
  unchangedFrom,
} from '../domain/node-view.ts';
import type { ObservedSink } from '../kube/cluster-watcher.ts';
import type { InformerMetrics } from '../metrics.ts';

type ClusterEventType = ClusterEvent['type'];

export interface ClusterPublisherOptions {
  cluster: string;
  ledger: PublishedLedger;
  bus: EventBus;
  backoff: BackoffPolicy;
  logger: Logger;
  metrics: InformerMetrics;
  /** With sharding: the lease this publisher publishes under. */
  fence?: PublishFence;
}

/** Why a fenced publisher stopped: its lease ran out (`lease`) or the broker refused it (`broker`). */
export type FencedBy = 'lease' | 'broker';

/**
 * What keeps a replica that lost a cluster from publishing into that cluster's sequence.
 * Before each publish `holds()` must say the lease is still held (a local deadline check, plus a
 * token check in Redis where the broker cannot check anything); and with `expectations`, every
 * publish carries the position of the last message stored on its subject, so the broker refuses
 * it when anybody else wrote there since (JetStream's Nats-Expected-Last-Subject-Sequence). A
 * publish refused either way is never retried: the publisher stops and `onFenced` is called.
 */
export interface PublishFence {
  holds(): boolean | Promise<boolean>;
  expectations: boolean;
  onFenced(by: FencedBy): void;
}

interface NodeChange {
  type: NodeEventType;
  node: NodeView;
  changed: NodeField[];
  patch?: NodePatch;
}

/** Filtered checks between two yields to the event loop, so a burst of heartbeats cannot starve it. */
const CHECKS_PER_TURN = 512;

/**
 * Turns what the API server reports about one cluster into that cluster's event sequence.
 * Guarantees:
 * - an event is published only when a node's view differs from the view in its last published
 *   event (invariant 6): heartbeat-only updates publish nothing; several changes of one node that
 *   arrive while an earlier event is in flight are coalesced into one event carrying the union
 *   of the changed fields;
 * - events are published one at a time, each after the previous one was stored, with ids
 *   last+1, last+2, … (msgId `<cluster>:<id>`, key `<cluster>`), so the bus holds the cluster's
 *   events in id order without gaps; a refused publish is retried as the same message (same id,
 *   same content) until the bus takes it, and later events wait behind it (after a failure while the
 *   bus is disconnected, as soon as it is connected again; otherwise after a doubling delay);
 * - a cluster event (`cluster-registered`/`-removed`) is published after every node event
 *   observed before it was announced;
 * - an `updated` event carries the merge patch from the node's view in its previous event (the
 *   ledger's) to its new view, so readers holding the previous view can apply it instead of the row.
 */
export class ClusterPublisher implements ObservedSink {
  private readonly observed = new Map<string, ObservedNode>();
  private readonly dirty = new Set<string>();
  /** With tracing on: when the watch event that made a node dirty arrived (the start of its trace). */
  private readonly observedAt = new Map<string, number>();
  private readonly control: ClusterEventType[] = [];
  private readonly ledger: ClusterLedger;
  private readonly received: { inc(): void };
  private readonly filtered: { inc(): void };
  /** The node whose event is being published now (its ledger view is about to change). */
  private publishing: string | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private acceptingNodes = true;

  constructor(private readonly options: ClusterPublisherOptions) {
    this.ledger = options.ledger.cluster(options.cluster);
    this.received = options.metrics.nodeUpdates.labels({ cluster: options.cluster });
    this.filtered = options.metrics.filtered.labels({ cluster: options.cluster });
  }

  get cluster(): string {
    return this.options.cluster;
  }

  get lastEventId(): number {
    return this.ledger.lastEventId;
  }

  /** Nodes the API server reports now. */
  get nodeCount(): number {
    return this.observed.size;
  }

  /** True while changes wait to be checked or published. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  upsert(node: ObservedNode): void {
    const name = node.metadata?.name;
    if (!name || !this.acceptingNodes) return;
    if (this.observed.get(name) === node) return;
    this.received.inc();
    this.observed.set(name, node);
    if (this.isHeartbeat(name, node)) {
      this.filtered.inc();
      return;
    }
    this.mark(name);
  }

  /**
   * A watched heartbeat of a node this publisher holds, counted and dropped before any cache
   * keeps it (see {@link isHeartbeat}); false for anything else, which then arrives by {@link upsert}.
   */
  dropUnchanged(node: ObservedNode): boolean {
    const name = node.metadata?.name;
    if (!name || !this.acceptingNodes || !this.observed.has(name) || !this.isHeartbeat(name, node))
      return false;
    this.received.inc();
    this.filtered.inc();
    return true;
  }

  /**
   * The fast path of invariant 6, decided as the update arrives: nothing waits for this node or
   * for the cluster (not queued, not being published, no cluster event pending), and the update
   * equals the node's view in its last published event. Anything else takes the queue, which
   * decides the same way later, in order.
   */
  private isHeartbeat(name: string, node: ObservedNode): boolean {
    if (this.control.length > 0 || this.publishing === name || this.dirty.has(name)) return false;
    const previous = this.ledger.views.get(name);
    return previous !== undefined && unchangedFrom(previous, node);
  }

  remove(name: string): void {
    if (!this.acceptingNodes || !this.observed.has(name)) return;
    this.options.metrics.nodeUpdates.inc({ cluster: this.cluster });
    this.observed.delete(name);
    this.mark(name);
  }

  reconcile(items: readonly ObservedNode[]): void {
    if (!this.acceptingNodes) return;
    const listed = new Set<string>();
    for (const item of items) {
      const name = item.metadata?.name;
      if (!name) continue;
      listed.add(name);
      this.upsert(item);
    }
    for (const name of [...this.observed.keys()]) if (!listed.has(name)) this.remove(name);
    // Nodes published before (by this process or an earlier one) that the API server no longer has.
    for (const name of this.ledger.views.keys()) if (!listed.has(name)) this.mark(name);
  }

  /** Queues a cluster event behind every change observed so far. */
  announce(type: ClusterEventType): void {
    if (type === 'cluster-removed') {
      this.acceptingNodes = false;
      this.dirty.clear();
      this.observed.clear();
    }
    this.control.push(type);
    this.kick();
  }

  /** Resolves once nothing waits to be checked or published. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops after the event in flight (if any) was stored or abandoned; what is still queued is not published. */
  async close(): Promise<void> {
    this.closed = true;
    await this.running?.catch(() => undefined);
  }

  private mark(name: string): void {
    if (tracingEnabled() && !this.observedAt.has(name)) this.observedAt.set(name, Date.now());
    this.dirty.add(name);
    this.kick();
  }

  private kick(): void {
    if (this.running || this.closed) return;
    this.running = this.drain()
      .catch((error: unknown) =>
        this.options.logger.error({ cluster: this.cluster, err: error }, 'publisher failed'),
      )
      .finally(() => {
        this.running = undefined;
        if (!this.closed && (this.dirty.size > 0 || this.control.length > 0)) this.kick();
      });
  }

  private async drain(): Promise<void> {
    let checks = 0;
    while (!this.closed) {
      const control = this.control.shift();
      if (control) {
        await this.publishClusterEvent(control);
        continue;
      }
      const name = this.dirty.values().next().value;
      if (name === undefined) return;
      this.dirty.delete(name);
      const observedAt = this.observedAt.get(name);
      this.observedAt.delete(name);
      const detectedAt = Date.now();
      const changes = this.changesOf(name);
      if (changes.length === 0) {
        this.filtered.inc();
        if (++checks >= CHECKS_PER_TURN) {
          checks = 0;
          await yieldToLoop();
        }
        continue;
      }
      // With tracing on, one trace per meaningful change: watch event → change detection →
      // publish (filtered heartbeats leave no trace).
      if (observedAt !== undefined) await this.publishTraced(name, changes, observedAt, detectedAt);
      else for (const change of changes) await this.publishNodeChange(name, change);
    }
  }

  private publishTraced(name: string, changes: NodeChange[], observedAt: number, detectedAt: number) {
    return inSpan(
      'node watch event',
      {
        parent: ROOT_CONTEXT,
        startTime: observedAt,
        attributes: { 'tideline.cluster': this.cluster, 'k8s.node.name': name },
      },
      async () => {
        inSpanSync(
          'node change detection',
          { startTime: detectedAt, attributes: { 'tideline.changes': changes.length } },
          (span) => span?.setAttribute('tideline.changed', changes.flatMap((c) => c.changed).join(',')),
        );
        for (const change of changes) await this.publishNodeChange(name, change);
      },
    );
  }

  private changesOf(name: string): NodeChange[] {
    const node = this.observed.get(name);
    const previous = this.ledger.views.get(name);
    if (!node) return previous ? [{ type: 'deleted', node: previous, changed: [] }] : [];
    const view = toNodeView(node);
    if (!previous) return [{ type: 'added', node: view, changed: [...ALL_NODE_FIELDS] }];
    if (previous.uid && view.uid && previous.uid !== view.uid) {
      // Deleted and created again under the same name while the informer looked away.
      return [
        { type: 'deleted', node: previous, changed: [] },
        { type: 'added', node: view, changed: [...ALL_NODE_FIELDS] },
      ];
    }
    const changed = changedFields(previous, view);
    return changed.length > 0
      ? [{ type: 'updated', node: view, changed, patch: nodePatchOf(previous, view) }]
      : [];
  }

  private async publishNodeChange(name: string, change: NodeChange): Promise<void> {
    const event: NodeEvent = {
      eventId: this.ledger.lastEventId + 1,
      topic: NODES_TOPIC,
      type: change.type,
      occurredAt: new Date().toISOString(),
      schemaVersion: SCHEMA_VERSION,
      data: {
        cluster: this.cluster,
        name,
        node: change.node,
        changed: change.changed,
        ...(change.patch ? { patch: change.patch } : {}),
      },
    };
    const checked = NodeEvent.safeParse(event);
    if (!checked.success) {
      this.options.logger.error(
        { cluster: this.cluster, node: name, issues: checked.error.issues },
        'node view outside the contract; not published',
      );
      return;
    }
    this.publishing = name;
    try {
      await this.publish(event);
    } finally {
      this.publishing = undefined;
    }
  }

  private async publishClusterEvent(type: ClusterEventType): Promise<void> {
    const event = ClusterEvent.parse({
      eventId: this.ledger.lastEventId + 1,
      topic: NODES_TOPIC,
      type,
      occurredAt: new Date().toISOString(),
      schemaVersion: SCHEMA_VERSION,
      data: { cluster: this.cluster },
    });
    await this.publish(event);
  }

  private fencedBy: FencedBy | undefined;

  private stopFenced(by: FencedBy, msgId: string, error?: unknown): void {
    this.fencedBy = by;
    this.closed = true;
    this.options.metrics.fencedPublishes.inc({ cluster: this.cluster, by });
    this.options.logger.warn(
      { cluster: this.cluster, msgId, by, ...(error ? { err: error } : {}) },
      'publish fenced: this replica no longer owns the cluster; nothing was published',
    );
    this.options.fence?.onFenced(by);
  }

  /**
   * Resolves once the bus reports itself connected (woken by the bus the moment it is, and looked
   * at every first backoff step to notice a stop or a fence), or the publisher stops.
   */
  private async untilBusHealthy(): Promise<void> {
    while (!this.closed && !this.fencedBy && !this.options.bus.healthy()) {
      const look = new AbortController();
      await Promise.race([
        this.options.bus.untilHealthy(),
        sleep(this.options.backoff.initialMs, undefined, { signal: look.signal }).catch(() => {}),
      ]);
      look.abort();
    }
  }

  private async publish(event: NodesTopicEvent): Promise<void> {
    const msgId = `${this.cluster}:${event.eventId}`;
    const subject = subjects.node(this.cluster, event.type);
    const fence = this.options.fence;
    let position: number | undefined;
    /** Failures since the bus was last seen connected after an outage: the retry delay's step. */
    let failures = 0;
    for (let attempt = 1; ; attempt++) {
      if (this.fencedBy) return;
      if (fence && !(await fence.holds())) return this.stopFenced('lease', msgId);
      try {
        const receipt = await this.options.bus.publish(subject, event, {
          msgId,
          key: this.cluster,
          ...(fence?.expectations
            ? { expect: { lastSubjectPosition: this.ledger.positions.get(subject) ?? 0 } }
            : {}),
        });
        // Under a fence a duplicate means another writer took this id (or an earlier attempt of
        // ours was stored): either way this replica's ledger may be wrong, so it stops and the
        // cluster is taken over again from what the bus holds.
        if (fence && receipt.duplicate) return this.stopFenced('broker', msgId);
        position = receipt.position;
        if (receipt.duplicate && attempt === 1) {
          this.options.logger.error(
            { cluster: this.cluster, msgId },
            'the bus already held an event with this id; its content may differ',
          );
        }
        break;
      } catch (error) {
        if (fence && error instanceof PublishExpectationError) return this.stopFenced('broker', msgId, error);
        this.options.metrics.publishFailures.inc({ cluster: this.cluster });
        if (this.closed) {
          this.options.logger.warn(
            { cluster: this.cluster, msgId },
            'stopping: event not confirmed by the bus (the next start reads what the bus holds)',
          );
          return;
        }
        if (!this.options.bus.healthy()) {
          // The broker is away: however long the outage, the event goes again as soon as the bus
          // is connected, not after a delay that doubled while it was down.
          this.options.logger.warn(
            { cluster: this.cluster, msgId, err: error },
            'publish failed: the bus is down; retrying the same event once it is back',
          );
          await this.untilBusHealthy();
          failures = 0;
          continue;
        }
        const delayMs = backoffDelay(this.options.backoff, ++failures);
        this.options.logger.warn(
          { cluster: this.cluster, msgId, err: error, retryInMs: delayMs },
          'publish failed; retrying the same event',
        );
        await sleep(delayMs);
      }
    }
    this.options.ledger.apply(event, position === undefined ? undefined : { subject, position });
    this.options.metrics.events.inc({ cluster: this.cluster, type: event.type });
    this.options.metrics.lastEventId.set({ cluster: this.cluster }, event.eventId);
  }
}
