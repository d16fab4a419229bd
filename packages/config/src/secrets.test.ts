import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load.ts';
import { settingGroups } from './reference.ts';
import {
  DEVELOPMENT_JWT_SECRET,
  isPlaceholder,
  isPublishedSecret,
  PUBLISHED_SECRETS,
  productionSecretProblem,
} from './secrets.ts';
import { authSettings, requireJwtKey } from './settings/auth.ts';
import { busSettings } from './settings/bus.ts';
import { commonSettings } from './settings/common.ts';
import { informerSettings } from './settings/informer.ts';
import { databaseSettings, redisSettings } from './settings/stores.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLE_SECRET = 'deploy/kubernetes/overlays/production/secret.example.env';

/** Every secret-bearing setting a service reads. */
const spec = {
  ...commonSettings,
  ...authSettings,
  ...busSettings,
  ...redisSettings,
  ...databaseSettings,
  ...informerSettings,
};

/** A production configuration with secrets of its own: it starts. */
const ownProduction = (): Record<string, string> => ({
  TIDELINE_ENV: 'production',
  TIDELINE_JWT_SECRET: randomBytes(32).toString('base64'),
  TIDELINE_DATABASE_URL: `postgresql://tideline:${randomBytes(16).toString('hex')}@db.example.com:5432/tideline`,
  TIDELINE_REDIS_URL: 'rediss://redis.example.com:6379',
  TIDELINE_REDIS_PASSWORD: randomBytes(16).toString('hex'),
  TIDELINE_NATS_URL: 'tls://nats.example.com:4222',
  TIDELINE_NATS_USER: 'tideline',
  TIDELINE_NATS_PASSWORD: randomBytes(16).toString('hex'),
  TIDELINE_INFORMER_REGISTRATION_KEY: randomBytes(32).toString('base64'),
});

/** The ConfigError loading `env` stops with, or 'started'. */
function refusal(env: Record<string, string>): ConfigError | 'started' {
  try {
    loadConfig(spec, { env }, [requireJwtKey]);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  return 'started';
}

/** Asserts `env` is refused naming `variable` and that no secret of `values` appears in the message. */
function expectRefused(env: Record<string, string>, variable: string, values: string[]): ConfigError {
  const error = refusal(env);
  expect(error, variable).toBeInstanceOf(ConfigError);
  const refused = error as ConfigError;
  expect(refused.variable).toBe(variable);
  for (const value of values) {
    expect(refused.message).not.toContain(value);
    expect(refused.message).not.toContain(encodeURIComponent(value));
  }
  return refused;
}

/** `KEY=VALUE` lines as `kubectl create secret --from-env-file` and compose `--env-file` read them. */
function envFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(ROOT, path), 'utf8').split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match) out[match[1]!] = match[2]!;
  }
  return out;
}

// ---- the scan of the repository's development and example files --------------------------------

interface Committed {
  where: string;
  name: string;
  value: string;
}

/** Settings packages/config declares not secret (a public key, a key prefix…): their values are no secrets. */
const NOT_SECRET = new Set<string>(
  Object.values(settingGroups).flatMap((group) =>
    Object.values(group)
      .filter((setting) => !setting.secret)
      .map((setting) => setting.env),
  ),
);
const secretName = (name: string) =>
  /(PASSWORD|PASSWD|SECRET|TOKEN|AUTH|_KEY)$/.test(name) && !NOT_SECRET.has(name);

/**
 * The secret-looking values of a file's text: `NAME=value` / `NAME: value` where NAME looks like a
 * secret, `${NAME:-default}` defaults of such names, and the password of every `scheme://user:password@`.
 * References (`$NAME`, `${NAME:?…}`, `$(command)`) are no values.
 */
