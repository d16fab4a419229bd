import { serviceVerifierFromConfig, verifierFromConfig } from '@tideline/auth';
import { type EventBus, serviceBus } from '@tideline/bus';
import { openApiDocument } from '@tideline/contracts';
import { type RunningService, type RunOptions, runService } from '@tideline/runtime';
import { createStatefulExecutor, type StatefulExecutor } from '@tideline/stateful';
import { compactHeap } from './adapters/heap-compaction.ts';
import { NodesFeed } from './adapters/nodes-feed.ts';
import { type CacheConfig, rules, settings } from './config.ts';
import { NodeReadModel } from './domain/read-model.ts';
import { registerInternalRoutes } from './http/internal-routes.ts';
import { registerNodeRoutes } from './http/node-routes.ts';
import { registerOperatorRoutes } from './http/operator-routes.ts';
import { registerOperatorViewRoutes } from './http/operator-view-routes.ts';
import { createCacheMetrics } from './metrics.ts';

const SERVICE_NAME = 'cache';

export interface StartCacheOptions extends RunOptions {
  /** An event bus started and stopped by the caller; default: the one the configuration names, started and stopped by the cache. */
  bus?: EventBus;
  /** A stateful executor connected and closed by the caller; default: one on TIDELINE_REDIS_URL, connected and closed by the cache. */
  stateful?: StatefulExecutor;
}

export interface RunningCache extends RunningService<CacheConfig> {
  /** The read model, for in-process queries (answers are synchronous and exact as of their lastEventId). */
  readonly model: NodeReadModel;
}

/**
 * Starts the cache: subscribes to the nodes topic, rebuilds the read model from its first
 * retained event, then follows it live; serves node queries, the push-gateway's internal snapshot
 * and replay endpoints, and operator reads of the stateful executor. `/readyz` is ready once the
 * read model caught up with the bus and the bus is connected. Between the two, one
 * memory-reducing collection (TIDELINE_CACHE_COMPACT_AFTER_CATCH_UP) hands back what the
 * rebuild's garbage left committed.
 */
export async function startCache(options: StartCacheOptions = {}): Promise<RunningCache> {
  let model: NodeReadModel | undefined;
  const running = await runService(
    {
      name: SERVICE_NAME,
      settings,
      rules,
      listen: (config) => ({ port: config.port, host: config.host }),
      apiDocuments: { openapi: openApiDocument('cache') },
      start: async ({ config, instanceId, logger, http, readiness, onStop, metrics }) => {
        const verifier = verifierFromConfig(config, logger);

        let executor = options.stateful;
        if (!executor) {
          const owned = createStatefulExecutor({
            config,
            connectionName: `cache:${instanceId}`,
            metrics,
            onConnectionError: (err) => logger.debug({ err }, 'redis connection error'),
          });
          onStop('redis', () => owned.close());
          await owned
            .connect()
            .catch((err: unknown) =>
              logger.warn({ err }, 'redis unreachable; operator endpoints answer 503 until it is back'),
            );
          executor = owned;
        }

        const bus = await serviceBus({
          given: options.bus,
          config,
          clientName: `cache-${instanceId}`,
          logger,
          onStop,
          metrics,
        });
        const nodes = new NodeReadModel(config.cacheNodeHistorySize);
        const cacheMetrics = createCacheMetrics(metrics, nodes);
        const nodesFeed = new NodesFeed({
          bus,
          model: nodes,
          group: `cache-${instanceId}`,
          pageSize: config.cacheCatchUpPageSize,
          endReads: config.cacheCatchUpEndReads,
          logger,
          onApplied: (outcome) => cacheMetrics.events.inc({ outcome }),
        });
        onStop('nodes feed', () => nodesFeed.stop());
        await nodesFeed.start();
        if (config.cacheCompactAfterCatchUp) {
          const { ms, heapUsedBefore, heapUsedAfter } = compactHeap();
          logger.info(
            { ms: Math.round(ms), heapUsedBefore, heapUsedAfter },
            'heap compacted after the catch-up',
          );
        }
        readiness.add('bus', () => bus.healthy());
        readiness.add('caught-up', () => nodesFeed.ready);
        model = nodes;

        registerNodeRoutes(http, {
          model: nodes,
          verifier,
          pageSizeDefault: config.cachePageSizeDefault,
          pageSizeMax: config.cachePageSizeMax,
        });
        registerInternalRoutes(http, { model: nodes, verifier: serviceVerifierFromConfig(config, logger) });
        registerOperatorRoutes(http, { executor, namespace: config.statefulNamespace, verifier });
        registerOperatorViewRoutes(http, {
          model: nodes,
          bus,
          deadLetterPageSize: config.deadLetterPageSize,
          verifier,
        });
      },
    },
    options,
  );
  return Object.assign(running, { model: model! });
}
