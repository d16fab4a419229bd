#!/usr/bin/env -S npx tsx
import { parseArgs } from 'node:util';
import { authSettings, DEVELOPMENT_JWT_SECRET, devTokenSettings, loadConfigOrExit } from '@tideline/config';
import { signToken } from './sign.ts';

const spec = { ...authSettings, ...devTokenSettings };
const config = loadConfigOrExit(spec);
const { values } = parseArgs({
  options: { sub: { type: 'string' }, scope: { type: 'string', multiple: true }, ttl: { type: 'string' } },
});
if (!values.sub) {
  process.stderr.write('usage: npm run token -- --sub <user> [--scope <scope>]… [--ttl <seconds>]\n');
  process.exit(64);
}
const secret = config.jwtSecret ?? DEVELOPMENT_JWT_SECRET;
if (!config.jwtSecret)
  process.stderr.write('note: TIDELINE_JWT_SECRET is unset; signing with the development key\n');
process.stdout.write(
  `${signToken({
    secret,
    sub: values.sub,
    scopes: values.scope?.length ? values.scope : config.jwtDevScopes,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    expiresInSeconds: values.ttl ? Number(values.ttl) : config.tokenTtlSeconds,
  })}\n`,
);
