import { readFileSync } from 'node:fs';
import type { ConfigOf, Setting, SettingsSpec } from './setting.ts';

/** A configuration value broke its rule. `message` is the one line a service prints before exiting. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    readonly rule: string,
    readonly got: string,
  ) {
    super(`${variable}: must be ${rule} (got ${got})`);
  }
}

export interface ConfigSource {
  /** Usually `process.env`. */
  env?: Record<string, string | undefined>;
  /**
   * Optional JSON file keyed by variable name (`{ "TIDELINE_GATEWAY_PORT": 3000 }`); the
   * environment wins over the file. Defaults to the path in `TIDELINE_CONFIG_FILE`.
   */
  file?: string;
}

export type CrossRule<C> = (config: C) => ConfigError | undefined;

function readFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      'TIDELINE_CONFIG_FILE',
      'a readable JSON file',
      `${path}: ${(error as Error).message}`,
    );
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(
      'TIDELINE_CONFIG_FILE',
      'a JSON object keyed by variable name',
      `${path}: ${(error as Error).message}`,
    );
  }
}

function shown(setting: Setting<unknown>, raw: unknown): string {
  if (setting.secret) return '(hidden)';
  return JSON.stringify(raw);
}

/**
 * Reads and validates every setting of `spec`. Throws the first {@link ConfigError} met, in spec
 * order, so the operator sees one line naming one variable and its rule.
 */
export function loadConfig<S extends SettingsSpec>(
  spec: S,
  source: ConfigSource = {},
  rules: CrossRule<ConfigOf<S>>[] = [],
): ConfigOf<S> {
  const env = source.env ?? process.env;
  const filePath = source.file ?? env['TIDELINE_CONFIG_FILE'];
  const file = filePath ? readFile(filePath) : {};
  const known = new Set(Object.values(spec).map((s) => s.env));
  for (const key of Object.keys(file)) {
    if (!known.has(key as `TIDELINE_${string}`) && key.startsWith('TIDELINE_') === false) {
      throw new ConfigError(
        'TIDELINE_CONFIG_FILE',
        'keyed by TIDELINE_* variable names only',
        JSON.stringify(key),
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(spec)) {
    const fromEnv = env[setting.env];
    const raw = fromEnv !== undefined && fromEnv !== '' ? fromEnv : file[setting.env];
    if (raw === undefined) {
      if (!('default' in setting))
        throw new ConfigError(setting.env, setting.rule, 'nothing: it is required');
      out[key] = setting.default;
      continue;
    }
    const parsed = setting.schema.safeParse(raw);
    if (!parsed.success) throw new ConfigError(setting.env, setting.rule, shown(setting, raw));
    out[key] = parsed.data;
  }
  const config = Object.freeze(out) as ConfigOf<S>;
  for (const rule of rules) {
    const error = rule(config);
    if (error) throw error;
  }
  return config;
}

/** Exit status of a service stopped by invalid configuration (sysexits EX_CONFIG). */
export const EXIT_CONFIG = 78;

/**
 * {@link loadConfig} for a service's entry point: on an invalid value prints one line
 * (`config error: TIDELINE_X: must be … (got …)`) to stderr and exits with {@link EXIT_CONFIG}.
 */
export function loadConfigOrExit<S extends SettingsSpec>(
  spec: S,
  source?: ConfigSource,
  rules?: CrossRule<ConfigOf<S>>[],
): ConfigOf<S> {
  try {
    return loadConfig(spec, source, rules);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`config error: ${error.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw error;
  }
}
