import {
  authSettings,
  busSettings,
  type ConfigOf,
  type commonSettings,
  informerSettings,
  redisSettings,
  renewWithinLeaseTtl,
  requireApiServerHostsInProduction,
  requireJwtKey,
  statefulSettings,
} from '@tideline/config';
import { inClusterNameRule } from './kube/in-cluster.ts';
import { registrationKeyRule } from './registrations/key-config.ts';

/** Everything the informer reads from its environment (plus the common settings runService adds). */
export const settings = {
  ...informerSettings,
  ...busSettings,
  ...authSettings,
  // Redis holds runtime registrations (issue 14, item 4).
  ...redisSettings,
  ...statefulSettings,
};

export type InformerConfig = ConfigOf<typeof settings> & ConfigOf<typeof commonSettings>;

/**
 * Cross rules checked at start: a JWT key and a registration key outside development/test; the
 * in-cluster name is not a configured cluster's; a lease outlasts 3 renew intervals; in production
 * the operator lists the API servers runtime registrations may name (no SSRF through a kubeconfig).
 */
export const rules = [
  requireJwtKey,
  registrationKeyRule,
  inClusterNameRule,
  renewWithinLeaseTtl,
  requireApiServerHostsInProduction,
];
