import { serviceVerifierFromConfig, verifierFromConfig } from '@tideline/auth';
import { createBusMetrics, createEventBus } from '@tideline/bus';
import { redisConnectionOptions } from '@tideline/config';
import { openApiDocument } from '@tideline/contracts';
import type { Database } from '@tideline/db';
import { type RunningService, type RunOptions, runService } from '@tideline/runtime';
import { BusConnector } from './adapters/bus-connector.ts';
import { migrateDatabase, openDatabase } from './adapters/database.ts';
import { PostgresEventLog } from './adapters/event-log/postgres-event-log.ts';
import { PostgresRelayState } from './adapters/event-log/relay-state.ts';
import { PrismaWebsiteStore } from './adapters/prisma-website-store.ts';
import { RedisWriteCounter } from './adapters/redis-write-counter.ts';
import { EventRelay } from './adapters/relay.ts';
import { RetentionLoop } from './adapters/retention-loop.ts';
import { rules, settings, type WebsiteApiConfig } from './config.ts';
import { registerInternalRoutes } from './http/internal-routes.ts';
import { registerOperatorRoutes } from './http/operator-routes.ts';
import { rememberVerifiedTokens } from './http/remembered-tokens.ts';
import { registerWebsiteRoutes } from './http/website-routes.ts';
import { installWriteRateLimit } from './http/write-rate-limit.ts';

export interface StartWebsiteApiOptions extends RunOptions {
  /**
   * Benchmark baseline only: changes write no events and nothing is relayed. This breaks
   * invariant 1 and is therefore an option of this function, never a configuration setting.
   */
  withoutEventLog?: boolean;
}

/** A running website-api, with its relay, event log and database exposed for tests and tools. */
export interface WebsiteApi extends RunningService<WebsiteApiConfig> {
  readonly relay: EventRelay;
  readonly eventLog: PostgresEventLog;
  readonly database: Database;
}

/**
 * Starts website-api: configuration (from `options.source`, else the environment) → migrations
 * (when enabled) → database → event log → bus (in the background: writes do not wait for the
 * broker) → relay and retention loops → routes → listen. Stops in reverse: new requests are
 * refused and running ones finish, then retention and relay stop, the bus drains, the pool closes.
 * Throws a ConfigError for invalid configuration and the cause when the database is unreachable.
 */
export async function startWebsiteApi(options: StartWebsiteApiOptions = {}): Promise<WebsiteApi> {
  let parts: Pick<WebsiteApi, 'relay' | 'eventLog' | 'database'> | undefined;
  const running = await runService(
    {
      name: 'website-api',
      settings,
      rules,
      listen: (config) => ({ port: config.port, host: config.host }),
      apiDocuments: { openapi: openApiDocument('website-api') },
      async start({ instanceId, config, logger, metrics, http, readiness, onStop }) {
        if (config.migrateOnStart) {
          const applied = await migrateDatabase(config);
          if (applied.length > 0) logger.info({ applied }, 'database migrated');
        }
        const database = openDatabase(config, {
          applicationName: 'website-api',
          onIdleError: (error) => logger.warn({ err: error }, 'idle database connection lost'),
        });
        onStop('database pool', () => database.close());

        const eventLog = new PostgresEventLog({ prisma: database.prisma });
        await eventLog.ensureTopic();

        const relay: EventRelay = new EventRelay({
          state: new PostgresRelayState({ pool: database.pool, topic: eventLog.topic }),
          owner: instanceId,
          bus: () => connector.current,
          batchSize: config.relayBatchSize,
          intervalMs: config.relayIntervalMs,
          progressIntervalMs: config.relayProgressIntervalMs,
          leaseMs: config.relayLeaseMs,
          logger: logger.child({ component: 'relay' }),
          metrics,
        });
        const busMetrics = createBusMetrics({
          registry: metrics,
          lagSampleTimeoutMs: config.busLagSampleTimeoutMs,
        });
        const connector = new BusConnector({
          create: () =>
            createEventBus({
              config,
              clientName: `website-api-${instanceId}`,
              logger: logger.child({ component: 'bus' }),
              observer: busMetrics.observer,
            }),
          retryMs: config.busStartRetryMs,
          logger,
          onStarted: () => relay.kick(),
        });
        onStop('event bus', () => connector.stop());
        onStop('relay', () => relay.stop());

        const retention = new RetentionLoop({
          log: eventLog,
          policy: {
            maxAgeSeconds: config.retentionMaxAgeSeconds,
            maxRows: config.retentionMaxRows,
            batchRows: config.retentionBatchRows,
          },
          intervalMs: config.retentionIntervalMs,
          maxBatches: config.retentionMaxBatches,
          logger,
          metrics,
        });
        onStop('retention', () => retention.stop());

        const store = new PrismaWebsiteStore({
          prisma: database.prisma,
          statements: database.statements,
          eventLog: options.withoutEventLog ? null : eventLog,
          onCommitted: (event) => relay.committed(event),
          writeLockTries: config.writeLockTries,
          writeBatchMax: config.writeBatchMax,
        });
        const verifier = rememberVerifiedTokens(verifierFromConfig(config, logger), {
          size: config.verifiedTokenCacheSize,
          // A JWKS is fetched again after its max age: a retired key's tokens are then refused.
          maxAgeMs: config.jwtJwksUrl ? config.jwtJwksCacheMaxAgeMs : undefined,
        });
        // The broker does not gate readiness: writes commit while it is away and the relay catches up.
        readiness.observe('bus', () => connector.healthy());
        readiness.observe('relayLeader', () => relay.isLeader);
        const writeCounter = new RedisWriteCounter({
          url: config.redisUrl,
          connection: redisConnectionOptions(config),
          commandTimeoutMs: config.redisCommandTimeoutMs,
          keyPrefix: config.writeRateLimitKeyPrefix,
          max: config.writeRateLimitMax,
          windowMs: config.writeRateLimitWindowMs,
          reserveMax: config.writeRateLimitReserveMax,
          subjectsMax: config.writeRateLimitSubjectsMax,
          connectionName: `website-api-${instanceId}`,
          logger,
          metrics,
        });
        onStop('write rate limit', () => writeCounter.stop());
        await writeCounter.start();
        // Redis does not gate readiness: while it is away writes are not limited (fail open).
        readiness.observe('rateLimitStore', () => writeCounter.ready);
        await installWriteRateLimit(http, { counter: writeCounter, verifier });
        registerWebsiteRoutes(http, { store, verifier });
        registerOperatorRoutes(http, { pool: database.pool, topic: eventLog.topic, verifier });
        registerInternalRoutes(http, { log: eventLog, verifier: serviceVerifierFromConfig(config, logger) });
        readiness.add('database', () => database.ping());

        connector.start();
        relay.start();
        retention.start();
        parts = { relay, eventLog, database };
      },
    },
    options,
  );
  return { ...running, ...parts! };
}
