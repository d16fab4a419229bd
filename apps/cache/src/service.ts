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
 * Starts the cache: subscribes to the nodes topic, listens, rebuilds the read model from the
 * topic's first retained event, then follows it live; serves node queries, the push-gateway's
 * internal snapshot and replay endpoints, and operator reads of the stateful executor. It listens
 * before the rebuild: `/healthz` answers at once, `/readyz` is ready once the read model caught up
 * with the bus and the bus is connected, and until then the model's answers are 503 UNAVAILABLE.
 * After the rebuild, one memory-reducing collection (TIDELINE_CACHE_COMPACT_AFTER_CATCH_UP) hands
 * back what the rebuild's garbage left committed. Resolves once caught up (or once stopped, when
 * a stop came during the rebuild: the model is then partial and the service stopping); a rebuild
 * that fails stops the service and rejects.
 */
export async function startCache(options: StartCacheOptions = {}): Promise<RunningCache> {
  let model: NodeReadModel | undefined;
  let catchingUp: Promise<void> | undefined;
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
        await nodesFeed.subscribe();
        // The model answers (routes and readiness alike) once the rebuild below caught up.
        const caughtUp = () => nodesFeed.ready;
        readiness.add('bus', () => bus.healthy());
        readiness.add('caught-up', caughtUp);
        model = nodes;

        registerNodeRoutes(http, {
          model: nodes,
          caughtUp,
          verifier,
          pageSizeDefault: config.cachePageSizeDefault,
          pageSizeMax: config.cachePageSizeMax,
        });
        registerInternalRoutes(http, {
          model: nodes,
          caughtUp,
          verifier: serviceVerifierFromConfig(config, logger),
        });
        registerOperatorRoutes(http, { executor, namespace: config.statefulNamespace, verifier });
        registerOperatorViewRoutes(http, {
          model: nodes,
          caughtUp,
          bus,
          deadLetterPageSize: config.deadLetterPageSize,
          verifier,
        });

        // The rebuild runs while the service listens: /healthz answers from the start (a long
        // rebuild is not taken for a hung process), /readyz and the model's answers wait for it.
        catchingUp = nodesFeed.catchUp().then((caughtUp) => {
          // Stopped during the rebuild: the service is draining, no compaction.
          if (!caughtUp || !config.cacheCompactAfterCatchUp) return;
          const { ms, heapUsedBefore, heapUsedAfter } = compactHeap();
          logger.info(
            { ms: Math.round(ms), heapUsedBefore, heapUsedAfter },
            'heap compacted after the catch-up',
          );
        });
        // Awaited below, once listening; a failure there stops the service.
        catchingUp.catch(() => {});
      },
    },
    options,
  );
  try {
    await catchingUp;
  } catch (error) {
    await running.stop('the nodes read model could not be rebuilt');
    throw error;
  }
  return Object.assign(running, { model: model! });
}
