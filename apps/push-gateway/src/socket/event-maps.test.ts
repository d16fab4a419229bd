/**
 * Type-level tests of the socket protocol: the Socket.IO event maps must be exactly the types
 * inferred from the contract schemas, so a schema change breaks the gateway's and the client's
 * build rather than a browser. Checked by `tsc -p apps/push-gateway` (typecheck); the `it`
 * bodies only document the assertions at run time.
 */
import type { AuthFailureReason } from '@tideline/auth';
import type {
  Ack,
  AuthRefreshPayload,
  ClientEventName,
  ClientToServerEvents,
  clientEventSchemas,
  HandshakeErrorData,
  NodesInitial,
  NodesUpdate,
  ReconnectMessage,
  RequestError,
  RequestWebsitesPayload,
  ServerToClientEvents,
  SubscribeNodesPayload,
  UnsubscribeNodesPayload,
  WebsitesInitial,
  WebsitesUpdate,
} from '@tideline/contracts';
import type { Socket as ClientSocket } from 'socket.io-client';
import { describe, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import type { GatewaySocket } from './types.ts';

type PayloadOf<M, E extends keyof M> = M[E] extends (payload: infer P, ...rest: never[]) => void ? P : never;
type AckOf<E extends keyof ClientToServerEvents> = Parameters<
  NonNullable<Parameters<ClientToServerEvents[E]>[1]>
>[0];

describe('socket event maps', () => {
  it('server → client payloads are the schema types', () => {
    expectTypeOf<PayloadOf<ServerToClientEvents, 'connected'>>().toEqualTypeOf<{ ok: true }>();
    expectTypeOf<PayloadOf<ServerToClientEvents, 'websites:initial'>>().toEqualTypeOf<WebsitesInitial>();
    expectTypeOf<PayloadOf<ServerToClientEvents, 'websites:update'>>().toEqualTypeOf<WebsitesUpdate>();
    expectTypeOf<PayloadOf<ServerToClientEvents, 'nodes:initial'>>().toEqualTypeOf<NodesInitial>();
    expectTypeOf<PayloadOf<ServerToClientEvents, 'nodes:update'>>().toEqualTypeOf<NodesUpdate>();
    expectTypeOf<PayloadOf<ServerToClientEvents, 'request:error'>>().toEqualTypeOf<RequestError>();
    expectTypeOf<PayloadOf<ServerToClientEvents, 'server:reconnect'>>().toEqualTypeOf<ReconnectMessage>();
    // Pushes are any `push:*` event with any JSON data.
    expectTypeOf<PayloadOf<ServerToClientEvents, 'push:notice'>>().toEqualTypeOf<unknown>();
  });

  it('client → server payloads are inferred from clientEventSchemas, every event has a schema, acks are Ack', () => {
    expectTypeOf<ClientEventName>().toEqualTypeOf<keyof ClientToServerEvents>();
    expectTypeOf<
      PayloadOf<ClientToServerEvents, 'request:websites'>
    >().toEqualTypeOf<RequestWebsitesPayload>();
    expectTypeOf<PayloadOf<ClientToServerEvents, 'subscribe:nodes'>>().toEqualTypeOf<SubscribeNodesPayload>();
    expectTypeOf<
      PayloadOf<ClientToServerEvents, 'unsubscribe:nodes'>
    >().toEqualTypeOf<UnsubscribeNodesPayload>();
    expectTypeOf<PayloadOf<ClientToServerEvents, 'auth:refresh'>>().toEqualTypeOf<AuthRefreshPayload>();
    expectTypeOf<RequestWebsitesPayload>().toEqualTypeOf<
      z.infer<(typeof clientEventSchemas)['request:websites']>
    >();
    expectTypeOf<SubscribeNodesPayload>().toEqualTypeOf<
      z.infer<(typeof clientEventSchemas)['subscribe:nodes']>
    >();
    expectTypeOf<AckOf<'request:websites'>>().toEqualTypeOf<Ack>();
    expectTypeOf<AckOf<'auth:refresh'>>().toEqualTypeOf<Ack>();
    expectTypeOf<Extract<Ack, { ok: false }>>().toExtend<RequestError>();
  });

  it("handshake refusals carry exactly the verifier's reasons", () => {
    expectTypeOf<HandshakeErrorData['reason']>().toEqualTypeOf<AuthFailureReason>();
  });

  it('typed sockets refuse wrong events and payloads on both ends', () => {
    // Never called: the @ts-expect-error lines are the assertions, checked by tsc.
    const _check = (
      server: GatewaySocket,
      client: ClientSocket<ServerToClientEvents, ClientToServerEvents>,
    ) => {
      server.emit('websites:update', { eventId: 1, type: 'delete', data: { website_id: 1 } });
      // @ts-expect-error an update needs its data
      server.emit('websites:update', { eventId: 1, type: 'delete' });
      // @ts-expect-error not a server → client event
      server.emit('request:websites', {});
      server.emit('push:anything', { free: 'form' });
      client.emit('request:websites', { lastEventId: 3, version: 'v' });
      // @ts-expect-error lastEventId is a number
      client.emit('request:websites', { lastEventId: '3' });
      // @ts-expect-error browsers cannot send pushes
      client.emit('push:notice', {});
      client.on('nodes:update', (update) =>
        expectTypeOf(update.changed).toEqualTypeOf<NodesUpdate['changed']>(),
      );
    };
    expectTypeOf(_check).toBeFunction();
  });
});
