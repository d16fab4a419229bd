import { z } from 'zod';
import { EventId } from './envelope.ts';
import { type ErrorCode, errorCodes } from './errors.ts';
import { ClusterName, NodeEventType, NodeField, NodeName, NodePatch, NodeView } from './nodes.ts';
import { WebsiteDeleted, WebsiteEventType, WebsiteItem } from './websites.ts';

// ---- client → server ---------------------------------------------------------------------------

/**
 * `request:websites`: `{ lastEventId, version }` resumes from a position; no payload, `null` or
 * `{}` all mean "from scratch" (a `websites:initial`).
 */
export const RequestWebsitesPayload = z.preprocess(
  (payload) => payload ?? {},
  z
    .object({
      lastEventId: z.number().int().nonnegative().optional(),
      /** The `version` of the initial the client holds; a different epoch forces a snapshot. */
      version: z.string().min(1).max(64).optional(),
    })
    .strict(),
);
export type RequestWebsitesPayload = z.infer<typeof RequestWebsitesPayload>;

/**
 * `subscribe:nodes`. `delta: true` asks for delta `nodes:update` messages (see
 * {@link NodesDeltaUpdate}); a gateway that grants it says so with `delta: true` in the
 * `nodes:initial` it sends. Without it (and from gateways that predate deltas) every update is a
 * full row. Subscribing again with the other value switches the subscription's format.
 */
export const SubscribeNodesPayload = z
  .object({
    cluster: ClusterName,
    lastEventId: z.number().int().nonnegative().optional(),
    delta: z.boolean().optional(),
  })
  .strict();
export type SubscribeNodesPayload = z.infer<typeof SubscribeNodesPayload>;

export const UnsubscribeNodesPayload = z.object({ cluster: ClusterName }).strict();
export type UnsubscribeNodesPayload = z.infer<typeof UnsubscribeNodesPayload>;

export const AuthRefreshPayload = z.object({ token: z.string().min(1).max(8192) }).strict();
export type AuthRefreshPayload = z.infer<typeof AuthRefreshPayload>;

/** Schemas of every client event, by event name; the gateway validates each payload with these. */
export const clientEventSchemas = {
  'request:websites': RequestWebsitesPayload,
  'subscribe:nodes': SubscribeNodesPayload,
  'unsubscribe:nodes': UnsubscribeNodesPayload,
  'auth:refresh': AuthRefreshPayload,
} as const;
export type ClientEventName = keyof typeof clientEventSchemas;

// ---- server → client ---------------------------------------------------------------------------

export const ConnectedMessage = z.object({ ok: z.literal(true) });

export const WebsitesInitial = z.object({
  items: z.array(WebsiteItem),
  total: z.number().int().nonnegative(),
  version: z.string(),
  lastEventId: z.number().int().nonnegative(),
});
export type WebsitesInitial = z.infer<typeof WebsitesInitial>;

export const WebsitesUpdate = z.discriminatedUnion('type', [
  z.object({ eventId: EventId, type: z.literal('add'), data: WebsiteItem }),
  z.object({ eventId: EventId, type: z.literal('update'), data: WebsiteItem }),
  z.object({ eventId: EventId, type: z.literal('delete'), data: WebsiteDeleted }),
]);
export type WebsitesUpdate = z.infer<typeof WebsitesUpdate>;
export const WebsitesUpdateType = WebsiteEventType;

export const NodesInitial = z.object({
  cluster: ClusterName,
  items: z.array(NodeView),
  total: z.number().int().nonnegative(),
  lastEventId: z.number().int().nonnegative(),
  /** Present when the subscription asked for deltas and the gateway granted them. */
  delta: z.literal(true).optional(),
});
export type NodesInitial = z.infer<typeof NodesInitial>;

/** A full-row `nodes:update`: `data` is the whole node (what every subscription may receive). */
export const NodesUpdate = z.object({
  cluster: ClusterName,
  eventId: EventId,
  type: NodeEventType,
  data: NodeView,
  changed: z.array(NodeField),
});
export type NodesUpdate = z.infer<typeof NodesUpdate>;

/**
 * A delta `nodes:update`, sent only to subscriptions granted `delta`: `updated` carries the
 * merge patch ({@link NodePatch}) from the node's previous state to its new one instead of the
 * row; `deleted` carries only the node's name. Applied in event id order to a replica that
 * missed nothing, deltas give exactly the full-row replica. A delta subscription still receives
 * full rows (`data`) where no delta can be given: `added` events, and events whose patch is unknown.
 */
