export { canReadCluster, hasScope, SCOPES } from './scopes.ts';
export { type SignOptions, signToken } from './sign.ts';
export { AuthError, type AuthFailureReason, type Principal, TokenVerifier, type VerifierOptions } from './verifier.ts';
export { ServiceTokenSource, type ServiceTokenOptions } from './service-token.ts';
