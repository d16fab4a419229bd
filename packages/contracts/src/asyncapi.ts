import { z } from 'zod';
import { HttpErrorBody } from './api-catalogue.ts';
import { type JsonSchema, SchemaSet } from './api-schema.ts';
import { ERROR_CODES, errorCodes } from './errors.ts';
import { ClusterEvent, NodeEvent, NodePatch, NodeView } from './nodes.ts';
import { API_VERSION } from './openapi.ts';
import { PushMessage } from './push.ts';
import {
  type Ack,
  type ClientEventName,
  ConnectedMessage,
  clientEventSchemas,
  type HandshakeErrorData,
  NodesInitial,
  NodesRemoved,
  NodesUpdateMessage,
  ReconnectMessage,
  RequestError,
  type ServerToClientEvents,
  WebsitesInitial,
  WebsitesUpdate,
} from './socket.ts';
import { TOPICS } from './subjects.ts';
import { WebsiteEvent, WebsiteEventType, WebsiteItem } from './websites.ts';

// ---- runtime lists of the socket protocol ------------------------------------------------------

/** Server → client protocol events (pushes, `push:<name>`, aside). */
export type ServerEventName = Exclude<keyof ServerToClientEvents, `push:${string}`>;

/**
 * The payload schema of every server → client event. Typed against {@link ServerToClientEvents}:
 * an event added to the map and not here fails the typecheck, so the document cannot miss it.
 */
export const serverEventSchemas: { [E in ServerEventName]: z.ZodType } = {
  connected: ConnectedMessage,
  'websites:initial': WebsitesInitial,
  'websites:update': WebsitesUpdate,
  'nodes:initial': NodesInitial,
  'nodes:update': NodesUpdateMessage,
  'nodes:removed': NodesRemoved,
  'request:error': RequestError,
  'server:reconnect': ReconnectMessage,
};

/** The acknowledgement of a client event that passed a callback (the type {@link Ack}). */
export const AckSchema = z.union([
  z.object({ ok: z.literal(true) }),
  RequestError.extend({ ok: z.literal(false) }),
]);

const HANDSHAKE_REASONS = [
  'missing',
  'malformed',
  'expired',
  'bad-signature',
  'wrong-issuer',
  'wrong-audience',
  'not-yet-valid',
  'keys-unavailable',
] as const satisfies readonly HandshakeErrorData['reason'][];

/** `connect_error.data` of a refused handshake ({@link HandshakeErrorData}, or the cap's refusal). */
export const HandshakeError = z.object({
  code: z.enum(['UNAUTHORIZED', 'TOKEN_EXPIRED', 'TOO_MANY_CONNECTIONS']),
  reason: z.enum(HANDSHAKE_REASONS).optional(),
  /** With TOO_MANY_CONNECTIONS: the error body (a handshake is no HTTP request: no request id). */
  error: HttpErrorBody.shape.error.omit({ requestId: true }).optional(),
});

// Compile-time: the schemas above are exactly the protocol's types.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const ackIsProtocolAck: Same<z.infer<typeof AckSchema>, Ack> = true;
const reasonsAreAll: Same<(typeof HANDSHAKE_REASONS)[number], HandshakeErrorData['reason']> = true;
void ackIsProtocolAck;
void reasonsAreAll;

// ---- the document ------------------------------------------------------------------------------

const CLIENT_EVENT_DOCS: Record<ClientEventName, string> = {
  'request:websites':
    'Follow the websites list. Without `lastEventId` (or with another `version`) the answer is `websites:initial`; with one, the missed `websites:update` events are replayed, or a fresh `websites:initial` when the gap is too old.',
  'subscribe:nodes':
    'Follow the nodes of one cluster (scope `nodes:read` or `nodes:read:<cluster>`): `nodes:initial`, then `nodes:update`; with `lastEventId`, the missed updates are replayed instead when possible. `delta: true` asks for delta updates (granted: `nodes:initial` says `delta: true`).',
  'unsubscribe:nodes': 'Stop following a cluster.',
  'auth:refresh': 'Replace the token of the connection before it expires (a TOKEN_EXPIRED socket is closed).',
};

