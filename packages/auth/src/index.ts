export { AuthError, type AuthFailureReason } from './errors.ts';
export {
  type JwtSettings,
  jwtSecretOf,
  serviceJwtSecretOf,
  serviceVerifierFromConfig,
  verifierFromConfig,
} from './from-config.ts';
export type { KeySetOptions } from './key-set.ts';
export { canReadCluster, hasScope, SCOPES } from './scopes.ts';
export { type ServiceTokenOptions, ServiceTokenSource } from './service-token.ts';
export { type SignOptions, signToken } from './sign.ts';
export {
  type JwtAlgorithm,
  type Principal,
  type ScopeFormat,
  TokenVerifier,
  type VerifierOptions,
} from './verifier.ts';
