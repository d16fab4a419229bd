import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * docs/SPEC.md numbers every invariant and names the tests that prove it; this keeps the map
 * true in both directions: SPEC → tests (each named test exists) and tests → SPEC (each cited
 * invariant exists and lists the citing file).
 */
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const SPEC_PATH = join(ROOT, 'docs/SPEC.md');

interface Invariant {
  id: number;
  title: string;
  proofs: { file: string; title: string }[];
}

function parseSpec(text: string): Invariant[] {
  const invariants: Invariant[] = [];
  for (const line of text.split('\n')) {
    const heading = /^## I(\d+)\. (.+)$/.exec(line);
    if (heading) {
      invariants.push({ id: Number(heading[1]), title: heading[2]!, proofs: [] });
      continue;
    }
    const proof = /^- `([^`]+)` — (.+)$/.exec(line);
    if (proof && invariants.length > 0) invariants.at(-1)!.proofs.push({ file: proof[1]!, title: proof[2]! });
  }
  return invariants;
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'generated' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}

const sourceFiles = [...walk(join(ROOT, 'apps')), ...walk(join(ROOT, 'packages'))].map((path) =>
  relative(ROOT, path),
);
const SELF = 'packages/stack-tests/test/spec-map.test.ts';
const isTestFile = (file: string) =>
  file !== SELF && (/\.test\.ts$/.test(file) || file.endsWith('testing/contract-suite.ts'));

/** "invariant 4", "invariants 3 and 5", "invariants 1, 2, 5": every number cited. */
function citedInvariants(text: string): number[] {
  const cited: number[] = [];
  for (const match of text.matchAll(/\binvariants? (\d+(?:(?:, | and |-| to )\d+)*)/gi)) {
    for (const n of match[1]!.split(/, | and |-| to /)) cited.push(Number(n));
  }
  return cited;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const spec = parseSpec(readFileSync(SPEC_PATH, 'utf8'));
const ids = new Set(spec.map((i) => i.id));

describe('docs/SPEC.md and the tests', () => {
  it('spec - invariants are numbered 1, 2, 3, … without a hole or a repeat', () => {
    expect(spec.map((i) => i.id)).toEqual(spec.map((_, index) => index + 1));
    expect(spec.length).toBeGreaterThanOrEqual(9);
  });

  it('spec - every invariant names at least one test, and every named test exists in its file', () => {
    const missing: string[] = [];
    for (const invariant of spec) {
      if (invariant.proofs.length === 0) missing.push(`I${invariant.id} names no test`);
      for (const proof of invariant.proofs) {
        let source: string;
        try {
          source = readFileSync(join(ROOT, proof.file), 'utf8');
        } catch {
          missing.push(`I${invariant.id}: no file ${proof.file}`);
          continue;
        }
        const opens = new RegExp(
          `\\b(?:it|test|describe|scenario)(?:\\.\\w+)?\\(\\s*['"\`]${escapeRegExp(proof.title)}`,
        );
        if (!opens.test(source)) missing.push(`I${invariant.id}: ${proof.file} has no test "${proof.title}"`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('citations - a test citing an invariant cites one that exists, and SPEC lists that test file under it', () => {
    const wrong: string[] = [];
    for (const file of sourceFiles.filter(isTestFile)) {
      for (const n of citedInvariants(readFileSync(join(ROOT, file), 'utf8'))) {
        const invariant = spec.find((i) => i.id === n);
        if (!invariant) wrong.push(`${file} cites invariant ${n}, which does not exist`);
        else if (!invariant.proofs.some((p) => p.file === file)) {
          wrong.push(`${file} cites invariant ${n} but docs/SPEC.md does not list it under I${n}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('citations - code and READMEs cite only invariants that exist', () => {
    const docs = sourceFiles.filter(
      (f) => f !== SELF && ((f.endsWith('.ts') && !isTestFile(f)) || f.endsWith('README.md')),
    );
    const wrong: string[] = [];
    for (const file of [...docs, 'README.md']) {
      for (const n of citedInvariants(readFileSync(join(ROOT, file), 'utf8'))) {
        if (!ids.has(n)) wrong.push(`${file} cites invariant ${n}, which does not exist`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('citations - the checker reads every way a citation is written', () => {
    expect(citedInvariants('invariant 4; (invariants 3 and 5), invariants 1, 2, 5 and Invariant 9')).toEqual([
      4, 3, 5, 1, 2, 5, 9,
    ]);
  });
});
