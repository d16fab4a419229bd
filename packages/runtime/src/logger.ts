import { REDACTED, redactCredentials, type SettingsSpec, settingGroups } from '@tideline/config';
import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  service: string;
  level: string;
  /** Defaults to stdout; tests pass a stream to capture lines. */
  destination?: NodeJS.WritableStream;
}

/** Field names whose value is a credential wherever they appear (top level or one level down). */
const SECRET_FIELDS = [
  'password',
  'pass',
  'passwd',
  'token',
  'accessToken',
  'refreshToken',
  'secret',
  'apiKey',
  'authorization',
  'cookie',
  'privateKey',
  'sasl',
];

/** The config keys of every setting marked `secret` (`jwtSecret`, `redisPassword`, …). */
function secretSettingKeys(groups: Record<string, SettingsSpec>): string[] {
  const keys = new Set<string>();
  for (const spec of Object.values(groups))
    for (const [key, setting] of Object.entries(spec)) if (setting.secret) keys.add(key);
  return [...keys];
}

/** pino `redact` paths: secret fields at the top level, one level down, and in request headers. */
export function redactPaths(): string[] {
  const fields = [...SECRET_FIELDS, ...secretSettingKeys(settingGroups)];
  return [
    ...fields,
    ...fields.map((field) => `*.${field}`),
    'req.headers.authorization',
    'req.headers.cookie',
    'headers.authorization',
    'headers.cookie',
  ];
}

/** Depth to which a logged error's fields and causes are serialised (an error may cite itself). */
const MAX_ERROR_DEPTH = 5;

/**
 * An error as pino's standard serializer writes it, with every string in it (message, stack,
 * causes, own fields such as a client's `url`) passed through {@link redactCredentials}.
 */
export function serializeError(error: unknown): unknown {
  const serialised = pino.stdSerializers.err(error as Error);
  return redactDeep(serialised, 0);
}

function redactDeep(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactCredentials(value);
  if (value === null || typeof value !== 'object' || depth > MAX_ERROR_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = redactDeep(item, depth + 1);
  return out;
}

const redactString = (value: unknown) => (typeof value === 'string' ? redactCredentials(value) : value);

/**
 * Structured JSON logs, one object a line, with the service name on every line. Secrets never
 * reach a line: fields named like credentials (and every secret setting's key) are censored,
 * logged errors and URL fields have credentials in URLs, tokens and keys redacted, and so have
 * message strings.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactPaths(), censor: REDACTED },
      serializers: {
        err: serializeError,
        error: serializeError,
        cause: serializeError,
        url: redactString,
        servers: redactString,
        target: redactString,
      },
      hooks: {
        logMethod(args, method) {
          const redacted = args.map((arg) => (typeof arg === 'string' ? redactCredentials(arg) : arg));
          return method.apply(this, redacted as Parameters<typeof method>);
        },
      },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
