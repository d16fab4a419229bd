/** A label selector is malformed; `message` says where. */
export class LabelSelectorError extends Error {
  override readonly name = 'LabelSelectorError';
}

type Requirement =
  | { op: 'exists' | 'not-exists'; key: string }
  | { op: 'equals' | 'not-equals'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: ReadonlySet<string> };

/** A parsed selector: every requirement must hold (comma = and). The empty selector matches everything. */
export type LabelSelector = (labels: Readonly<Record<string, string>>) => boolean;

const KEY = '(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?';
const VALUE = '(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?';
const EXISTS = new RegExp(`^(${KEY})$`);
const NOT_EXISTS = new RegExp(`^!\\s*(${KEY})$`);
const EQUALITY = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^()]*)\\)$`);
const VALUE_ONLY = new RegExp(`^${VALUE}$`);

function splitRequirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of selector) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (depth < 0) throw new LabelSelectorError('unbalanced ")"');
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  if (depth !== 0) throw new LabelSelectorError('unbalanced "("');
  parts.push(current);
  return parts.map((p) => p.trim());
}

function parseRequirement(text: string): Requirement {
  let m = EQUALITY.exec(text);
  if (m) return { op: m[2] === '!=' ? 'not-equals' : 'equals', key: m[1]!, value: m[3]! };
  m = SET.exec(text);
  if (m) {
    const values = m[3]!.split(',').map((v) => v.trim());
    for (const value of values)
      if (!VALUE_ONLY.test(value))
        throw new LabelSelectorError(`invalid value ${JSON.stringify(value)} in ${JSON.stringify(text)}`);
    return { op: m[2] === 'in' ? 'in' : 'notin', key: m[1]!, values: new Set(values) };
  }
  m = NOT_EXISTS.exec(text);
  if (m) return { op: 'not-exists', key: m[1]! };
  m = EXISTS.exec(text);
  if (m) return { op: 'exists', key: m[1]! };
  throw new LabelSelectorError(`cannot parse requirement ${JSON.stringify(text)}`);
}

function holds(requirement: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const value = Object.hasOwn(labels, requirement.key) ? labels[requirement.key] : undefined;
  switch (requirement.op) {
    case 'exists':
      return value !== undefined;
    case 'not-exists':
      return value === undefined;
    case 'equals':
      return value === requirement.value;
    case 'not-equals':
      return value !== requirement.value;
    case 'in':
      return value !== undefined && requirement.values.has(value);
    case 'notin':
      return value === undefined || !requirement.values.has(value);
  }
}

/**
 * Parses a Kubernetes label selector: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`,
 * `a notin (x,y)`, joined by commas. `!=` and `notin` also match nodes without the label, as in
 * Kubernetes. Throws {@link LabelSelectorError} on anything else.
 */
export function parseLabelSelector(selector: string): LabelSelector {
  if (selector.trim() === '') return () => true;
  const requirements = splitRequirements(selector).map((part) => {
    if (part === '') throw new LabelSelectorError('empty requirement (two commas in a row?)');
    return parseRequirement(part);
  });
  return (labels) => requirements.every((r) => holds(r, labels));
}
