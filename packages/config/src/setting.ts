import { z } from 'zod';

/**
 * One configuration setting: its environment variable, the rule its value must follow, its default
 * and a one-line description. Environment values are strings; each rule parses them.
 */
export interface Setting<T> {
  readonly env: `TIDELINE_${string}`;
  readonly schema: z.ZodType<T>;
  /** Human-readable rule, printed in errors and in the README reference. */
  readonly rule: string;
  /** Used when neither the environment nor the file sets the variable; absent → required. */
  readonly default?: T;
  readonly doc: string;
  /** Never printed (errors show `(hidden)` instead of the value). */
  readonly secret?: boolean;
  /**
   * A URL that may carry credentials: an invalid value is printed with everything between `//`
   * (or its start) and `@` redacted, however malformed it is.
   */
  readonly isUrl?: boolean;
}

export type SettingsSpec = Record<string, Setting<unknown>>;
export type ConfigOf<S extends SettingsSpec> = {
  readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never;
};

const fromString = (value: unknown) => (typeof value === 'string' ? value.trim() : value);

function integer(min: number, max: number) {
  return z.preprocess(
    (v) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v),
    z.number().int().min(min).max(max),
  );
}

type Common<T> = { env: `TIDELINE_${string}`; doc: string; default?: T; secret?: boolean };

/** A duration in milliseconds; the variable name must end in `_MS`. */
export function ms(o: Common<number> & { min?: number; max?: number }): Setting<number> {
  if (!o.env.endsWith('_MS')) throw new Error(`${o.env}: a millisecond setting must end in _MS`);
  const min = o.min ?? 0;
  const max = o.max ?? 86_400_000 * 365;
  return { ...o, schema: integer(min, max), rule: `a whole number of milliseconds from ${min} to ${max}` };
}

/** A duration in seconds; the variable name must end in `_SECONDS`. */
export function seconds(o: Common<number> & { min?: number; max?: number }): Setting<number> {
  if (!o.env.endsWith('_SECONDS')) throw new Error(`${o.env}: a seconds setting must end in _SECONDS`);
  const min = o.min ?? 0;
  const max = o.max ?? 86_400 * 365 * 10;
  return { ...o, schema: integer(min, max), rule: `a whole number of seconds from ${min} to ${max}` };
}

export function port(o: Common<number> & { allowZero?: boolean }): Setting<number> {
  const min = o.allowZero ? 0 : 1;
  return { ...o, schema: integer(min, 65_535), rule: `a TCP port from ${min} to 65535` };
}

export function int(o: Common<number> & { min: number; max: number }): Setting<number> {
  return { ...o, schema: integer(o.min, o.max), rule: `a whole number from ${o.min} to ${o.max}` };
}

/** A fraction from 0 to 1 (a sampling ratio, a share). */
export function ratio(o: Common<number>): Setting<number> {
  const schema = z.preprocess(
    (v) => (typeof v === 'string' && /^\s*(0|1|0?\.\d+|1\.0*)\s*$/.test(v) ? Number(v) : v),
    z.number().min(0).max(1),
  );
  return { ...o, schema, rule: 'a number from 0 to 1' };
}

export function bool(o: Common<boolean>): Setting<boolean> {
  const schema = z.preprocess(
    (v) => (v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : v),
    z.boolean(),
  );
  return { ...o, schema, rule: 'true or false' };
}

export function str(
  o: Common<string> & { min?: number; max?: number; pattern?: RegExp; patternRule?: string },
) {
  let schema = z
    .string()
    .min(o.min ?? 1)
    .max(o.max ?? 4096);
  if (o.pattern) schema = schema.regex(o.pattern);
  const rule = o.patternRule ?? `a string of ${o.min ?? 1} to ${o.max ?? 4096} characters`;
  return { ...o, schema: z.preprocess(fromString, schema), rule } satisfies Setting<string>;
}

export function url(o: Common<string> & { protocols: string[] }): Setting<string> {
  const schema = z.preprocess(
    fromString,
    z.string().refine((v) => {
      try {
        return o.protocols.includes(new URL(v).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    }),
  ) as z.ZodType<string>;
  return { ...o, schema, isUrl: true, rule: `a URL with scheme ${o.protocols.join(' or ')}` };
}

export function oneOf<const V extends readonly [string, ...string[]]>(
  o: Common<V[number]> & { values: V },
): Setting<V[number]> {
  return {
    ...o,
    schema: z.preprocess(fromString, z.enum(o.values)) as z.ZodType<V[number]>,
    rule: `one of ${o.values.join(', ')}`,
  };
}

/** A comma-separated list in the environment, an array in the file. */
export function list(o: Common<string[]> & { item?: RegExp; itemRule?: string }): Setting<string[]> {
  const item = o.item ? z.string().regex(o.item) : z.string().min(1);
  const schema = z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s.length > 0)
        : v,
    z.array(item),
  );
  return { ...o, schema, rule: `a comma-separated list of ${o.itemRule ?? 'non-empty strings'}` };
}

/** An optional string: unset or empty means absent. */
export function optionalStr(
  o: Omit<Common<string | undefined>, 'default'> & { pattern?: RegExp; patternRule?: string },
): Setting<string | undefined> {
  const present = o.pattern ? z.string().min(1).regex(o.pattern) : z.string().min(1);
  const schema = z.preprocess((v) => (v === '' ? undefined : fromString(v)), present.optional());
  return { ...o, default: undefined, schema, rule: `${o.patternRule ?? 'a non-empty string'}, or unset` };
}
