import { AuthError, type Principal, type TokenVerifier } from '@tideline/auth';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { sendError } from './errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? '';
}

/**
 * A pre-handler admitting only requests with a valid bearer JWT carrying `scope`: 401
 * UNAUTHORIZED/TOKEN_EXPIRED without a valid token, 403 FORBIDDEN without the scope.
 */
export function requireScope(verifier: TokenVerifier, scope: string): preHandlerAsyncHookHandler {
  return async function checkScope(request: FastifyRequest, reply: FastifyReply) {
    const token = bearerOf(request);
    if (token === undefined) return sendError(reply, 'UNAUTHORIZED', 'send Authorization: Bearer <JWT>');
    let principal: Principal;
    try {
      principal = verifier.verify(token);
    } catch (error) {
      if (error instanceof AuthError) return sendError(reply, error.code, error.message);
      throw error;
    }
    if (!principal.scopes.has(scope)) return sendError(reply, 'FORBIDDEN', `the token lacks scope ${scope}`);
    request.principal = principal;
  };
}
