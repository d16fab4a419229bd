import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SaxesParser } from 'saxes';
import { describe, expect, it } from 'vitest';
import {
  BenchReportError,
  type BenchResult,
  escapeXml,
  loadResults,
  parseResult,
  renderReportHtml,
  renderReportSvg,
  writeReport,
} from '../src/index.ts';
import { COLOR } from '../src/report.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures/results');

interface El {
  name: string;
  attrs: Record<string, string>;
  children: (El | string)[];
}

/** A strict XML parse (saxes, as jsdom uses it): throws on anything not well-formed. */
function parseXml(xml: string): El {
  const parser = new SaxesParser();
  const stack: El[] = [];
  let root: El | undefined;
  parser.on('opentag', (tag) => {
    const el: El = { name: tag.name, attrs: tag.attributes as Record<string, string>, children: [] };
    stack.at(-1)?.children.push(el);
    root ??= el;
    stack.push(el);
  });
  parser.on('closetag', () => void stack.pop());
  parser.on('text', (text) => void stack.at(-1)?.children.push(text));
  parser.write(xml).close();
  if (!root) throw new Error('no root element');
  return root;
}
const textOf = (el: El): string => el.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
function all(el: El, match: (e: El) => boolean, out: El[] = []): El[] {
  if (match(el)) out.push(el);
  for (const c of el.children) if (typeof c !== 'string') all(c, match, out);
  return out;
}

const fixtures = (): BenchResult[] => loadResults(FIXTURES).map((r) => r.result);

/** The row drawn for the figure labelled `label`: its `<g>`, whose `<title>` starts with the label. */
function row(svg: El, label: string) {
  const [g] = all(
    svg,
    (e) =>
      e.name === 'g' &&
      e.children.some(
        (c) => typeof c !== 'string' && c.name === 'title' && textOf(c).startsWith(`${label}:`),
      ),
  );
  if (!g) throw new Error(`no row for ${label}`);
  const bar = all(g, (e) => e.name === 'rect' && [COLOR.okBar, COLOR.badBar].includes(e.attrs.fill ?? ''));
  const goal = all(g, (e) => e.name === 'line' && e.attrs.stroke === COLOR.goal);
  expect(bar).toHaveLength(1);
  expect(goal).toHaveLength(1);
  const left = Number(bar[0]!.attrs.x);
  return {
    text: all(g, (e) => e.name === 'text')
      .map(textOf)
      .join(' | '),
    barColor: bar[0]!.attrs.fill,
    barEnd: left + Number(bar[0]!.attrs.width),
    goalX: Number(goal[0]!.attrs.x1),
  };
}