export function committedSecrets(file: string, text: string): Committed[] {
  const out: Committed[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    const where = `${file}:${index + 1}`;
    for (const [, name, value] of line.matchAll(
      /(?<![\w${])([A-Z][A-Z0-9_]*)\s*[=:]\s*["']?([^"'\s,\]}]*)/g,
    )) {
      if (secretName(name!) && value !== '' && !value!.includes('$'))
        out.push({ where, name: name!, value: value! });
    }
    for (const [, name, value] of line.matchAll(/\$\{([A-Z][A-Z0-9_]*):?-([^}]*)\}/g)) {
      if (secretName(name!) && value !== '' && !value!.includes('$'))
        out.push({ where, name: name!, value: value! });
    }
    for (const [, userinfo] of line.matchAll(/\b[a-z][a-z0-9+.-]*:\/\/([^\s/@"'`]+)@/gi)) {
      const colon = userinfo!.indexOf(':');
      const password = colon >= 0 ? userinfo!.slice(colon + 1) : '';
      if (password !== '' && !password.includes('$'))
        out.push({ where, name: 'URL password', value: decodeURIComponent(password) });
    }
  }
  return out;
}

/** The development and example files: compose (with its podman images) and the Kubernetes manifests. */
function developmentFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(ROOT, dir)).flatMap((name) => {
      const path = `${dir}/${name}`;
      return statSync(join(ROOT, path)).isDirectory() ? walk(path) : [path];
    });
  return [
    'docker-compose.yml',
    'docker-compose.dev.yml',
    ...walk('infra/compose'),
    ...walk('deploy/kubernetes'),
  ]
    .filter((path) => /\.(env|ya?ml|sh)$/.test(path))
    .map((path) => relative(ROOT, join(ROOT, path)));
}

describe('production refuses development secrets', () => {
  it('secrets of its own - a production configuration with its own keys and passwords starts', () => {
    expect(refusal(ownProduction())).toBe('started');
  });

  it('an operator who copied the example Secret unchanged cannot start production on the published placeholder key', () => {
    // The JWT line secret.example.env published (56 bytes: it passed the 32-byte rule), the
    // operator having filled in only the URLs.
    const placeholder = '<at least 32 random bytes, e.g. openssl rand -base64 32>';
    const error = expectRefused(
      { ...ownProduction(), TIDELINE_JWT_SECRET: placeholder },
      'TIDELINE_JWT_SECRET',
      [placeholder, 'at least 32 random bytes'],
    );
    expect(error.message).toMatch(
      /^TIDELINE_JWT_SECRET: must be a real secret when TIDELINE_ENV is production, not a placeholder/,
    );
    expect(error.got).toBe('(hidden)');
    for (const [variable, value] of [
      ['TIDELINE_REDIS_PASSWORD', '<redis password>'],
      ['TIDELINE_NATS_PASSWORD', '<nats password>'],
      ['TIDELINE_SERVICE_JWT_SECRET', '<separate key of service tokens>'],
      ['TIDELINE_KAFKA_SASL_PASSWORD', 'fill me in'],
      ['TIDELINE_NATS_TOKEN', `\${NATS_TOKEN}`],
    ] as const) {
      expectRefused({ ...ownProduction(), [variable]: value }, variable, [value]);
    }
    // The same values are fine where they protect nothing.
    expect(
      refusal({ ...ownProduction(), TIDELINE_ENV: 'development', TIDELINE_JWT_SECRET: placeholder }),
    ).toBe('started');
  });

  it('an operator who copied the example Secret unchanged gets "required", not a started production', () => {
    const copied = envFile(EXAMPLE_SECRET);
    // Every key line is commented out or empty: the copy carries no value at all.
    expect(Object.entries(copied).filter(([, value]) => value.trim() !== '')).toEqual([]);
    const error = refusal({ ...copied, TIDELINE_ENV: 'production' });
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('TIDELINE_JWT_SECRET');
    expect((error as ConfigError).message).toContain('it is required');
  });

  it('a development registration key is refused in production', () => {
    const committed = [
      envFile('infra/compose/development.env')['TIDELINE_INFORMER_REGISTRATION_KEY']!,
      /TIDELINE_INFORMER_REGISTRATION_KEY=(\S+)/.exec(
        readFileSync(join(ROOT, 'deploy/kubernetes/overlays/development/kustomization.yaml'), 'utf8'),
      )![1]!,
    ];
    for (const key of committed) {
      const hex = Buffer.from(key, 'base64').toString('hex');
      for (const variable of [
        'TIDELINE_INFORMER_REGISTRATION_KEY',
        'TIDELINE_INFORMER_REGISTRATION_PREVIOUS_KEY',
      ])
        for (const written of [key, hex]) {
          const error = expectRefused({ ...ownProduction(), [variable]: written }, variable, [key, hex]);
          expect(error.message).toBe(
            `${variable}: must be a secret of your own when TIDELINE_ENV is production, not a value published in this repository's development or example files (got (hidden))`,
          );
        }
      expect(
        refusal({ ...ownProduction(), TIDELINE_ENV: 'development', TIDELINE_INFORMER_REGISTRATION_KEY: key }),
      ).toBe('started');
    }
  });

  it('a development password is refused in production, alone or inside a connection URL, and never printed', () => {
    const password = envFile('infra/compose/development.env')['TIDELINE_REDIS_PASSWORD']!;
    for (const variable of [
      'TIDELINE_REDIS_PASSWORD',
      'TIDELINE_NATS_PASSWORD',
      'TIDELINE_KAFKA_SASL_PASSWORD',
    ])
      expectRefused({ ...ownProduction(), [variable]: password }, variable, [password]);
    const database = expectRefused(
      {
        ...ownProduction(),
        TIDELINE_DATABASE_URL: `postgresql://tideline:${password}@postgres:5432/tideline`,
      },
      'TIDELINE_DATABASE_URL',
      [password],
    );
    expect(database.message).toBe(
      "TIDELINE_DATABASE_URL: must be a URL whose password is a secret of your own when TIDELINE_ENV is production, not a value published in this repository's development or example files (got postgresql://***@postgres:5432/tideline)",
    );
    expectRefused(
      { ...ownProduction(), TIDELINE_REDIS_URL: `redis://:${password}@redis:6379` },
      'TIDELINE_REDIS_URL',
      [password],
    );
    expectRefused(
      { ...ownProduction(), TIDELINE_NATS_URL: `nats://tideline:${password}@nats:4222` },
      'TIDELINE_NATS_URL',
      [password],
    );
    // A placeholder in a URL's password or user is no credential either.
    expectRefused(
      {
        ...ownProduction(),
        TIDELINE_DATABASE_URL: 'postgresql://tideline:%3Cpassword%3E@db.example.com:5432/tideline',
      },
      'TIDELINE_DATABASE_URL',
      ['%3Cpassword%3E'],
    );
    // A database user named like a published value is no secret: only passwords are compared.
    expect(
      refusal({
        ...ownProduction(),
        TIDELINE_DATABASE_URL: 'postgresql://postgres@db.example.com:5432/tideline',
      }),
    ).toBe('started');
    expect(
      refusal({
        ...ownProduction(),
        TIDELINE_ENV: 'development',
        TIDELINE_DATABASE_URL: `postgresql://tideline:${password}@postgres:5432/tideline`,
        TIDELINE_REDIS_PASSWORD: password,
      }),
    ).toBe('started');
  });

  it('the development JWT key is refused in production wherever it is configured', () => {
    for (const variable of ['TIDELINE_JWT_SECRET', 'TIDELINE_SERVICE_JWT_SECRET', 'TIDELINE_SERVICE_TOKEN'])
      expectRefused({ ...ownProduction(), [variable]: DEVELOPMENT_JWT_SECRET }, variable, [
        DEVELOPMENT_JWT_SECRET,
      ]);
  });

  it('a development secret committed to the repository cannot slip past: the deny-list covers every secret value of the development and example files', () => {
    const files = developmentFiles();
    expect(files).toEqual(expect.arrayContaining(['infra/compose/development.env', EXAMPLE_SECRET]));
    const found = files.flatMap((file) => committedSecrets(file, readFileSync(join(ROOT, file), 'utf8')));
    // The scan sees the committed development secrets (it is not vacuous)…
    expect(found.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        'TIDELINE_JWT_SECRET',
        'TIDELINE_INFORMER_REGISTRATION_KEY',
        'TIDELINE_REDIS_PASSWORD',
        'POSTGRES_PASSWORD',
        'URL password',
      ]),
    );
    expect(found.map((c) => c.value)).toContain(DEVELOPMENT_JWT_SECRET);
    // …and production refuses every one of them.
    const accepted = found.filter((c) => productionSecretProblem(c.value) === undefined);
    expect(
      accepted.map((c) => `${c.where} ${c.name}: production would accept it; add it to PUBLISHED_SECRETS`),
    ).toEqual([]);
  });

  it('the scan catches a new development secret (negative control of the deny-list test)', () => {
    const found = committedSecrets(
      'new.env',
      'TIDELINE_NATS_PASSWORD=a-new-dev-password\nX: redis://:other-dev@h:1\n',
    );
    expect(found.map((c) => c.value)).toEqual(['a-new-dev-password', 'other-dev']);
    expect(found.every((c) => productionSecretProblem(c.value) === undefined)).toBe(true);
    // References are no committed values.
    expect(committedSecrets('c.yml', `A_PASSWORD: \${A_PASSWORD:?set it}\nB_TOKEN=$(secret 16 hex)`)).toEqual(
      [],
    );
  });

  it('deny-list - the same key in another encoding is still the published key; generated secrets are never taken for placeholders', () => {
    for (const published of PUBLISHED_SECRETS) expect(isPublishedSecret(` ${published} `)).toBe(true);
    const key = PUBLISHED_SECRETS.find((s) => s.length === 44)!;
    const bytes = Buffer.from(key, 'base64');
    expect(isPublishedSecret(bytes.toString('hex').toUpperCase())).toBe(true);
    expect(isPublishedSecret(bytes.toString('base64url'))).toBe(true);
    for (let i = 0; i < 500; i++) {
      for (const generated of [randomBytes(32).toString('base64'), randomBytes(24).toString('hex')]) {
        expect(isPlaceholder(generated), generated).toBe(false);
        expect(isPublishedSecret(generated)).toBe(false);
      }
    }
  });
});
