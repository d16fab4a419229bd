import { type HandshakeErrorData, TidelineError } from '@tideline/contracts';

export type AuthFailureReason = HandshakeErrorData['reason'];

/** A token was refused; `code` is the protocol error code, `reason` says why. */
export class AuthError extends TidelineError {
  override readonly name = 'AuthError';
  constructor(
    readonly reason: AuthFailureReason,
    message: string,
  ) {
    super(reason === 'expired' ? 'TOKEN_EXPIRED' : 'UNAUTHORIZED', message);
  }
}