describe('renderReportSvg', () => {
  const svgText = renderReportSvg(fixtures());
  const svg = parseXml(svgText);

  it('renders - a well-formed standalone SVG with its own background and nothing external', () => {
    expect(svg.name).toBe('svg');
    expect(svg.attrs.xmlns).toBe('http://www.w3.org/2000/svg');
    const background = svg.children.find((c): c is El => typeof c !== 'string' && c.name === 'rect');
    expect(background?.attrs.fill).toBe(COLOR.background);
    expect(Number(background?.attrs.width)).toBeGreaterThan(Number(svg.attrs.width) - 2);
    expect(svgText).not.toMatch(/<script|<image|<foreignObject|href=|@import|url\(/i);
  });

  it('renders - a header per benchmark with its run date, rounds and machine', () => {
    const text = textOf(svg);
    for (const bench of ['cache', 'informer', 'push-gateway', 'website-api']) expect(text).toContain(bench);
    expect(text).toContain('2026-01-10 16:40 UTC · 3 rounds · 2 cpus · node v24.22.3 · linux-x64');
    expect(text).toContain('8 of 13 goals met across 4 benchmarks');
  });

  it('lower is better, goal met - bar green and left of the goal line, numbers as ratio, range and goal', () => {
    const r = row(svg, 'create p50, 1 client');
    expect(r.barColor).toBe(COLOR.okBar);
    expect(r.barEnd).toBeLessThanOrEqual(r.goalX);
    expect(r.text).toContain('×4.17 (×4.15–×4.19)');
    expect(r.text).toContain('goal ≤ ×5');
    expect(r.text).toContain('✓ met');
    expect(r.text).toContain('vs pg single-row INSERT commit p50, c=1');
    expect(r.text).toContain('median 1.21 vs 0.29 ms');
  });

  it('lower is better, goal not met - bar red and right of the goal line', () => {
    const r = row(svg, 'HTTP write → client p99');
    expect(r.barColor).toBe(COLOR.badBar);
    expect(r.barEnd).toBeGreaterThan(r.goalX);
    expect(r.text).toContain('×1.24 (×1.11–×1.30)');
    expect(r.text).toContain('goal ≤ ×1.2');
    expect(r.text).toContain('✗ not met');
  });

  it('higher is better, goal met - bar green and past the goal line; a value without baseline is drawn against its goal', () => {
    const r = row(svg, 'heartbeat updates filtered');
    expect(r.barColor).toBe(COLOR.okBar);
    expect(r.barEnd).toBeGreaterThanOrEqual(r.goalX);
    expect(r.text).toContain('24,100 updates/s (22,950–25,800)');
    expect(r.text).toContain('goal ≥ 20,000 updates/s');
    expect(r.text).toContain('value in updates/s, no baseline');
    expect(r.text).toContain('✓ met');
  });

  it('higher is better, goal not met - bar red and short of the goal line', () => {
    const r = row(svg, 'writes/s, 8 clients, log + relay on');
    expect(r.barColor).toBe(COLOR.badBar);
    expect(r.barEnd).toBeLessThan(r.goalX);
    expect(r.text).toContain('goal ≥ ×0.15');
    expect(r.text).toContain('✗ not met');
  });

  it('a median just short of its goal - shown with the digits that tell it from the goal', () => {
    const gateway = structuredClone(fixtures().find((r) => r.bench === 'push-gateway')!);
    const fanout = gateway.figures.find((f) => f.id === 'fanout')!;
    fanout.ratio = { min: 0.85, median: 0.9496, max: 1.03 };
    fanout.meetsGoal = false;
    const r = row(parseXml(renderReportSvg([gateway])), 'fan-out deliveries/s');
    expect(r.text).toContain('×0.9496 (×0.85–×1.03)');
    expect(r.text).toContain('goal ≥ ×0.95');
    expect(r.text).toContain('✗ not met');
  });

  it('a value whose unit is × - written as a ratio', () => {
    const cache = structuredClone(fixtures().find((r) => r.bench === 'cache')!);
    const heap = cache.figures.find((f) => f.id === 'heap')!;
    Object.assign(heap, { label: 'RSS / heap', unit: '×', goal: 2, goalNote: undefined });
    const r = row(parseXml(renderReportSvg([cache])), 'RSS / heap');
    expect(r.text).toContain('×1.32 (×1.31–×1.35)');
    expect(r.text).toContain('goal ≤ ×2');
  });

  it('figures without a goal - listed as text, not drawn', () => {
    const text = textOf(svg);
    expect(text).toContain('relay caught up after the last write: 4.00 ms (3.00–6.00)');
    expect(text).toContain(
      'naive list from the API server p50: 413 ms (398–441); vs cache over HTTP p50 2.26 ms, ×183 (×166–×210)',
    );
    expect(() => row(svg, 'relay caught up after the last write')).toThrow(/no row/);
  });

  it('escapes - <, & and quotes in labels and notes arrive intact through an XML parser', () => {
    expect(svgText).toContain('heap per node &lt;after GC&gt; &amp; &quot;live&quot;');
    const r = row(svg, 'heap per node <after GC> & "live"');
    expect(r.text).toContain('goal: issue 17: heap ≤ 1.5 KB & RSS ≤ 2× heap');
    const nasty = structuredClone(fixtures()[0]!);
    nasty.bench = 'a<b>&c';
    nasty.description = ']]> <!-- --> \u0001';
    nasty.figures[0]!.label = '<script>alert("x")</script> & more';
    const parsed = parseXml(renderReportSvg([nasty]));
    expect(textOf(parsed)).toContain('a<b>&c');
    expect(textOf(parsed)).toContain('<script>alert("x")</script> & more');
    expect(all(parsed, (e) => e.name === 'script')).toHaveLength(0);
  });

  it('escapeXml - replaces characters XML 1.0 forbids', () => {
    expect(escapeXml('a\u0001b\uFFFEc\uD800')).toBe('a\uFFFDb\uFFFDc\uFFFD');
    expect(escapeXml(`<&>"'`)).toBe('&lt;&amp;&gt;&quot;&apos;');
  });
});

describe('renderReportHtml', () => {
  it('wraps the picture and lists every figure and note, escaped', () => {
    const html = renderReportHtml(fixtures());
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toContain('<?xml');
    expect(html).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    expect(html).toContain('profile: 41 % Prisma engine, 22 % pg wire, 12 % zod');
    expect(html).toContain('heap per node &lt;after GC&gt; &amp; &quot;live&quot;');
  });
});

describe('loading results', () => {
  const dirWith = (files: Record<string, string>): string => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
    cpSync(FIXTURES, dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  };
  const problemsOf = (fn: () => unknown): readonly string[] => {
    try {
      fn();
    } catch (error) {
      if (error instanceof BenchReportError) return error.problems;
      throw error;
    }
    throw new Error('expected a BenchReportError');
  };
  const cacheFixture = () => JSON.parse(readFileSync(join(FIXTURES, 'cache.json'), 'utf8'));

  it('malformed - names the file, the figure and the field, and writes nothing', () => {
    const bad = cacheFixture();
    bad.figures[1].goal = '4';
    delete bad.machine.cpus;
    const dir = dirWith({ 'broken.json': JSON.stringify(bad) });
    const out = join(dir, 'out', 'report.svg');
    const problems = problemsOf(() =>
      writeReport({ resultsDir: dir, svgFile: out, htmlFile: `${out}.html` }),
    );
    expect(problems).toHaveLength(2);
    expect(problems.find((p) => p.includes('machine.cpus'))).toMatch(/broken\.json: machine\.cpus: /);
    expect(problems.find((p) => p.includes('goal'))).toMatch(
      /broken\.json: figures\[1\] \(http\.p99\)\.goal: .*expected number/,
    );
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.html`)).toBe(false);
  });

  it('malformed - not JSON at all, and problems of several files gathered', () => {
    const bad = cacheFixture();
    bad.figures[3].ratio = undefined;
    const dir = dirWith({ 'a.json': '{"bench": "a",', 'b.json': JSON.stringify(bad) });
    const problems = problemsOf(() => loadResults(dir));
    expect(problems[0]).toMatch(/a\.json: not valid JSON/);
    expect(problems[1]).toMatch(
      /b\.json: figures\[3\] \(naive\)\.ratio: missing, but the figure has a baseline/,
    );
    expect(() => parseResult('x.json', '[]')).toThrow(/x\.json: \(the whole file\): /);
  });

  it('no results - says how to make them', () => {
    const empty = mkdtempSync(join(tmpdir(), 'bench-report-'));
    expect(problemsOf(() => loadResults(empty))[0]).toMatch(/no results .*npm run bench/);
    expect(problemsOf(() => loadResults(join(empty, 'missing')))[0]).toMatch(/no results directory/);
  });

  it('writeReport - writes the SVG and the HTML page', () => {
    const dir = dirWith({});
    const out = join(dir, 'docs', 'bench-report.svg');
    const { results, files } = writeReport({ resultsDir: dir, svgFile: out, htmlFile: join(dir, 'r.html') });
    expect(results).toHaveLength(4);
    expect(files).toEqual([out, join(dir, 'r.html')]);
    expect(parseXml(readFileSync(out, 'utf8')).name).toBe('svg');
  });
});
