export { type IdpTokenOptions, TestIdentityProvider } from './identity-provider.ts';
