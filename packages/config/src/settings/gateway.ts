import { port, str } from '../setting.ts';

/** Settings of apps/push-gateway. */
export const gatewaySettings = {
  port: port({
    env: 'TIDELINE_GATEWAY_PORT',
    default: 3000,
    allowZero: true,
    doc: 'HTTP port of push-gateway (0 picks a free port).',
  }),
  host: str({ env: 'TIDELINE_GATEWAY_HOST', default: '0.0.0.0', doc: 'Address push-gateway listens on.' }),
};
