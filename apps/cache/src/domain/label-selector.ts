import { TidelineError } from '@tideline/contracts';

/** A label selector is malformed: VALIDATION_FAILED, naming the field `labelSelector` and what is wrong. */
export class LabelSelectorError extends TidelineError {
  override readonly name = 'LabelSelectorError';
  constructor(reason: string) {
    super('VALIDATION_FAILED', `labelSelector: ${reason}`, {
      fields: [{ path: 'labelSelector', message: reason }],
    });
  }
}

/** One requirement of a selector, as parsed. */
export type Requirement =
  | { op: 'exists' | 'not-exists'; key: string }
  | { op: 'equals' | 'not-equals'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: ReadonlySet<string> };

/** A label predicate: true when the labels match. */
export type LabelPredicate = (labels: Readonly<Record<string, string>>) => boolean;

/**
 * A parsed selector: every requirement must hold (comma = and); the empty selector matches
 * everything. Callable as a predicate; a selector that carries its `requirements` can be answered
 * from a label index, one without them (a hand-written predicate) only by testing every node.
 */
export type LabelSelector = LabelPredicate & { readonly requirements?: readonly Requirement[] };

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

type Labels = Readonly<Record<string, string>>;

function labelOf(labels: Labels, key: string): string | undefined {
  const value = labels[key];
  // Labels come from JSON; only an own property counts (never `constructor` & co. of the prototype).
  return value !== undefined && Object.hasOwn(labels, key) ? value : undefined;
}

/** One requirement as a predicate, so matching a node costs one call per requirement and no dispatch. */
function compile(requirement: Requirement): LabelPredicate {
  const { key } = requirement;
  switch (requirement.op) {
    case 'exists':
      return (labels) => labelOf(labels, key) !== undefined;
    case 'not-exists':
      return (labels) => labelOf(labels, key) === undefined;
    case 'equals': {
      const expected = requirement.value;
      return (labels) => labelOf(labels, key) === expected;
    }
    case 'not-equals': {
      const unwanted = requirement.value;
      return (labels) => labelOf(labels, key) !== unwanted;
    }
    case 'in': {
      const values = requirement.values;
      return (labels) => {
        const value = labelOf(labels, key);
        return value !== undefined && values.has(value);
      };
    }
    case 'notin': {
      const values = requirement.values;
      return (labels) => {
        const value = labelOf(labels, key);
        return value === undefined || !values.has(value);
      };
    }
  }
}

/**
 * Parses a Kubernetes label selector: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`,
 * `a notin (x,y)`, joined by commas. `!=` and `notin` also match nodes without the label, as in
 * Kubernetes. Throws {@link LabelSelectorError} on anything else.
 */
export function parseLabelSelector(selector: string): LabelSelector {
  if (selector.trim() === '') return Object.assign(() => true, { requirements: [] });
  const requirements = splitRequirements(selector).map((part) => {
    if (part === '') throw new LabelSelectorError('empty requirement (two commas in a row?)');
    return parseRequirement(part);
  });
  const predicates = requirements.map(compile);
  const all: LabelPredicate =
    predicates.length === 1
      ? predicates[0]!
      : (labels) => {
          for (const predicate of predicates) if (!predicate(labels)) return false;
          return true;
        };
  return Object.assign(all, { requirements });
}
