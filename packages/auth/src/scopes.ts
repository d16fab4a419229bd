import type { Principal } from './verifier.ts';

/**
 * Scope names. `nodes:read` allows every cluster, `nodes:read:<cluster>` one cluster.
 */
export const SCOPES = {
  websitesRead: 'websites:read',
  websitesWrite: 'websites:write',
  nodesRead: 'nodes:read',
  nodesReadCluster: (cluster: string) => `nodes:read:${cluster}`,
  clustersAdmin: 'clusters:admin',
  operatorRead: 'operator:read',
} as const;

export function hasScope(principal: Principal, scope: string): boolean {
  return principal.scopes.has(scope);
}

export function canReadCluster(principal: Principal, cluster: string): boolean {
  return principal.scopes.has(SCOPES.nodesRead) || principal.scopes.has(SCOPES.nodesReadCluster(cluster));
}
