import { verifierFromConfig } from '@tideline/auth';
import { type EventBus, type Subscription, serviceBus } from '@tideline/bus';
import { type ConfigOf, redisConnectionOptions } from '@tideline/config';
import { asyncApiDocument, openApiDocument } from '@tideline/contracts';
import { type RunningService, type RunOptions, runService, type ServiceContext } from '@tideline/runtime';
import { createStatefulExecutor, PodPresence } from '@tideline/stateful';
import { consumeFeeds } from './adapters/bus-feeds.ts';
import { consumePushes } from './adapters/push-consumer.ts';
import { RedisRooms } from './adapters/redis-rooms.ts';
import { type PushGatewayConfig, pushGatewayRules, pushGatewaySettings } from './config.ts';
import type { NodesSource, WebsitesSource } from './domain/ports.ts';
import { registerOperatorRoutes } from './http/operator-routes.ts';
import { createGatewayMetrics } from './metrics.ts';
import { serveConnection } from './socket/connection.ts';
import { SocketEmitter } from './socket/emitter.ts';
import { handshake } from './socket/handshake.ts';
import { outboundBytesWaiting } from './socket/outbound.ts';
import { ClientRateLimit } from './socket/rate-limit.ts';
import { ScopePool } from './socket/scope-pool.ts';
import { TokenExpiries } from './socket/token-expiry.ts';
import { createFeeds } from './wiring/feeds.ts';
import { closeSocketServer, createSocketServer } from './wiring/io.ts';
import { sourcesOf } from './wiring/sources.ts';

export const SERVICE_NAME = 'push-gateway';

export interface PushGatewayOptions extends RunOptions {
  /** Where website snapshots/replays come from; default: website-api's internal HTTP endpoints. */
  websitesSource?: WebsitesSource;
  /** Where node snapshots/replays come from; default: the cache's internal HTTP endpoints. */
  nodesSource?: NodesSource;
  /**
   * The event bus; default: one of the configuration's own, started and stopped with the gateway.
   * A bus passed here is started and stopped by the caller, never by the gateway.
   */
  bus?: EventBus;
}

export type RunningPushGateway = RunningService<PushGatewayConfig>;

type GatewayContext = ServiceContext<ConfigOf<typeof pushGatewaySettings>>;

