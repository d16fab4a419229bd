import { verifierFromConfig } from '@tideline/auth';
import { type EventBus, serviceBus } from '@tideline/bus';
import { openApiDocument } from '@tideline/contracts';
import { type RunningService, type RunOptions, runService } from '@tideline/runtime';
import { ClusterLeases, redisConnectionSpec } from '@tideline/stateful';
import { ClusterRegistry } from './cluster-registry.ts';
import { type InformerConfig, rules, settings } from './config.ts';
import { registerClusterRoutes } from './http/cluster-routes.ts';
import { registerOperatorRoutes } from './http/operator-routes.ts';
import { loadInClusterConfig } from './kube/in-cluster.ts';
import { parseClusterEntries } from './kube/kubeconfig.ts';
import { createInformerMetrics } from './metrics.ts';
import { recoverLedger } from './pipeline/recovery.ts';
import { openRegistrationStore } from './registrations/open.ts';
import { ShardCoordinator } from './sharding/coordinator.ts';

const SERVICE_NAME = 'informer';

export interface StartInformerOptions extends RunOptions {
  /** An event bus started and stopped by the caller; default: the one the configuration names, started and stopped by the informer. */
  bus?: EventBus;
}

export interface RunningInformer extends RunningService<InformerConfig> {
  /** The registered clusters, for in-process inspection (tests and benchmarks wait on its publishers and watchers). */
  readonly registry: ClusterRegistry;
  /** With TIDELINE_INFORMER_SHARDING: the membership and lease loop of this replica. */
  readonly coordinator: ShardCoordinator | undefined;
}

/**
 * Starts the informer: rebuilds what it published from the nodes topic (so event ids continue
 * where they stopped), registers the configured clusters and serves cluster administration.
 * `/readyz` is ready when the bus is connected and every registered cluster is listed and watched.
 */
export async function startInformer(options: StartInformerOptions = {}): Promise<RunningInformer> {
  let registry: ClusterRegistry | undefined;
  let coordinator: ShardCoordinator | undefined;
  const running = await runService(
    {
      name: SERVICE_NAME,
      settings,
      rules,
      listen: (config) => ({ port: config.port, host: config.host }),
      apiDocuments: { openapi: openApiDocument('informer') },
      start: async ({ config, instanceId, logger, http, readiness, onStop, metrics }) => {
        const verifier = verifierFromConfig(config, logger);
        const bus = await serviceBus({
          given: options.bus,
          config,
          clientName: `informer-${instanceId}`,
          logger,
          onStop,
          metrics,
        });
        readiness.add('bus', () => bus.healthy());
        const ledger = await recoverLedger({ bus, pageSize: config.informerRecoveryPageSize, logger });
        // ---- issue 14, item 4: runtime registrations kept across restarts ----
        let registrationFailure: ((name: string, reason: string) => void) | undefined;
        const store = await openRegistrationStore({
          config,
          instanceId,
          logger,
          onStop,
          onUnreadable: (error) => registrationFailure?.(error.cluster, error.message),
        });
        if (config.informerSharding) {
          const leases = new ClusterLeases({
            ...redisConnectionSpec(config, {
              connectionName: `informer:${instanceId}`,
              // Name and code only: a connection error must never carry credentials into the log.
              onConnectionError: (error) =>
                logger.warn(
                  { error: error.name, code: (error as NodeJS.ErrnoException).code },
                  'lease store: Redis connection error',
                ),
            }),
            ns: config.statefulNamespace,
            group: config.busPrefix,
          });
          await leases.connect();
          onStop('lease store', () => leases.close());
          readiness.add('leases', () => leases.healthy());
          coordinator = new ShardCoordinator({
            leases,
            me: instanceId,
            leaseTtlMs: config.informerLeaseTtlMs,
            renewIntervalMs: config.informerLeaseRenewIntervalMs,
            recoveryPageSize: config.informerRecoveryPageSize,
            // A Redis store is shared by the replicas: API registrations are sharded too.
            sharedRegistrations: config.informerRegistrationStore === 'redis',
            logger,
          });
        }
        const sharding = coordinator;
        const clusters = new ClusterRegistry({
          ...(sharding ? { sharding } : {}),
          bus,
          ledger,
          logger,
          metrics: createInformerMetrics(metrics),
          publishBackoff: {
            initialMs: config.informerPublishBackoffMs,
            maxMs: config.informerPublishBackoffMaxMs,
          },
          apiPolicy: {
            allowExecAndFiles: config.informerApiAllowExecAndFiles,
            allowInsecureServers: config.informerApiAllowInsecureServers,
            serverHosts: config.informerApiServerHosts,
          },
          watch: {
            listPageSize: config.informerListPageSize,
            watchTimeoutSeconds: config.informerWatchTimeoutSeconds,
            watchIdleTimeoutMs: config.informerWatchIdleTimeoutMs,
            watchBookmarks: config.informerWatchBookmarks,
            watchdogMs: config.informerWatchdogMs,
            resyncIntervalMs: config.informerResyncIntervalMs,
            restartBackoffMs: config.informerRestartBackoffMs,
            restartBackoffMaxMs: config.informerRestartBackoffMaxMs,
          },
          store,
        });
        registrationFailure = (name, reason) => clusters.unrestorable(name, reason);
        registry = clusters;
        onStop('clusters', () => clusters.stop());
        readiness.add('clusters', () => clusters.ready());
        for (const entry of parseClusterEntries(config.informerClusters)) {
          await clusters.register(entry.name, { path: entry.path, context: entry.context }, 'config');
        }
        // ---- issue 14, item 5: the cluster the informer runs in ----
        if (config.informerInClusterName !== undefined) {
          const serviceAccountDir = config.informerInClusterServiceAccountDir;
          await clusters.register(
            config.informerInClusterName,
            { load: () => loadInClusterConfig({ serviceAccountDir }) },
            'config',
          );
        }
        await clusters.restore(await store.list());
        if (sharding) {
          // Stops before the clusters (stop steps run in reverse): hands them over, releases the leases.
          onStop('sharding', () => sharding.stop());
          await sharding.start(clusters);
        }
        registerClusterRoutes(http, { registry: clusters, verifier });
        registerOperatorRoutes(http, { registry: clusters, verifier });
      },
    },
    options,
  );
  return Object.assign(running, { registry: registry!, coordinator });
}