export const NodesDeltaUpdate = z.discriminatedUnion('type', [
  z
    .object({
      cluster: ClusterName,
      eventId: EventId,
      type: z.literal('updated'),
      name: NodeName,
      patch: NodePatch,
      changed: z.array(NodeField),
    })
    .strict(),
  z
    .object({
      cluster: ClusterName,
      eventId: EventId,
      type: z.literal('deleted'),
      name: NodeName,
      changed: z.array(NodeField),
    })
    .strict(),
]);
export type NodesDeltaUpdate = z.infer<typeof NodesDeltaUpdate>;

/** Every form of `nodes:update`: a full row ({@link NodesUpdate}, has `data`) or a delta (has `name`). */
export const NodesUpdateMessage = z.union([NodesUpdate, NodesDeltaUpdate]);
export type NodesUpdateMessage = NodesUpdate | NodesDeltaUpdate;

/** True for a delta `nodes:update` (no `data`: apply its patch, or delete by name). */
export function isNodesDeltaUpdate(message: NodesUpdateMessage): message is NodesDeltaUpdate {
  return !('data' in message);
}

/**
 * The cluster was unregistered: the client drops its replica of the cluster's nodes. The socket
 * is no longer subscribed; it may subscribe again once the cluster is registered anew.
 */
export const NodesRemoved = z.object({ cluster: ClusterName, eventId: EventId });
export type NodesRemoved = z.infer<typeof NodesRemoved>;

/**
 * A refused client event (`event` names it), or the last message of a socket the gateway closes
 * on its own (`event: 'connection'`, then the connection closes): `TOKEN_EXPIRED` — reconnect
 * with a fresh token; `SLOW_CONSUMER` — the client did not read fast enough, reconnect with
 * backoff and resume from lastEventId (a client that reads nothing may not see it before the
 * connection is cut: a transport close is resumed the same way).
 */
export const RequestError = z.object({
  event: z.string(),
  code: z.enum(errorCodes as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
  fields: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  /** With RATE_LIMITED: how long to wait before asking again. */
  retryAfterMs: z.number().int().nonnegative().optional(),
});
export type RequestError = z.infer<typeof RequestError>;

/** Acknowledgement given to a client event that passed a callback. */
export type Ack = { ok: true } | ({ ok: false } & RequestError);

/** Asked of a client when its gateway drains: reconnect (elsewhere) and resume from lastEventId. */
export const ReconnectMessage = z.object({
  reason: z.string(),
  retryAfterMs: z.number().int().nonnegative(),
});
export type ReconnectMessage = z.infer<typeof ReconnectMessage>;

/**
 * Socket.IO event maps, for `Server<ClientToServerEvents, ServerToClientEvents>` and the client SDK.
 * `NodesUpdateOf` is what `nodes:update` carries: full rows for a socket that never asks for
 * deltas (the default), {@link NodesUpdateMessage} for one that may.
 */
export interface ServerToClientEvents<NodesUpdateOf extends NodesUpdateMessage = NodesUpdate> {
  connected: (message: z.infer<typeof ConnectedMessage>) => void;
  'websites:initial': (message: WebsitesInitial) => void;
  'websites:update': (message: WebsitesUpdate) => void;
  'nodes:initial': (message: NodesInitial) => void;
  'nodes:update': (message: NodesUpdateOf) => void;
  'nodes:removed': (message: NodesRemoved) => void;
  'request:error': (message: RequestError) => void;
  'server:reconnect': (message: ReconnectMessage) => void;
  [push: `push:${string}`]: (data: unknown) => void;
}

export interface ClientToServerEvents {
  'request:websites': (payload: RequestWebsitesPayload, ack?: (ack: Ack) => void) => void;
  'subscribe:nodes': (payload: SubscribeNodesPayload, ack?: (ack: Ack) => void) => void;
  'unsubscribe:nodes': (payload: UnsubscribeNodesPayload, ack?: (ack: Ack) => void) => void;
  'auth:refresh': (payload: AuthRefreshPayload, ack?: (ack: Ack) => void) => void;
}

/** `connect_error.data` when the handshake is refused. */
export interface HandshakeErrorData {
  code: ErrorCode;
  reason:
    | 'missing'
    | 'malformed'
    | 'expired'
    | 'bad-signature'
    | 'wrong-issuer'
    | 'wrong-audience'
    | 'not-yet-valid'
    /** The identity provider's keys (JWKS) could not be fetched; retrying later may succeed. */
    | 'keys-unavailable';
}
