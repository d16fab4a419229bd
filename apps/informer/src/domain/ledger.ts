import {
  isClusterEvent,
  type NodesTopicEvent,
  type NodeView,
  type SequenceStep,
  sequenceStep,
} from '@tideline/contracts';

/** What the informer has published for one cluster: the last view of every node, and the last event id. */
export interface ClusterLedger {
  readonly cluster: string;
  lastEventId: number;
  /** True between a `cluster-registered` (or the first node event) and a `cluster-removed`. */
  registered: boolean;
  readonly views: Map<string, NodeView>;
  /**
   * Bus position of the last message stored on each subject of the cluster (`node.<cluster>.<type>`):
   * what a fenced publish expects to be the last one on its subject.
   */
  readonly positions: Map<string, number>;
}

/**
 * The informer's memory of what it published, per cluster: rebuilt from the nodes topic at start
 * and kept up to date after each publish. It answers the two questions that make restarts safe:
 * which id comes next (so ids are never reused), and what each node looked like in its last
 * event (so a re-list publishes only true differences).
 */
export class PublishedLedger {
  private readonly ledgers = new Map<string, ClusterLedger>();

  cluster(name: string): ClusterLedger {
    let ledger = this.ledgers.get(name);
    if (!ledger) {
      ledger = { cluster: name, lastEventId: 0, registered: false, views: new Map(), positions: new Map() };
      this.ledgers.set(name, ledger);
    }
    return ledger;
  }

  has(name: string): boolean {
    return this.ledgers.has(name);
  }

  /** Replaces what is known of a cluster by a ledger rebuilt from the bus (a hand-over). */
  replace(ledger: ClusterLedger): void {
    this.ledgers.set(ledger.cluster, ledger);
  }

  clusters(): ClusterLedger[] {
    return [...this.ledgers.values()];
  }

  /**
   * Folds one event in, by the sequence rule of the contracts: a duplicate (redelivery, retried
   * publish) changes nothing; a gap (events aged out of the bus) is applied and reported.
   */
  apply(event: NodesTopicEvent, stored?: { subject: string; position: number }): SequenceStep {
    const ledger = this.cluster(event.data.cluster);
    if (stored)
      ledger.positions.set(
        stored.subject,
        Math.max(stored.position, ledger.positions.get(stored.subject) ?? 0),
      );
    const step = sequenceStep(ledger.lastEventId, event.eventId);
    if (step === 'duplicate') return step;
    ledger.lastEventId = event.eventId;
    if (isClusterEvent(event)) {
      ledger.views.clear();
      ledger.registered = event.type === 'cluster-registered';
      return step;
    }
    ledger.registered = true;
    if (event.type === 'deleted') ledger.views.delete(event.data.name);
    else ledger.views.set(event.data.name, event.data.node);
    return step;
  }
}