async function start(context: GatewayContext, options: PushGatewayOptions): Promise<void> {
  const { config, logger, http, readiness, instanceId } = context;
  const metrics = createGatewayMetrics(context.metrics);
  const verifier = verifierFromConfig(config, logger);
  const sources = sourcesOf(config, SERVICE_NAME, metrics, {
    websites: options.websitesSource,
    nodes: options.nodesSource,
  });

  // Registered first, stopped last: the stop steps run in reverse order of registration.
  const executor = createStatefulExecutor({
    config,
    connectionName: `${SERVICE_NAME}:${instanceId}:presence`,
    metrics: context.metrics,
    onConnectionError: (error) => logger.warn({ err: error }, 'redis (presence) error'),
  });
  await executor.connect();
  const presence = PodPresence.fromConfig({
    executor,
    config,
    service: SERVICE_NAME,
    podId: instanceId,
    onError: (error) => logger.warn({ err: error }, 'presence heartbeat failed'),
  });
  await presence.start();
  context.onStop('presence', async () => {
    await presence.stop();
    await executor.close();
  });

  const redis = await RedisRooms.connect({
    url: config.redisUrl,
    connection: redisConnectionOptions(config),
    commandTimeoutMs: config.redisCommandTimeoutMs,
    connectTimeoutMs: config.statefulConnectTimeoutMs,
    connectionName: `${SERVICE_NAME}:${instanceId}:rooms`,
    logger,
  });
  context.onStop('redis', () => redis.close());
  readiness.add('redis', () => redis.ready);

  const bus = await serviceBus({
    given: options.bus,
    config,
    clientName: `${SERVICE_NAME}:${instanceId}`,
    logger,
    onStop: context.onStop,
    metrics: context.metrics,
  });
  readiness.add('bus', () => bus.healthy());

  const io = createSocketServer(http.server, config, redis);
  const emitter = new SocketEmitter(
    io,
    metrics,
    config.environment === 'test' ? config.gatewayTestDropEvery : 0,
  );
  metrics.measureOutboundQueue(() => outboundBytesWaiting(io.of('/').sockets.values()));
  context.onStop('socket.io', () => closeSocketServer(io, emitter, config));

  const { websites, nodes } = createFeeds({ config, sources, emitter, metrics, logger });

  let accepting = true;
  const rateLimit = new ClientRateLimit({
    events: config.gatewayRateLimitEvents,
    windowSeconds: config.gatewayRateLimitWindowSeconds,
  });
  // Per-user sockets across all gateways, leased in Redis and renewed by the presence heartbeat.
  const cap = {
    max: config.gatewayMaxConnectionsPerUser,
    counter: presence,
    onReleaseError: (error: unknown) => logger.warn({ err: error }, 'connection cap release failed'),
  };
  io.use(
    handshake({
      verifier,
      accepting: () => accepting,
      onRefused: (reason) => metrics.authFailures.inc({ reason }),
      cap,
    }),
  );
  // One options object for every socket: a connection keeps a reference, not a copy.
  const connectionOptions = {
    verifier,
    websites,
    nodes,
    emitter,
    rateLimit,
    metrics,
    logger,
    expiries: new TokenExpiries({
      graceMs: config.jwtClockToleranceMs,
      maxWaitMs: config.gatewayTokenExpiryCheckMaxMs,
    }),
    scopes: new ScopePool(),
    cap,
    outboundQueueLimitBytes: config.gatewayOutboundQueueLimitBytes,
    slowConsumerCloseGraceMs: config.gatewaySlowConsumerCloseGraceMs,
    presence,
  };
  io.on('connection', (socket) => serveConnection(socket, connectionOptions));

  registerOperatorRoutes(http, { io, instanceId, disconnects: metrics.disconnects, verifier });

  const subscriptions: Subscription[] = await consumeFeeds({
    bus,
    instanceId,
    websites,
    nodes,
    logger,
    onInvalid: (topic) => metrics.invalidEvents.inc({ topic }),
  });
  subscriptions.push(
    await consumePushes({
      bus,
      instanceId,
      concurrency: config.gatewayPushConcurrency,
      dedupIds: config.gatewayPushDedupIds,
      logger,
      emit: (room, event, data) => emitter.push(room, event, data),
      onPush: (target, outcome) => metrics.pushes.inc({ target_kind: target, outcome }),
    }),
  );
  context.onStop('consumers', async () => {
    await Promise.allSettled(subscriptions.map((subscription) => subscription.stop()));
  });

  // Runs first on stop (runService has already marked the service not ready): refuse new sockets.
  context.onStop('stop accepting', async () => {
    accepting = false;
    await presence.drain().catch((error: unknown) => logger.warn({ err: error }, 'presence drain failed'));
  });
  await presence.ready();
  logger.info({ instanceId }, 'push-gateway wired');
}

/**
 * Starts a push-gateway: Socket.IO at `/socket.io/` on the same port as `/healthz`, `/readyz`
 * and `/metrics`. Stops gracefully on `stop()` (and on SIGTERM/SIGINT with `handleSignals`):
 * not ready and refusing new sockets, stops consuming, tells its sockets to reconnect elsewhere,
 * closes them, then exits.
 */
export function startPushGateway(options: PushGatewayOptions = {}): Promise<RunningPushGateway> {
  return runService(
    {
      name: SERVICE_NAME,
      settings: pushGatewaySettings,
      rules: pushGatewayRules,
      listen: (config) => ({ port: config.port, host: config.host }),
      apiDocuments: { openapi: openApiDocument('push-gateway'), asyncapi: asyncApiDocument() },
      start: (context) => start(context, options),
    },
    options,
  );
}
