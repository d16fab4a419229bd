/**
 * What production refuses as a secret: values published in this repository and placeholders left
 * in a copied example. The one place these are defined; {@link loadConfig} applies them to every
 * secret setting and every credential of a URL setting when TIDELINE_ENV is production, and
 * `requireJwtKey` to the JWT keys. Nothing here returns or prints a value: callers get a rule to
 * name in a ConfigError whose `got` is `(hidden)` (or the URL with its credentials redacted).
 */

/** The development key `npm start` and tests use when no key is configured; never valid in production. */
export const DEVELOPMENT_JWT_SECRET = 'tideline-development-secret-do-not-use-in-production';

/**
 * Every secret value committed in the repository's development and example files, which anyone
 * can read: production refuses each of them, in any setting. `secrets.test.ts` reads those files
 * (infra/compose, docker-compose*.yml, deploy/kubernetes) and fails when one of their secret values
 * is neither listed here nor an evident placeholder, so a new committed development secret cannot
 * slip past: add it here.
 */
export const PUBLISHED_SECRETS: readonly string[] = [
  // infra/compose/development.env, deploy/kubernetes/overlays/development (JWT key)
  DEVELOPMENT_JWT_SECRET,
  // infra/compose/development.env (PostgreSQL, Redis, NATS) and the development overlay (PostgreSQL)
  'tideline-development',
  // infra/compose/development.env: TIDELINE_INFORMER_REGISTRATION_KEY
  'dGlkZWxpbmUtZGV2ZWxvcG1lbnQta2V5LTMyLWJ5dGU=',
  // deploy/kubernetes/overlays/development/kustomization.yaml: TIDELINE_INFORMER_REGISTRATION_KEY
  'ZGV2ZWxvcG1lbnQtcmVnaXN0cmF0aW9uLWtleS0zMmI=',
  // infra/compose/podman/images/postgres/entrypoint.sh: the password when POSTGRES_PASSWORD is unset
  'postgres',
];

const KEY_BYTES = 32;

/** The 32 bytes of a key written in hex or base64(url), as the registration keys are; else undefined. */
function keyBytes(text: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const key = Buffer.from(text.replaceAll('-', '+').replaceAll('_', '/'), 'base64');
    if (key.length === KEY_BYTES) return key;
  }
  return undefined;
}

const PUBLISHED_KEYS = PUBLISHED_SECRETS.map(keyBytes).filter((key) => key !== undefined);

/** Whether `value` is one of {@link PUBLISHED_SECRETS}, also as the same 32-byte key in another encoding. */
export function isPublishedSecret(value: string): boolean {
  const trimmed = value.trim();
  if (PUBLISHED_SECRETS.includes(trimmed)) return true;
  const key = keyBytes(trimmed);
  return key !== undefined && PUBLISHED_KEYS.some((published) => published.equals(key));
}

/**
 * An evident placeholder rather than a secret: `<…>` (as example files write what to fill in),
 * whitespace (a sentence, not a generated key), or an unexpanded `${NAME}` / `$(NAME)` reference.
 */
export function isPlaceholder(value: string): boolean {
  return (
    /<[^<>]+>/.test(value) ||
    /\s/.test(value) ||
    /\$\{[A-Za-z_][A-Za-z0-9_]*(?:[:?-][^}]*)?\}|\$\([A-Za-z_][A-Za-z0-9_]*\)/.test(value)
  );
}

const PLACEHOLDER = `a placeholder (it holds \`<…>\`, whitespace or an unexpanded \${…})`;
/** The rule a refused placeholder breaks (named in the ConfigError). */
export const PLACEHOLDER_RULE = `a real secret when TIDELINE_ENV is production, not ${PLACEHOLDER}: generate one, e.g. \`openssl rand -base64 32\``;
/** The rule a refused published value breaks (named in the ConfigError). */
export const PUBLISHED_RULE =
  "a secret of your own when TIDELINE_ENV is production, not a value published in this repository's development or example files";

/**
 * Why `value` may not serve as a secret in production (the rule to name), or undefined when it
 * may. Never includes the value.
 */
export function productionSecretProblem(value: string): string | undefined {
  if (isPublishedSecret(value)) return PUBLISHED_RULE;
  if (isPlaceholder(value)) return PLACEHOLDER_RULE;
  return undefined;
}

/**
 * Why the credentials of a URL setting may not serve in production (the rule to name), or
 * undefined: its password must pass {@link productionSecretProblem}; its user (not a secret: a
 * database user may well be called `postgres`) must only not be a placeholder. A value that is no
 * URL has no credentials here (the setting's own rule refuses it).
 */
export function productionUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const decode = (part: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  };
  if (url.password !== '') {
    const problem = productionSecretProblem(decode(url.password));
    if (problem) return `a URL whose password is ${problem}`;
  }
  if (url.username !== '' && isPlaceholder(decode(url.username)))
    return `a URL whose user is not ${PLACEHOLDER}`;
  return undefined;
}
