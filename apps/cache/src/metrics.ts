import { Counter, Gauge, type Registry } from '@tideline/runtime';
import type { NodeReadModel } from './domain/read-model.ts';

/** The cache's Prometheus metrics. */
export interface CacheMetrics {
  /** Events handed to the read model, by outcome (applied, duplicate, gap, invalid). */
  events: Counter<'outcome'>;
}

export function createCacheMetrics(registry: Registry, model: NodeReadModel): CacheMetrics {
  const registers = [registry];
  new Gauge({
    name: 'tideline_cache_nodes',
    help: 'Nodes held per cluster.',
    labelNames: ['cluster'],
    registers,
    collect() {
      this.reset();
      for (const cluster of model.clusterNames()) this.set({ cluster }, model.summary(cluster).nodes);
    },
  });
  new Gauge({
    name: 'tideline_cache_last_event_id',
    help: 'Last applied event id per cluster.',
    labelNames: ['cluster'],
    registers,
    collect() {
      this.reset();
      for (const cluster of model.clusterNames()) this.set({ cluster }, model.lastEventIdOf(cluster));
    },
  });
  return {
    events: new Counter({
      name: 'tideline_cache_events_total',
      help: 'Node topic events handed to the read model, by outcome.',
      labelNames: ['outcome'],
      registers,
    }),
  };
}
