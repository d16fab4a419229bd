export { type JwtSettings, jwtSecretOf, verifierFromConfig } from './from-config.ts';
export { canReadCluster, hasScope, SCOPES } from './scopes.ts';
export { type ServiceTokenOptions, ServiceTokenSource } from './service-token.ts';
export { type SignOptions, signToken } from './sign.ts';
export {
  AuthError,
  type AuthFailureReason,
  type Principal,
  TokenVerifier,
  type VerifierOptions,
} from './verifier.ts';
