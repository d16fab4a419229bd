import { SCOPES, type TokenVerifier } from '@tideline/auth';
import { type GatewayOperatorAnswer, OPERATOR_API } from '@tideline/contracts';
import { type Counter, requirePrincipal } from '@tideline/runtime';
import type { FastifyInstance } from 'fastify';
import type { GatewayServer } from '../socket/types.ts';

/**
 * This gateway as the operator view shows it (scope `operator:read`, read-only): its sockets, its
 * rooms with their local member counts (each socket's own room is not listed), and the sockets it
 * closed as slow consumers since it started.
 */
export function registerOperatorRoutes(
  http: FastifyInstance,
  options: {
    io: GatewayServer;
    instanceId: string;
    disconnects: Pick<Counter<'reason'>, 'get'>;
    verifier: TokenVerifier;
  },
): void {
  const operator = requirePrincipal(
    options.verifier,
    (p) => p.scopes.has(SCOPES.operatorRead),
    `scope ${SCOPES.operatorRead}`,
  );
  http.get(OPERATOR_API.gateway, { preHandler: operator }, async (): Promise<GatewayOperatorAnswer> => {
    const namespace = options.io.of('/');
    const rooms: { room: string; members: number }[] = [];
    for (const [room, members] of namespace.adapter.rooms)
      if (!namespace.sockets.has(room)) rooms.push({ room, members: members.size });
    rooms.sort((a, b) => a.room.localeCompare(b.room));
    const counted = await options.disconnects.get();
    const slow = counted.values.find((v) => v.labels['reason'] === 'SLOW_CONSUMER')?.value ?? 0;
    return {
      data: {
        instanceId: options.instanceId,
        sockets: namespace.sockets.size,
        rooms,
        slowConsumerDisconnects: slow,
      },
    };
  });
}
