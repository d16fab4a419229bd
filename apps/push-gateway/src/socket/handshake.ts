import { AuthError, type AuthFailureReason, type TokenVerifier } from '@tideline/auth';
import type { HandshakeErrorData } from '@tideline/contracts';
import type { ExtendedError } from 'socket.io';
import type { GatewaySocket } from './types.ts';

/** `connect_error.data` while the gateway drains: connect to another one. */
interface DrainingErrorData {
  code: 'UNAVAILABLE';
}

export interface HandshakeOptions {
  verifier: TokenVerifier;
  /** False once the gateway drains: new connections are refused with UNAVAILABLE. */
  accepting: () => boolean;
  onRefused: (reason: AuthFailureReason | 'draining') => void;
}

function refusal(message: string, data: HandshakeErrorData | DrainingErrorData): ExtendedError {
  const error = new Error(message) as ExtendedError;
  error.data = data;
  return error;
}

/**
 * The handshake check: a connection is accepted only with a valid token in `auth.token`
 * (signature with the pinned algorithm, `exp`, `nbf`, issuer, audience). A refusal reaches the
 * client as `connect_error` whose `data` is `{ code, reason }` (HandshakeErrorData).
 */
export function handshake(options: HandshakeOptions) {
  return async (socket: GatewaySocket, next: (error?: ExtendedError) => void): Promise<void> => {
    if (!options.accepting()) {
      options.onRefused('draining');
      next(refusal('this gateway is draining; connect to another one', { code: 'UNAVAILABLE' }));
      return;
    }
    const auth = socket.handshake.auth as Record<string, unknown> | undefined;
    try {
      socket.data.principal = await options.verifier.verify(auth?.['token']);
      next();
    } catch (error) {
      const refused =
        error instanceof AuthError ? error : new AuthError('malformed', 'the token could not be read');
      options.onRefused(refused.reason);
      next(refusal(refused.message, { code: refused.code, reason: refused.reason }));
    }
  };
}
