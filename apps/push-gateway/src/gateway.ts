import { setTimeout as sleep } from 'node:timers/promises';
import { jwtSecretOf, ServiceTokenSource, verifierFromConfig } from '@tideline/auth';
import { createEventBus, type EventBus, type Subscription } from '@tideline/bus';
import type { ConfigOf } from '@tideline/config';
import {
  type NodesInitial,
  type NodesUpdate,
  rooms,
  type WebsitesInitial,
  type WebsitesUpdate,
} from '@tideline/contracts';
import {
  type Logger,
  type RunningService,
  type RunOptions,
  runService,
  type ServiceContext,
} from '@tideline/runtime';
import { createStatefulExecutor, PodPresence } from '@tideline/stateful';
import { Server } from 'socket.io';
import { consumeFeeds } from './adapters/bus-feeds.ts';
import { CacheNodesSource } from './adapters/cache-source.ts';
import { InternalHttpClient } from './adapters/internal-http.ts';
import { consumePushes } from './adapters/push-consumer.ts';
import { RedisRooms } from './adapters/redis-rooms.ts';
import { WebsiteApiSource } from './adapters/website-api-source.ts';
import { type PushGatewayConfig, pushGatewayRules, pushGatewaySettings } from './config.ts';
import { ClusterFeeds } from './domain/cluster-feeds.ts';
import { Feed, type FeedObserver } from './domain/feed.ts';
import type { NodesSource, WebsitesSource } from './domain/ports.ts';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.ts';
import { localRoomEmitter } from './push/local-rooms.ts';
import { serveConnection } from './socket/connection.ts';
import { handshake } from './socket/handshake.ts';
import { ClientRateLimit } from './socket/rate-limit.ts';
import type { GatewayServer } from './socket/types.ts';

export const SERVICE_NAME = 'push-gateway';

export interface PushGatewayOptions extends RunOptions {
  /** Where website snapshots/replays come from; default: website-api's internal HTTP endpoints. */
  websitesSource?: WebsitesSource;
  /** Where node snapshots/replays come from; default: the cache's internal HTTP endpoints. */
  nodesSource?: NodesSource;
  /** The event bus; default: the one the configuration names. Stopped with the gateway either way. */
  bus?: EventBus;
}

export interface RunningPushGateway extends RunningService<PushGatewayConfig> {
  /** This gateway's identity (pod id). */
  readonly podId: string;
}

function feedObserver(
  metrics: GatewayMetrics,
  logger: Logger,
  feed: 'websites' | 'nodes',
  updateEvent: string,
): FeedObserver {
  return {
    gapRepair: (memberId, afterEventId) => {
      metrics.gapRepairs.inc({ feed, outcome: 'started' });
      logger.warn({ feed, socket: memberId, afterEventId }, 'live stream skipped ids; repairing by replay');
    },
    repairFailed: (error) => {
      metrics.gapRepairs.inc({ feed, outcome: 'failed' });
      logger.warn({ feed, err: error }, 'gap repair failed; retried after the gap wait');
    },
    joined: () => metrics.roomJoins.inc({ room_kind: feed }),
    synced: (mode, reason) => metrics.syncs.inc({ feed, mode, reason }),
    outOfOrder: () => metrics.outOfOrderEvents.inc({ feed }),
    delivered: (recipients, occurredAtMs) => {
      if (recipients === 0) return;
      metrics.emits.inc({ event: updateEvent }, recipients);
      if (occurredAtMs !== undefined && Number.isFinite(occurredAtMs)) {
        metrics.deliveryLag.observe({ feed }, Math.max(0, Date.now() - occurredAtMs) / 1000);
      }
    },
  };
}

/**
 * Tells every socket of this gateway to reconnect elsewhere (`server:reconnect`, with a random
 * `retryAfterMs` so they do not all come back at once), gives them `graceMs` to go, then closes
 * their connections. The close is a transport close, so a client that ignores the message still
 * reconnects on its own and resumes from its lastEventId.
 */
