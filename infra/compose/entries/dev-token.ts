/**
 * The image's `dev-token` service: the development token endpoint alone (packages/auth
 * dev-token-endpoint), as `npm start` runs it. It refuses to start outside
 * TIDELINE_ENV=development/test and listens on 127.0.0.1 only: reach it inside its container or pod
 * (`kubectl port-forward` lands there), or through the `console` service, which serves it
 * same-origin.
 */

import { authSettings, commonSettings, consoleSettings, loadConfigOrExit } from '@tideline/config';
import { startDevTokenEndpoint } from '@tideline/runtime';

const { environment } = commonSettings;
const { jwtIssuer, jwtAudience, jwtDevScopes } = authSettings;
const { devTokenEndpointPort, devTokenEndpointTtlSeconds, devTokenEndpointAllowedOrigins } = consoleSettings;
const config = loadConfigOrExit({
  environment,
  jwtIssuer,
  jwtAudience,
  jwtDevScopes,
  devTokenEndpointPort,
  devTokenEndpointTtlSeconds,
  devTokenEndpointAllowedOrigins,
});
const secret = process.env['TIDELINE_JWT_SECRET'];
if (!secret) {
  process.stderr.write('dev-token: TIDELINE_JWT_SECRET is not set (the endpoint signs with it)\n');
  process.exit(1);
}
const endpoint = await startDevTokenEndpoint({
  environment: config.environment,
  secret,
  issuer: config.jwtIssuer,
  audience: config.jwtAudience,
  scopes: config.jwtDevScopes,
  ttlSeconds: config.devTokenEndpointTtlSeconds,
  port: config.devTokenEndpointPort,
  allowedOrigins: config.devTokenEndpointAllowedOrigins,
});
process.stdout.write(
  `${JSON.stringify({ level: 'info', service: 'dev-token', msg: 'listening', url: endpoint.url })}\n`,
);
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.on(signal, () => void endpoint.close().then(() => process.exit(0)));
