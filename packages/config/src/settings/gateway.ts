import { ConfigError } from '../load.ts';
import { int, list, ms, optionalStr, port, seconds, str, url } from '../setting.ts';

/** Settings of apps/push-gateway. */
export const gatewaySettings = {
  port: port({
    env: 'TIDELINE_GATEWAY_PORT',
    default: 3000,
    allowZero: true,
    doc: 'HTTP port of push-gateway (0 picks a free port).',
  }),
  host: str({ env: 'TIDELINE_GATEWAY_HOST', default: '0.0.0.0', doc: 'Address push-gateway listens on.' }),

  // ---- where snapshots and replays come from ----------------------------------------------------
  websiteApiUrl: url({
    env: 'TIDELINE_GATEWAY_WEBSITE_API_URL',
    protocols: ['http', 'https'],
    default: 'http://127.0.0.1:3001',
    doc: 'Base URL of website-api, whose /internal endpoints answer website snapshots and replays.',
  }),
  cacheUrl: url({
    env: 'TIDELINE_GATEWAY_CACHE_URL',
    protocols: ['http', 'https'],
    default: 'http://127.0.0.1:3002',
    doc: 'Base URL of the cache service, whose /internal endpoints answer node snapshots and replays.',
  }),
  gatewaySourceTimeoutMs: ms({
    env: 'TIDELINE_GATEWAY_SOURCE_TIMEOUT_MS',
    default: 5_000,
    min: 50,
    doc: 'A snapshot or replay request to website-api/cache that has not answered by then fails; the client gets UNAVAILABLE.',
  }),
  gatewayReplayLimit: int({
    env: 'TIDELINE_GATEWAY_REPLAY_LIMIT',
    min: 1,
    max: 10_000,
    default: 500,
    doc: 'Most missed events a resume replays as updates; a client further behind receives one initial snapshot instead.',
  }),
  gatewaySnapshotReuseMs: ms({
    env: 'TIDELINE_GATEWAY_SNAPSHOT_REUSE_MS',
    default: 5_000,
    doc: 'How long a snapshot may be handed to further clients while this gateway has consumed no newer event (it is then still exact); 0 disables reuse. Concurrent requests share one in-flight query regardless.',
  }),
  gatewaySyncBufferMaxEvents: int({
    env: 'TIDELINE_GATEWAY_SYNC_BUFFER_MAX_EVENTS',
    min: 100,
    max: 1_000_000,
    default: 100_000,
    doc: 'Live events buffered for one socket while its snapshot/replay is in flight; beyond this the sync fails with UNAVAILABLE (the client retries).',
  }),

  gatewayGapWaitMs: ms({
    env: 'TIDELINE_GATEWAY_GAP_WAIT_MS',
    min: 1,
    max: 60_000,
    default: 500,
    doc: 'A live event that skips ids is held this long for the missing ones (a source publishing out of order); then the socket is repaired by a replay from its last id.',
  }),
  gatewayGapHoldMaxEvents: int({
    env: 'TIDELINE_GATEWAY_GAP_HOLD_MAX_EVENTS',
    min: 10,
    max: 1_000_000,
    default: 10_000,
    doc: 'Live events held for one live socket behind a gap (waiting for the missing ids or a repair); beyond this the held events are dropped and the socket is resynchronised by a snapshot. A repair that fails never grows the hold past this.',
  }),

  // ---- what one socket may cost -------------------------------------------------------------
  gatewayResnapshotIntervalMs: ms({
    env: 'TIDELINE_GATEWAY_RESNAPSHOT_INTERVAL_MS',
    max: 3_600_000,
    default: 30_000,
    doc: "A socket is sent at most one snapshot of a feed (websites, or one cluster's nodes) it asked for per this interval: asking again without a position (or with one that falls back to a snapshot) sooner is refused with RATE_LIMITED and `retryAfterMs`; resumes answered by replay are not limited. 0 disables the limit.",
  }),
  gatewayOutboundQueueLimitBytes: int({
    env: 'TIDELINE_GATEWAY_OUTBOUND_QUEUE_LIMIT_BYTES',
    min: 65_536,
    max: 1_073_741_824,
    default: 4_194_304,
    doc: 'Bytes one socket may have waiting to be written (queued in the engine behind what is on the wire, plus what the WebSocket has not handed to the kernel); a socket past this is disconnected with SLOW_CONSUMER and resumes from its lastEventId. Must exceed the largest message (a whole websites:initial).',
  }),
  gatewaySlowConsumerCloseGraceMs: ms({
    env: 'TIDELINE_GATEWAY_SLOW_CONSUMER_CLOSE_GRACE_MS',
    min: 100,
    max: 600_000,
    default: 5_000,
    doc: 'A slow consumer is told SLOW_CONSUMER behind what is already on the wire and its connection closed once that is read; if it has not read it by then, the connection is cut.',
  }),

  // ---- client events --------------------------------------------------------------------------
  gatewayRateLimitEvents: int({
    env: 'TIDELINE_GATEWAY_RATE_LIMIT_EVENTS',
    min: 1,
    max: 100_000,
    default: 20,
    doc: 'Client events one socket may send per rate-limit window; further ones are answered RATE_LIMITED without doing work.',
  }),
  gatewayRateLimitWindowSeconds: seconds({
    env: 'TIDELINE_GATEWAY_RATE_LIMIT_WINDOW_SECONDS',
    min: 1,
    max: 3_600,
    default: 10,
    doc: 'Length of the per-socket rate-limit window.',
  }),
  gatewayMaxMessageBytes: int({
    env: 'TIDELINE_GATEWAY_MAX_MESSAGE_BYTES',
    min: 1_024,
    max: 10_485_760,
    default: 65_536,
    doc: 'Largest message a client may send; a larger one closes that connection.',
  }),
  gatewayTokenExpiryCheckMaxMs: ms({
    env: 'TIDELINE_GATEWAY_TOKEN_EXPIRY_CHECK_MAX_MS',
    min: 1_000,
    max: 2_147_483_647,
    default: 3_600_000,
    doc: "Longest single wait of a socket's token-expiry timer; a longer-lived token is re-checked after this (keeps timers within Node's limit). The socket is disconnected at `exp` plus the JWT clock tolerance unless `auth:refresh` extended it.",
  }),

  // ---- Socket.IO transport --------------------------------------------------------------------
  gatewayPingIntervalMs: ms({
    env: 'TIDELINE_GATEWAY_PING_INTERVAL_MS',
    min: 1_000,
    default: 25_000,
    doc: 'Interval of Socket.IO heartbeats.',
  }),
  gatewayPingTimeoutMs: ms({
    env: 'TIDELINE_GATEWAY_PING_TIMEOUT_MS',
    min: 1_000,
    default: 20_000,
    doc: 'A client that does not answer a heartbeat within this is considered gone.',
  }),
  gatewayCorsOrigins: list({
    env: 'TIDELINE_GATEWAY_CORS_ORIGINS',
    default: ['*'],
    doc: 'Origins allowed to connect from a browser (`*` for any; tokens travel in the handshake, never in cookies).',
  }),

  // ---- scale-out ------------------------------------------------------------------------------
  gatewayAdapterKey: str({
    env: 'TIDELINE_GATEWAY_ADAPTER_KEY',
    default: 'tideline:socket.io',
    pattern: /^[A-Za-z0-9:_.-]{1,128}$/,
    patternRule: '1-128 of A-Z a-z 0-9 : _ . -',
    doc: 'Redis channel prefix of the Socket.IO Redis adapter; gateways sharing it share rooms.',
  }),
  gatewayAdapterRequestsTimeoutMs: ms({
    env: 'TIDELINE_GATEWAY_ADAPTER_REQUESTS_TIMEOUT_MS',
    min: 100,
    default: 5_000,
    doc: 'How long a cross-gateway request of the Redis adapter (e.g. fetchSockets) waits for the other gateways.',
  }),
  gatewayPushConcurrency: int({
    env: 'TIDELINE_GATEWAY_PUSH_CONCURRENCY',
    min: 1,
    max: 1_000,
    default: 8,
    doc: 'Targeted pushes one gateway handles at once (every gateway reads every push and emits it to its own sockets; pushes are unordered).',
  }),
  gatewayPushDedupIds: int({
    env: 'TIDELINE_GATEWAY_PUSH_DEDUP_IDS',
    min: 1,
    max: 1_000_000,
    default: 10_000,
    doc: 'Push ids (msgIds) one gateway remembers to drop a redelivered push instead of emitting it again; a redelivery arriving after this many newer pushes is not recognised.',
  }),

  // ---- graceful stop --------------------------------------------------------------------------
  gatewayDrainGraceMs: ms({
    env: 'TIDELINE_GATEWAY_DRAIN_GRACE_MS',
    max: 60_000,
    default: 500,
    doc: 'On SIGTERM, time between telling sockets `server:reconnect` and closing their connections.',
  }),
  gatewayReconnectJitterMs: ms({
    env: 'TIDELINE_GATEWAY_RECONNECT_JITTER_MS',
    max: 600_000,
    default: 2_000,
    doc: 'Upper bound of the random `retryAfterMs` in `server:reconnect`, so the clients of a draining gateway do not all reconnect at once.',
  }),

  // ---- per-user connection cap ------------------------------------------------------------------
  gatewayMaxConnectionsPerUser: int({
    env: 'TIDELINE_GATEWAY_MAX_CONNECTIONS_PER_USER',
    min: 0,
    max: 100_000,
    default: 20,
    doc: 'Most sockets one user (token `sub`) may hold across all gateways, counted in Redis; a further handshake is refused with TOO_MANY_CONNECTIONS. Sockets of a gateway that died stop counting within TIDELINE_STATEFUL_HEARTBEAT_INTERVAL_MS × TIDELINE_STATEFUL_LINK_LEASE_HEARTBEATS. 0 disables the cap.',
  }),

  // ---- test only ------------------------------------------------------------------------------
  gatewayTestDropEvery: int({
    env: 'TIDELINE_GATEWAY_TEST_DROP_EVERY',
    min: 0,
    max: 1_000_000,
    default: 0,
    doc: 'TEST ONLY (the chaos negative control): this gateway silently skips every Nth live event it would broadcast to its sockets, a deliberately broken build the history checker must catch. Honoured only when TIDELINE_ENV=test; any other environment refuses to start with it set. 0 = off.',
  }),
};

/** `TIDELINE_GATEWAY_TEST_DROP_EVERY` breaks delivery on purpose: refused outside TIDELINE_ENV=test. */
export function testDropOnlyInTest(config: {
  environment: string;
  gatewayTestDropEvery: number;
}): ConfigError | undefined {
  if (config.gatewayTestDropEvery === 0 || config.environment === 'test') return undefined;
  return new ConfigError(
    'TIDELINE_GATEWAY_TEST_DROP_EVERY',
    '0 outside TIDELINE_ENV=test (it drops live events on purpose, for the chaos negative control)',
    String(config.gatewayTestDropEvery),
  );
}
