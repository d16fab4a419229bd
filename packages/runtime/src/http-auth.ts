import { AuthError, type Principal, type TokenVerifier } from '@tideline/auth';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { sendError } from './http-errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? '';
}

/** The verification of each request's bearer token, kept so that it runs once per request. */
const verified = new WeakMap<FastifyRequest, { verifier: TokenVerifier; principal: Promise<Principal> }>();

/**
 * The principal of the request's bearer token (rejects with an AuthError when it is not valid), or
 * undefined without an `Authorization` header. Verified once per request and verifier: a hook that
 * needs the subject early (the write rate limit) and the route's scope check share one verification.
 */
export function bearerPrincipal(
  request: FastifyRequest,
  verifier: TokenVerifier,
): Promise<Principal> | undefined {
  const token = bearerOf(request);
  if (token === undefined) return undefined;
  const known = verified.get(request);
  if (known?.verifier === verifier) return known.principal;
  const principal = verifier.verify(token);
  verified.set(request, { verifier, principal });
  return principal;
}

/**
 * A pre-handler admitting only requests with a valid bearer JWT that `allowed` accepts (its
 * principal is then `request.principal`): 401
 * UNAUTHORIZED/TOKEN_EXPIRED without a valid token, 403 FORBIDDEN when `allowed` says no.
 */
export function requirePrincipal(
  verifier: TokenVerifier,
  allowed: (principal: Principal, request: FastifyRequest) => boolean,
  what: string,
): preHandlerAsyncHookHandler {
  return async function checkToken(request: FastifyRequest, reply: FastifyReply) {
    const verifying = bearerPrincipal(request, verifier);
    if (verifying === undefined) return sendError(reply, 'UNAUTHORIZED', 'send Authorization: Bearer <JWT>');
    let principal: Principal;
    try {
      principal = await verifying;
    } catch (error) {
      if (error instanceof AuthError) return sendError(reply, error.code, error.message);
      throw error;
    }
    if (!allowed(principal, request)) return sendError(reply, 'FORBIDDEN', `the token lacks ${what}`);
    request.principal = principal;
  };
}

/** {@link requirePrincipal} for one scope: 403 FORBIDDEN without it. */
export function requireScope(verifier: TokenVerifier, scope: string): preHandlerAsyncHookHandler {
  return requirePrincipal(verifier, (principal) => principal.scopes.has(scope), `scope ${scope}`);
}