async function drainSockets(
  io: GatewayServer,
  config: PushGatewayConfig,
  metrics: GatewayMetrics,
): Promise<void> {
  const sockets = [...io.of('/').sockets.values()];
  if (sockets.length === 0) return;
  for (const socket of sockets) {
    const retryAfterMs = Math.floor(Math.random() * (config.gatewayReconnectJitterMs + 1));
    socket.emit('server:reconnect', { reason: 'draining', retryAfterMs });
  }
  metrics.emits.inc({ event: 'server:reconnect' }, sockets.length);
  await sleep(config.gatewayDrainGraceMs);
  for (const socket of io.of('/').sockets.values()) socket.conn.close();
}

async function start(
  context: ServiceContext<ConfigOf<typeof pushGatewaySettings>>,
  options: PushGatewayOptions,
  podId: string,
) {
  const { config, logger, http, readiness } = context;
  const metrics = createGatewayMetrics(context.metrics);
  const verifier = verifierFromConfig(config, logger);

  const requests = (source: string, kind: (path: string) => string) => (path: string, outcome: string) =>
    metrics.sourceRequests.inc({ source, kind: kind(path), outcome });
  const kindOf = (path: string) => (path.endsWith('/snapshot') ? 'snapshot' : 'replay');
  let websitesSource = options.websitesSource;
  let nodesSource = options.nodesSource;
  if (!websitesSource || !nodesSource) {
    const tokens = new ServiceTokenSource({
      configured: config.serviceToken,
      secret: jwtSecretOf(config),
      service: SERVICE_NAME,
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      lifetimeSeconds: config.serviceTokenLifetimeSeconds,
    });
    const client = (baseUrl: string, source: string) =>
      new InternalHttpClient({
        baseUrl,
        token: () => tokens.get(),
        timeoutMs: config.gatewaySourceTimeoutMs,
        onResponse: requests(source, kindOf),
      });
    websitesSource ??= new WebsiteApiSource(client(config.websiteApiUrl, 'website-api'));
    nodesSource ??= new CacheNodesSource(client(config.cacheUrl, 'cache'));
  }
  const nodeSource = nodesSource;

  // Registered first, stopped last: the stop steps run in reverse order of registration.
  const executor = createStatefulExecutor({
    config,
    connectionName: `${SERVICE_NAME}:${podId}:presence`,
    onConnectionError: (error) => logger.warn({ err: error }, 'redis (presence) error'),
  });
  await executor.connect();
  const presence = PodPresence.fromConfig({
    executor,
    config,
    service: SERVICE_NAME,
    podId,
    onError: (error) => logger.warn({ err: error }, 'presence heartbeat failed'),
  });
  await presence.start();
  context.onStop('presence', async () => {
    await presence.stop();
    await executor.close();
  });

  const redis = await RedisRooms.connect({
    url: config.redisUrl,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    connectTimeoutMs: config.statefulConnectTimeoutMs,
    connectionName: `${SERVICE_NAME}:${podId}:rooms`,
    logger,
  });
  context.onStop('redis', () => redis.close());
  readiness.add('redis', () => redis.ready);

  const bus = options.bus ?? createEventBus({ config, clientName: `${SERVICE_NAME}:${podId}`, logger });
  await bus.start();
  context.onStop('bus', () => bus.drain());
  readiness.add('bus', () => bus.healthy());

  const io: GatewayServer = new Server(http.server, {
    path: '/socket.io/',
    serveClient: false,
    pingInterval: config.gatewayPingIntervalMs,
    pingTimeout: config.gatewayPingTimeoutMs,
    maxHttpBufferSize: config.gatewayMaxMessageBytes,
    cors: {
      origin: config.gatewayCorsOrigins.includes('*') ? '*' : config.gatewayCorsOrigins,
      credentials: false,
    },
    adapter: redis.adapter({
      key: config.gatewayAdapterKey,
      requestsTimeoutMs: config.gatewayAdapterRequestsTimeoutMs,
    }),
  });
  context.onStop('socket.io', async () => {
    await drainSockets(io, config, metrics);
    io.local.disconnectSockets(true);
    io.engine.close();
    await io.of('/').adapter.close();
  });

  const feedOptions = {
    replayLimit: config.gatewayReplayLimit,
    snapshotReuseMs: config.gatewaySnapshotReuseMs,
    bufferMaxEvents: config.gatewaySyncBufferMaxEvents,
    gapWaitMs: config.gatewayGapWaitMs,
  };
  const websites = new Feed<WebsitesInitial, WebsitesUpdate>({
    ...feedOptions,
    room: rooms.websites,
    source: websitesSource,
    broadcast: (room, except, message) => io.local.to(room).except(except).emit('websites:update', message),
    observer: feedObserver(metrics, logger, 'websites', 'websites:update'),
  });
  const nodes = new ClusterFeeds<NodesInitial, NodesUpdate>(
    (cluster) =>
      new Feed<NodesInitial, NodesUpdate>({
        ...feedOptions,
        room: rooms.nodes(cluster),
        source: {
          snapshot: () => nodeSource.snapshot(cluster),
          replay: (request) => nodeSource.replay(cluster, request),
        },
        broadcast: (room, except, message) => io.local.to(room).except(except).emit('nodes:update', message),
        observer: feedObserver(metrics, logger, 'nodes', 'nodes:update'),
      }),
  );

  let accepting = true;
  const rateLimit = new ClientRateLimit({
    events: config.gatewayRateLimitEvents,
    windowSeconds: config.gatewayRateLimitWindowSeconds,
  });
  io.use(
    handshake({
      verifier,
      accepting: () => accepting,
      onRefused: (reason) => metrics.authFailures.inc({ reason }),
    }),
  );
  io.on('connection', (socket) =>
    serveConnection(socket, {
      verifier,
      websites,
      nodes,
      rateLimit,
      metrics,
      logger,
      expiryGraceMs: config.jwtClockToleranceMs,
      expiryCheckMaxMs: config.gatewayTokenExpiryCheckMaxMs,
      presence,
    }),
  );

  const subscriptions: Subscription[] = await consumeFeeds({
    bus,
    podId,
    websites,
    nodes,
    logger,
    onInvalid: (topic) => metrics.invalidEvents.inc({ topic }),
  });
  subscriptions.push(
    await consumePushes({
      bus,
      podId,
      concurrency: config.gatewayPushConcurrency,
      dedupIds: config.gatewayPushDedupIds,
      logger,
      emit: localRoomEmitter(io),
      onPush: (target, outcome, recipients) => {
        metrics.pushes.inc({ target_kind: target, outcome });
        if (recipients > 0) metrics.emits.inc({ event: 'push' }, recipients);
      },
    }),
  );
  context.onStop('consumers', async () => {
    await Promise.allSettled(subscriptions.map((subscription) => subscription.stop()));
  });

  // Runs first on stop: refuse new sockets and report not ready before anything else winds down.
  context.onStop('stop accepting', async () => {
    accepting = false;
    readiness.markStopping();
    await presence.drain().catch((error: unknown) => logger.warn({ err: error }, 'presence drain failed'));
  });
  await presence.ready();
  logger.info({ podId }, 'push-gateway wired');
}

/**
 * Starts a push-gateway: Socket.IO at `/socket.io/` on the same port as `/healthz`, `/readyz`
 * and `/metrics`. Stops gracefully on `stop()` (and on SIGTERM/SIGINT with `handleSignals`):
 * not ready and refusing new sockets, stops consuming, tells its sockets to reconnect elsewhere,
 * closes them, then exits.
 */
export async function startPushGateway(options: PushGatewayOptions = {}): Promise<RunningPushGateway> {
  let podId = '';
  const running = await runService(
    {
      name: SERVICE_NAME,
      settings: pushGatewaySettings,
      rules: pushGatewayRules,
      listen: (config) => ({ port: config.port, host: config.host }),
      start: (context) => {
        podId = context.instanceId;
        return start(context, options, podId);
      },
    },
    options,
  );
  return { ...running, podId };
}
