import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLIENT_DEFAULTS } from './client.ts';

/** The default column of the README's options table, by option name. */
function readmeDefaults(): Map<string, string> {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const rows = new Map<string, string>();
  for (const match of readme.matchAll(/^\| `(\w+)`\s*\| `([^`]+)`/gm)) rows.set(match[1]!, match[2]!);
  return rows;
}

/** The value as the README writes it: numbers without separators, objects as `{ key: value, … }`. */
function asWritten(value: unknown): string {
  if (typeof value === 'object' && value !== null)
    return `{ ${Object.entries(value)
      .map(([key, inner]) => `${key}: ${asWritten(inner)}`)
      .join(', ')} }`;
  return String(value);
}

describe('client defaults', () => {
  it('docs - the README states every default the SDK applies (kept in packages/config)', () => {
    const documented = readmeDefaults();
    for (const [option, value] of Object.entries(CLIENT_DEFAULTS))
      expect(documented.get(option), option).toBe(asWritten(value));
  });
});