const SERVER_EVENT_DOCS: Record<ServerEventName, string> = {
  connected: 'The handshake was accepted.',
  'websites:initial': 'The whole websites list as of `lastEventId` in log epoch `version`.',
  'websites:update': 'One committed website change, in event id order.',
  'nodes:initial':
    'Every node of a cluster as of `lastEventId`; `delta: true` when the subscription was granted delta updates.',
  'nodes:update':
    'One node change; `changed` names the fields that changed. A full row (`data`: the whole node), or — only to a subscription granted `delta` — a delta: `updated` with `name` and `patch` (a JSON Merge Patch, RFC 7396, of the node: `null` removes a label or capacity key, arrays are replaced whole), `deleted` with `name` only. Apply in event id order; after any gap the client resumes and gets a replay or a fresh `nodes:initial`.',
  'nodes:removed':
    'The cluster was unregistered: drop its nodes; the socket no longer follows it and may subscribe again once the cluster is registered anew.',
  'request:error': `A refused client event (\`event\` names it), or the last message before the gateway closes the socket (\`event: "connection"\`). Codes:\n\n${errorCodes.map((code) => `- \`${code}\`: ${ERROR_CODES[code]}`).join('\n')}`,
  'server:reconnect':
    'The gateway drains: reconnect (to another gateway) after `retryAfterMs` and resume from lastEventId.',
};

/** `request:websites` → `requestWebsites`: component and operation keys allow no `:`. */
function keyOf(event: string): string {
  return event.replace(/[:_-]([a-z])/g, (_m, c: string) => c.toUpperCase()).replace(/[^A-Za-z0-9]/g, '');
}

const ref = (path: string) => ({ $ref: path });

/** The AsyncAPI 3.0 document of the socket protocol and of the bus subjects, generated from the contracts. */
export function asyncApiDocument(
  events: { client: Record<string, z.ZodType>; server: Record<string, z.ZodType> } = {
    client: clientEventSchemas,
    server: serverEventSchemas,
  },
): JsonSchema {
  const set = new SchemaSet('draft-7', '#/components/schemas/', {
    ErrorBody: HttpErrorBody,
    WebsiteItem,
    NodeView,
    NodePatch,
    RequestError,
    WebsiteEvent,
    NodeEvent,
    ClusterEvent,
  });
  const messages: Record<string, JsonSchema> = {};
  const operations: Record<string, JsonSchema> = {};
  const socketMessages: Record<string, JsonSchema> = {};

  const message = (key: string, body: JsonSchema) => {
    messages[key] = { contentType: 'application/json', ...body };
    return ref(`#/components/messages/${key}`);
  };

  socketMessages['ack'] = message('ack', {
    name: 'ack',
    title: 'Acknowledgement',
    summary:
      'What the callback of a client event receives: `{ ok: true }`, or `{ ok: false }` with the refusal (the same fields as `request:error`).',
    payload: set.of(AckSchema, 'output'),
  });

  for (const [event, schema] of Object.entries(events.client)) {
    const key = keyOf(event);
    socketMessages[key] = message(key, {
      name: event,
      title: event,
      summary: CLIENT_EVENT_DOCS[event as ClientEventName] ?? event,
      payload: set.of(schema, 'input'),
    });
    operations[key] = {
      action: 'receive',
      title: `client → server: ${event}`,
      summary: CLIENT_EVENT_DOCS[event as ClientEventName] ?? event,
      description:
        'Sent by the client as `socket.emit(event, payload, ack?)`. A refused payload answers the ack with `ok: false` (else `request:error`): BAD_REQUEST (fields named), UNAUTHORIZED or TOKEN_EXPIRED (`auth:refresh` with an unusable token), FORBIDDEN, NOT_FOUND, RATE_LIMITED (`retryAfterMs`), UNAVAILABLE, INTERNAL.',
      channel: ref('#/channels/socket'),
      messages: [ref(`#/channels/socket/messages/${key}`)],
      reply: { channel: ref('#/channels/socket'), messages: [ref('#/channels/socket/messages/ack')] },
    };
  }

  for (const [event, schema] of Object.entries(events.server)) {
    const key = keyOf(event);
    socketMessages[key] = message(key, {
      name: event,
      title: event,
      summary: SERVER_EVENT_DOCS[event as ServerEventName] ?? event,
      payload: set.of(schema, 'output'),
    });
    operations[key] = {
      action: 'send',
      title: `server → client: ${event}`,
      summary: SERVER_EVENT_DOCS[event as ServerEventName] ?? event,
      channel: ref('#/channels/socket'),
      messages: [ref(`#/channels/socket/messages/${key}`)],
    };
  }

  socketMessages['push'] = message('push', {
    name: 'push:<name>',
    title: 'push:<name>',
    summary:
      "A targeted push from a backend service (published on the bus as a PushMessage) delivered to one user or room; the event name and data are the publisher's.",
    payload: {},
  });
  operations['push'] = {
    action: 'send',
    title: 'server → client: push:<name>',
    channel: ref('#/channels/socket'),
    messages: [ref('#/channels/socket/messages/push')],
  };
  socketMessages['connectError'] = message('connectError', {
    name: 'connect_error',
    title: 'connect_error',
    summary:
      'The handshake was refused: `data.code` is UNAUTHORIZED or TOKEN_EXPIRED with `data.reason`, or TOO_MANY_CONNECTIONS with the error body in `data.error`.',
    payload: set.of(HandshakeError, 'output'),
  });
  operations['connectError'] = {
    action: 'send',
    title: 'handshake refused: connect_error',
    channel: ref('#/channels/socket'),
    messages: [ref('#/channels/socket/messages/connectError')],
  };

  // ---- the bus ----
  const busServers = [ref('#/servers/nats'), ref('#/servers/kafka')];
  const prefix = {
    description: "The deployment's bus prefix (`TIDELINE_BUS_PREFIX`); Kafka topics are `<prefix>_<topic>`.",
  };
  const websiteEvent = message('websiteEvent', {
    name: 'website event',
    title: 'Website event',
    summary: "A committed website change, relayed from website-api's event log in event id order.",
    payload: set.of(WebsiteEvent, 'output'),
  });
  const nodeEvent = message('nodeEvent', {
    name: 'node event',
    title: 'Node event',
    summary: 'A meaningful change of one node (informer → cache, push-gateways).',
    payload: set.of(NodeEvent, 'output'),
  });
  const clusterEvent = message('clusterEvent', {
    name: 'cluster event',
    title: 'Cluster lifecycle event',
    summary: "`cluster-registered` / `cluster-removed`: take an id in the cluster's sequence, carry no node.",
    payload: set.of(ClusterEvent, 'output'),
  });
  const pushMessage = message('pushMessage', {
    name: 'push message',
    title: 'Push message',
    summary: 'Backend service → push-gateways: deliver `data` as socket event `event` to a user or a room.',
    payload: set.of(PushMessage, 'output'),
  });
  const busOperations: [string, 'send' | 'receive', string, string][] = [
    [
      'publishWebsiteEvents',
      'send',
      'websiteEvents',
      "website-api's relay publishes every committed change.",
    ],
    ['consumeWebsiteEvents', 'receive', 'websiteEvents', 'Every push-gateway follows the websites topic.'],
    ['publishNodeEvents', 'send', 'nodeEvents', 'The informer publishes node changes and cluster lifecycle.'],
    [
      'consumeNodeEvents',
      'receive',
      'nodeEvents',
      'The cache and every push-gateway follow the nodes topic.',
    ],
    ['publishUserPushes', 'send', 'userPushes', 'A backend service pushes to one user.'],
    ['consumeUserPushes', 'receive', 'userPushes', "Push-gateways deliver to the user's sockets."],
    ['publishRoomPushes', 'send', 'roomPushes', 'A backend service pushes to one room.'],
    ['consumeRoomPushes', 'receive', 'roomPushes', "Push-gateways deliver to the room's sockets."],
  ];
  const channelMessages: Record<string, Record<string, JsonSchema>> = {
    websiteEvents: { websiteEvent },
    nodeEvents: { nodeEvent, clusterEvent },
    userPushes: { pushMessage },
    roomPushes: { pushMessage },
  };
  for (const [key, action, channel, summary] of busOperations) {
    operations[key] = {
      action,
      summary,
      channel: ref(`#/channels/${channel}`),
      messages: Object.keys(channelMessages[channel]!).map((m) => ref(`#/channels/${channel}/messages/${m}`)),
    };
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Tideline socket protocol and bus',
      version: API_VERSION,
      description:
        "The Socket.IO protocol between browsers (or the `@tideline/client` SDK) and the push-gateways, and the bus subjects between the services (NATS JetStream or Kafka). Payloads are JSON; the schemas are generated from `packages/contracts`. Socket operations are described from the gateway's side: `receive` = client → server, `send` = server → client.",
    },
    defaultContentType: 'application/json',
    servers: {
      gateway: {
        host: 'localhost:3000',
        protocol: 'ws',
        pathname: '/socket.io',
        title: 'A push-gateway',
        description:
          'Socket.IO 4 (Engine.IO 4, WebSocket or long-polling). Connect with `io(url, { auth: { token } })`; the token is a JWT with scope `websites:read` and/or `nodes:read[:<cluster>]`.',
        security: [ref('#/components/securitySchemes/jwt')],
      },
      nats: {
        host: 'localhost:4222',
        protocol: 'nats',
        title: 'NATS JetStream',
        description: 'One stream per topic (`<prefix>_<topic>`), subjects `<prefix>.<subject>`.',
      },
      kafka: {
        host: 'localhost:9092',
        protocol: 'kafka',
        title: 'Kafka',
        description:
          'One topic per bus topic (`<prefix>_<topic>`), keyed for order; the subject travels with the message.',
      },
    },
    channels: {
      socket: {
        address: '/socket.io',
        title: 'Socket.IO connection',
        description:
          "Every socket event of the protocol. Event names are the messages' `name`; each payload is the first argument, the ack (when the client passes one) the last.",
        servers: [ref('#/servers/gateway')],
        messages: socketMessages,
      },
      websiteEvents: {
        address: '{prefix}.website.{type}',
        title: `topic websites (${TOPICS.websites.subjects})`,
        description: TOPICS.websites.description,
        servers: busServers,
        parameters: { prefix, type: { enum: [...WebsiteEventType.options], description: 'The change.' } },
        messages: channelMessages['websiteEvents'],
      },
      nodeEvents: {
        address: '{prefix}.node.{cluster}.{type}',
        title: `topic nodes (${TOPICS.nodes.subjects})`,
        description: TOPICS.nodes.description,
        servers: busServers,
        parameters: {
          prefix,
          cluster: { description: 'The cluster name.' },
          type: {
            description:
              'The event type (`added`, `updated`, `deleted`, `cluster-registered`, `cluster-removed`).',
          },
        },
        messages: channelMessages['nodeEvents'],
      },
      userPushes: {
        address: '{prefix}.push.user.{uid}',
        title: `topic push (${TOPICS.push.subjects}), to a user`,
        description: TOPICS.push.description,
        servers: busServers,
        parameters: { prefix, uid: { description: "The user id (the token's `sub`)." } },
        messages: channelMessages['userPushes'],
      },
      roomPushes: {
        address: '{prefix}.push.room.{room}',
        title: `topic push (${TOPICS.push.subjects}), to a room`,
        description: TOPICS.push.description,
        servers: busServers,
        parameters: { prefix, room: { description: 'The room name.' } },
        messages: channelMessages['roomPushes'],
      },
    },
    operations,
    components: {
      securitySchemes: {
        jwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'Sent in the Socket.IO handshake as `auth.token`; refreshed with `auth:refresh`.',
        },
      },
      schemas: Object.fromEntries(Object.entries(set.components).sort(([a], [b]) => a.localeCompare(b))),
      messages,
    },
  };
}

/** The socket events in `events` that `document` has no message for (by the message's `name`). */
export function undocumentedEvents(events: readonly string[], document: JsonSchema): string[] {
  const messages = ((document['components'] as JsonSchema | undefined)?.['messages'] ?? {}) as Record<
    string,
    { name?: string }
  >;
  const named = new Set(Object.values(messages).map((m) => m.name));
  return events.filter((event) => !named.has(event));
}
