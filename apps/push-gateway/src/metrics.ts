import { Counter, Gauge, Histogram, type Registry } from '@tideline/runtime';

const LAG_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Every value of the `reason` label of `tideline_gateway_disconnects_total`: the gateway's own
 * closes, Socket.IO's disconnect reasons, and `other` for anything else, so no client or library
 * version can add series.
 */
export const DISCONNECT_REASONS = [
  'SLOW_CONSUMER',
  'TOKEN_EXPIRED',
  'transport close',
  'transport error',
  'ping timeout',
  'parse error',
  'forced close',
  'forced server close',
  'server shutting down',
  'client namespace disconnect',
  'server namespace disconnect',
  'other',
] as const;
export type DisconnectReason = (typeof DISCONNECT_REASONS)[number];
const knownReasons: ReadonlySet<string> = new Set(DISCONNECT_REASONS);

/** The label value for a disconnect reason: itself when in {@link DISCONNECT_REASONS}, else `other`. */
export function disconnectReason(reason: string): DisconnectReason {
  return knownReasons.has(reason) ? (reason as DisconnectReason) : 'other';
}

/** The gateway's Prometheus metrics, on the service's registry. */
export function createGatewayMetrics(registry: Registry) {
  const registers = [registry];
  let outboundHighWater = 0;
  let outboundNow: () => number = () => 0;
  const metrics = {
    connectedSockets: new Gauge({
      name: 'tideline_gateway_connected_sockets',
      help: 'Sockets connected to this gateway.',
      registers,
    }),
    roomJoins: new Counter({
      name: 'tideline_gateway_room_joins_total',
      help: 'Room joins, by kind of room (websites, nodes, user).',
      labelNames: ['room_kind'] as const,
      registers,
    }),
    emits: new Counter({
      name: 'tideline_gateway_emits_total',
      help: 'Messages sent to sockets, by socket event (push events counted once per push, whatever the recipients).',
      labelNames: ['event'] as const,
      registers,
    }),
    encodings: new Counter({
      name: 'tideline_gateway_message_encodings_total',
      help: 'Messages serialised for sending socket by socket (snapshots, replayed and buffered updates), by socket event; each version of a message is serialised once, however many sockets it goes to.',
      labelNames: ['event'] as const,
      registers,
    }),
    syncs: new Counter({
      name: 'tideline_gateway_syncs_total',
      help: 'Finished snapshot/replay syncs, by feed, mode (replay or snapshot) and reason (requested, gap, epoch, or why a replay fell back).',
      labelNames: ['feed', 'mode', 'reason'] as const,
      registers,
    }),
    deliveryLag: new Histogram({
      name: 'tideline_gateway_delivery_lag_seconds',
      help: 'From an event occurring (its occurredAt: the commit of a website change, the detection of a node change) to its live emit on this gateway, by feed; by cluster too when TIDELINE_GATEWAY_METRICS_CLUSTER_LABEL is on (else there is no cluster label).',
      labelNames: ['feed', 'cluster'] as const,
      buckets: LAG_BUCKETS_SECONDS,
      registers,
    }),
    authFailures: new Counter({
      name: 'tideline_gateway_auth_failures_total',
      help: 'Refused handshakes and token refreshes, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    requestErrors: new Counter({
      name: 'tideline_gateway_request_errors_total',
      help: 'Refused client events, by event and error code.',
      labelNames: ['event', 'code'] as const,
      registers,
    }),
    sourceRequests: new Counter({
      name: 'tideline_gateway_source_requests_total',
      help: 'Snapshot/replay queries this gateway sent to website-api and the cache, by source, kind and outcome.',
      labelNames: ['source', 'kind', 'outcome'] as const,
      registers,
    }),
    breakerState: new Gauge({
      name: 'tideline_gateway_breaker_state',
      help: 'Circuit breaker in front of a dependency of snapshots/replays (website-api, cache): 0 closed, 1 half-open, 2 open.',
      labelNames: ['dependency'] as const,
      registers,
    }),
    breakerRejections: new Counter({
      name: 'tideline_gateway_breaker_rejections_total',
      help: 'Snapshot/replay requests refused at once (UNAVAILABLE) because the breaker of their dependency was open, by dependency.',
      labelNames: ['dependency'] as const,
      registers,
    }),
    pushes: new Counter({
      name: 'tideline_gateway_pushes_total',
      help: 'Targeted pushes handled by this gateway, by target kind and outcome.',
      labelNames: ['target_kind', 'outcome'] as const,
      registers,
    }),
    outOfOrderEvents: new Counter({
      name: 'tideline_gateway_out_of_order_events_total',
      help: 'Live events that arrived at or below an id already delivered (bus redeliveries); skipped for sockets already past them.',
      labelNames: ['feed'] as const,
      registers,
    }),
    gapRepairs: new Counter({
      name: 'tideline_gateway_gap_repairs_total',
      help: 'Sockets whose live stream skipped ids and was repaired (started), background resyncs that failed (failed), and sockets whose held events overflowed the hold and were resynced by snapshot (overflow), by feed.',
      labelNames: ['feed', 'outcome'] as const,
      registers,
    }),
    disconnects: new Counter({
      name: 'tideline_gateway_disconnects_total',
      help: 'Sockets that left, by reason: SLOW_CONSUMER and TOKEN_EXPIRED (the gateway closed them), else the Socket.IO reason (transport close, ping timeout, client namespace disconnect, ...).',
      labelNames: ['reason'] as const,
      registers,
    }),
    outboundQueueHighWater: new Gauge({
      name: 'tideline_gateway_outbound_queue_high_water_bytes',
      help: 'The most bytes any socket of this gateway had waiting to be written (engine queue plus WebSocket buffer) since it started; bounded by TIDELINE_GATEWAY_OUTBOUND_QUEUE_LIMIT_BYTES plus one message.',
      registers,
    }),
    outboundQueue: new Gauge({
      name: 'tideline_gateway_outbound_queue_bytes',
      help: 'Bytes waiting to be written to the sockets of this gateway right now (engine queues plus WebSocket buffers), summed over its sockets; read on scrape.',
      registers,
      collect() {
        this.set(outboundNow());
      },
    }),
    invalidEvents: new Counter({
      name: 'tideline_gateway_invalid_events_total',
      help: 'Bus events skipped because they did not match their contract, by topic.',
      labelNames: ['topic'] as const,
      registers,
    }),
  };
  // Every reason is exported from the start (at 0): a rate over it returns data before the first
  // disconnect, and the set of series never changes.
  for (const reason of DISCONNECT_REASONS) metrics.disconnects.inc({ reason }, 0);
  return {
    ...metrics,
    /** Counts one socket leaving, under its reason's label (see {@link disconnectReason}). */
    disconnected(reason: string): void {
      metrics.disconnects.inc({ reason: disconnectReason(reason) });
    },
    /** Where `tideline_gateway_outbound_queue_bytes` reads what waits now. */
    measureOutboundQueue(bytesWaiting: () => number): void {
      outboundNow = bytesWaiting;
    },
    /** A socket had `bytes` waiting to be written: raises the high-water gauge when above it. */
    observeOutboundQueue(bytes: number): void {
      if (bytes <= outboundHighWater) return;
      outboundHighWater = bytes;
      metrics.outboundQueueHighWater.set(bytes);
    },
  };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
