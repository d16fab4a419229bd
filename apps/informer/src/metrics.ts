import { Counter, Gauge, type Registry } from '@tideline/runtime';

/** The informer's Prometheus metrics, labelled by cluster. */
export interface InformerMetrics {
  /** Node objects received from the API server (list items and watch events). */
  nodeUpdates: Counter<'cluster'>;
  /** Received changes that were checked and carried nothing meaningful (heartbeats, churn). */
  filtered: Counter<'cluster'>;
  /** Events published, by type. */
  events: Counter<'cluster' | 'type'>;
  publishFailures: Counter<'cluster'>;
  restarts: Counter<'cluster' | 'reason'>;
  lists: Counter<'cluster'>;
  lastEventId: Gauge<'cluster'>;
  ready: Gauge<'cluster'>;
  /** With sharding: clusters this replica took over (recovered from the bus, then relisted). */
  handovers: Counter<'cluster'>;
  /** With sharding: leases this replica lost without giving them up (expired, taken over). */
  leaseLosses: Counter<'cluster'>;
  /** Publishes refused by a fence, by what refused them (`lease`: the local lease check; `broker`). */
  fencedPublishes: Counter<'cluster' | 'by'>;
  /** With sharding: 1 for each cluster this replica owns and publishes. */
  owned: Gauge<'cluster'>;
}

export function createInformerMetrics(registry: Registry): InformerMetrics {
  const registers = [registry];
  return {
    nodeUpdates: new Counter({
      name: 'tideline_informer_node_updates_total',
      help: 'Node objects received from the API server (list items and watch events).',
      labelNames: ['cluster'],
      registers,
    }),
    filtered: new Counter({
      name: 'tideline_informer_filtered_total',
      help: 'Received node changes that carried nothing meaningful (heartbeat-only and churn).',
      labelNames: ['cluster'],
      registers,
    }),
    events: new Counter({
      name: 'tideline_informer_events_total',
      help: 'Events published to the bus, by type.',
      labelNames: ['cluster', 'type'],
      registers,
    }),
    publishFailures: new Counter({
      name: 'tideline_informer_publish_failures_total',
      help: 'Publish attempts the bus refused (each is retried).',
      labelNames: ['cluster'],
      registers,
    }),
    restarts: new Counter({
      name: 'tideline_informer_restarts_total',
      help: 'List/watch restarts by the informer, by reason (error, stall).',
      labelNames: ['cluster', 'reason'],
      registers,
    }),
    lists: new Counter({
      name: 'tideline_informer_lists_total',
      help: 'Complete node lists (initial, after 410, resync).',
      labelNames: ['cluster'],
      registers,
    }),
    lastEventId: new Gauge({
      name: 'tideline_informer_last_event_id',
      help: 'Id of the last event published per cluster.',
      labelNames: ['cluster'],
      registers,
    }),
    ready: new Gauge({
      name: 'tideline_informer_cluster_ready',
      help: '1 when the cluster is listed and watched, else 0.',
      labelNames: ['cluster'],
      registers,
    }),
    handovers: new Counter({
      name: 'tideline_informer_handovers_total',
      help: 'Clusters this replica took over from the published state on the bus (sharding).',
      labelNames: ['cluster'],
      registers,
    }),
    leaseLosses: new Counter({
      name: 'tideline_informer_lease_losses_total',
      help: 'Cluster leases this replica lost without giving them up: expired or taken over (sharding).',
      labelNames: ['cluster'],
      registers,
    }),
    fencedPublishes: new Counter({
      name: 'tideline_informer_fenced_publishes_total',
      help: 'Publishes refused because this replica no longer owned the cluster, by lease (local check) or broker.',
      labelNames: ['cluster', 'by'],
      registers,
    }),
    owned: new Gauge({
      name: 'tideline_informer_cluster_owned',
      help: '1 while this replica owns the cluster and publishes it (sharding), else 0.',
      labelNames: ['cluster'],
      registers,
    }),
  };
}
