import { readFileSync } from 'node:fs';
// reference.ts reaches back to this module through settings that build ConfigErrors; they do so
// only when called, never while modules load, so the cycle is harmless.
import { redactCredentials, redactUrl } from './redact.ts';
import { settingGroups } from './reference.ts';
import { productionSecretProblem, productionUrlProblem } from './secrets.ts';
import type { ConfigOf, Setting, SettingsSpec } from './setting.ts';

/**
 * A configuration value broke its rule. `message` is the one line a service prints before exiting.
 * `got` never carries a credential: whatever looks like one (URL userinfo, `password=`/`token=`
 * parameters, bearer tokens, JWTs, private keys) is redacted here, whoever builds the error.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly got: string;
  constructor(
    readonly variable: string,
    readonly rule: string,
    got: string,
  ) {
    const shown = redactCredentials(got);
    super(`${variable}: must be ${rule} (got ${shown})`);
    this.got = shown;
  }
}

export interface ConfigSource {
  /** Usually `process.env`. */
  env?: Record<string, string | undefined>;
  /**
   * Optional JSON file keyed by variable name (`{ "TIDELINE_GATEWAY_PORT": 3000 }`); the
   * environment wins over the file. Defaults to the path in `TIDELINE_CONFIG_FILE`. One file may
   * serve every service, so it may hold any service's settings; a key that is no setting at all
   * (a misspelling) is refused.
   */
  file?: string;
}

export type CrossRule<C> = (config: C) => ConfigError | undefined;

/**
 * Where a JSON file failed to parse, without the parser's quote of the text around it (the file
 * may hold secrets): `not valid JSON at position 12 (line 2 column 3)`.
 */
function whereJsonBroke(error: Error): string {
  if (error.message === 'not an object') return 'not a JSON object';
  const position = /position (\d+)(?: \(line (\d+) column (\d+)\))?/.exec(error.message);
  if (!position) return 'not valid JSON';
  const line = position[2] ? ` (line ${position[2]} column ${position[3]})` : '';
  return `not valid JSON at position ${position[1]}${line}`;
}

/**
 * The TIDELINE_CONFIG_FILE at `path`: a JSON object keyed by variable name. Throws a
 * {@link ConfigError} naming TIDELINE_CONFIG_FILE when it cannot be read or is no JSON object.
 */
export function readConfigFile(path: string): Record<string, unknown> {
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
      `${path}: ${whereJsonBroke(error as Error)}`,
    );
  }
}

/** Edit distance (insertions, deletions, substitutions) between two variable names. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Edits within which an unknown key is taken for a misspelling of a known one. */
const MISSPELLING_MAX_EDITS = 3;

/**
 * Refuses the first key of the file that names no setting, neither of `spec` nor of any service
 * (see {@link settingGroups}), naming the closest known variable when it looks like a misspelling.
 */
function refuseUnknownKeys(file: Record<string, unknown>, path: string, spec: SettingsSpec): void {
  const known = new Set<string>(Object.values(spec).map((s) => s.env));
  for (const group of Object.values(settingGroups)) for (const s of Object.values(group)) known.add(s.env);
  const unknown = Object.keys(file).find((key) => !known.has(key));
  if (unknown === undefined) return;
  let closest: string | undefined;
  let closestEdits = MISSPELLING_MAX_EDITS + 1;
  for (const name of known) {
    const edits = distance(unknown.toUpperCase(), name);
    if (edits < closestEdits) [closest, closestEdits] = [name, edits];
  }
  throw new ConfigError(
    'TIDELINE_CONFIG_FILE',
    'keyed by known TIDELINE_* variable names',
    `${JSON.stringify(unknown)} in ${path}${closest ? `; did you mean ${closest}?` : ''}`,
  );
}

/** How an invalid value is quoted in its error: never a secret, never a URL's credentials. */
function shown(setting: Setting<unknown>, raw: unknown): string {
  if (setting.secret) return '(hidden)';
  if (setting.isUrl && typeof raw === 'string') return JSON.stringify(redactUrl(raw));
  return JSON.stringify(raw);
}

/**
 * Production refuses development secrets: when `spec` has TIDELINE_ENV and it is `production`, the
 * first secret setting holding a value published in the repository or a placeholder, or URL
 * setting whose credentials do (see ./secrets.ts), is refused. The error names the variable, never
 * the value (`(hidden)`; a URL with its credentials redacted).
 */
function refusePublishedSecrets(
  spec: SettingsSpec,
  config: Record<string, unknown>,
): ConfigError | undefined {
  const environment = Object.entries(spec).find(([, setting]) => setting.env === 'TIDELINE_ENV');
  if (environment === undefined || config[environment[0]] !== 'production') return undefined;
  for (const [key, setting] of Object.entries(spec)) {
    const value = config[key];
    if (typeof value !== 'string') continue;
    if (setting.secret) {
      const problem = productionSecretProblem(value);
      if (problem) return new ConfigError(setting.env, problem, '(hidden)');
    } else if (setting.isUrl) {
      const problem = productionUrlProblem(value);
      if (problem) return new ConfigError(setting.env, problem, redactUrl(value));
    }
  }
  return undefined;
}

/**
 * Reads and validates every setting of `spec`. Throws the first {@link ConfigError} met, in spec
 * order, so the operator sees one line naming one variable and its rule; then the cross rules in
 * their order; then, under TIDELINE_ENV=production, the refusal of published and placeholder
 * secrets ({@link refusePublishedSecrets}).
 */
export function loadConfig<S extends SettingsSpec>(
  spec: S,
  source: ConfigSource = {},
  rules: CrossRule<ConfigOf<S>>[] = [],
): ConfigOf<S> {
  const env = source.env ?? process.env;
  const filePath = source.file ?? env['TIDELINE_CONFIG_FILE'];
  const file = filePath ? readConfigFile(filePath) : {};
  if (filePath) refuseUnknownKeys(file, filePath, spec);
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
  const published = refusePublishedSecrets(spec, out);
  if (published) throw published;
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
