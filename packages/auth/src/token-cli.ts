#!/usr/bin/env -S npx tsx
/** `npm run token -- --sub <user> [--scope <scope>]… [--ttl <seconds>]`: prints a development token. */
import {
  authSettings,
  DEVELOPMENT_JWT_SECRET,
  devTokenSettings,
  loadConfigOrExit,
  parseCli,
} from '@tideline/config';
import { signToken } from './sign.ts';

/** The longest lifetime `--ttl` accepts (ten years, as the setting's own bound). */
const MAX_TTL_SECONDS = 86_400 * 365 * 10;

const cli = parseCli({
  name: 'npm run token --',
  usage: `--sub <user> [--scope <scope>]… [--ttl <seconds>]

Prints a user token signed with TIDELINE_JWT_SECRET (or the development key when it is unset).
  --sub <user>       the token's subject (required)
  --scope <scope>    a scope to grant; repeat for more (default: TIDELINE_JWT_DEV_SCOPES)
  --ttl <seconds>    lifetime, 1 to ${MAX_TTL_SECONDS} (default: TIDELINE_DEV_TOKEN_TTL_SECONDS)
  -h, --help         this text`,
  options: {
    sub: { type: 'string' },
    scope: { type: 'string', multiple: true },
    ttl: { type: 'string' },
  },
});
const spec = { ...authSettings, ...devTokenSettings };
const config = loadConfigOrExit(spec);
const { values } = cli;
if (!values.sub?.trim()) cli.fail('--sub <user> is required');
const ttl = cli.int('ttl', config.tokenTtlSeconds, { min: 1, max: MAX_TTL_SECONDS });
for (const scope of values.scope ?? [])
  if (!/^[a-z]+(:[a-z0-9-]+)+$/.test(scope))
    cli.fail(`--scope ${JSON.stringify(scope)} is not a scope (like websites:read)`);
const secret = config.jwtSecret ?? DEVELOPMENT_JWT_SECRET;
if (!config.jwtSecret)
  process.stderr.write('note: TIDELINE_JWT_SECRET is unset; signing with the development key\n');
process.stdout.write(
  `${signToken({
    secret,
    sub: values.sub!,
    scopes: values.scope?.length ? values.scope : config.jwtDevScopes,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    expiresInSeconds: ttl,
  })}\n`,
);
