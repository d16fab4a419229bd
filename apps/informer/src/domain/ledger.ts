import type { NodeEventType, NodeView } from '@tideline/contracts';

/** What the informer has published for one cluster: the last view of every node, and the last event id. */
export interface ClusterLedger {
  readonly cluster: string;
  lastEventId: number;
  /** True between a `cluster-registered` (or the first node event) and a `cluster-removed`. */
  registered: boolean;
  readonly views: Map<string, NodeView>;
}

export type LedgerEventType = NodeEventType | 'cluster-registered' | 'cluster-removed';

/** One published event, as far as the ledger needs it. */
export interface LedgerRecord {
  cluster: string;
  eventId: number;
  type: LedgerEventType;
  /** Node events only. */
  node?: NodeView;
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
      ledger = { cluster: name, lastEventId: 0, registered: false, views: new Map() };
      this.ledgers.set(name, ledger);
    }
    return ledger;
  }

  has(name: string): boolean {
    return this.ledgers.has(name);
  }

  clusters(): ClusterLedger[] {
    return [...this.ledgers.values()];
  }

  /**
   * Folds one event in. Ids at or below the last one are duplicates (redelivery, retried publish)
   * and change nothing; an id beyond last+1 (events aged out of the bus) is applied and reported.
   */
  apply(record: LedgerRecord): 'applied' | 'duplicate' | 'gap' {
    const ledger = this.cluster(record.cluster);
    if (record.eventId <= ledger.lastEventId) return 'duplicate';
    const outcome = record.eventId === ledger.lastEventId + 1 ? 'applied' : 'gap';
    ledger.lastEventId = record.eventId;
    switch (record.type) {
      case 'cluster-registered':
        ledger.views.clear();
        ledger.registered = true;
        break;
      case 'cluster-removed':
        ledger.views.clear();
        ledger.registered = false;
        break;
      case 'deleted':
        if (record.node) ledger.views.delete(record.node.name);
        ledger.registered = true;
        break;
      default:
        if (record.node) ledger.views.set(record.node.name, record.node);
        ledger.registered = true;
    }
    return outcome;
  }
}
