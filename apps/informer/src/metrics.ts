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
  };
}
