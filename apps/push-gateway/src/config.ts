import {
  authSettings,
  busSettings,
  type ConfigOf,
  type commonSettings,
  gatewaySettings,
  heartbeatWithinPodStateTtl,
  redisSettings,
  requireJwtKey,
  requireServiceTokenKey,
  statefulSettings,
  testDropOnlyInTest,
} from '@tideline/config';

/** Everything push-gateway reads from its environment. */
export const pushGatewaySettings = {
  ...gatewaySettings,
  ...authSettings,
  ...busSettings,
  ...redisSettings,
  ...statefulSettings,
};

export type PushGatewayConfig = ConfigOf<typeof pushGatewaySettings> & ConfigOf<typeof commonSettings>;

export const pushGatewayRules = [
  requireJwtKey,
  requireServiceTokenKey,
  heartbeatWithinPodStateTtl,
  testDropOnlyInTest,
];
