import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { formatNumber as fmt } from './format.ts';
import { type BenchResult, benchResultSchema, type FigureResult, meetsGoal } from './results.ts';
import type { Spread } from './stats.ts';

/**
 * The benchmark report: every `bench/results/*.json`, validated, drawn as one self-contained SVG
 * (its own background, system monospace fonts, no scripts or external references), so it reads
 * the same on a light or a dark page and on GitHub, where SVG images are shown sandboxed.
 *
 * Hand-written SVG rather than a charting library: the picture is one kind of chart (a bar, a
 * whisker and a goal line per figure), and a monospace font makes text width predictable enough
 * to lay out labels without a browser.
 */

/** Results that cannot be rendered; `problems` name each file and field. Nothing is written. */
export class BenchReportError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(
      `bench report: nothing rendered, ${problems.length} problem(s) in the results:\n${problems
        .map((p) => `  ${p}`)
        .join('\n')}`,
    );
    this.name = 'BenchReportError';
    this.problems = problems;
  }
}

/** One results file, validated. */
export interface LoadedResult {
  file: string;
  result: BenchResult;
}

/** `figures[2] (create.c1.p50).goal` from a zod issue path, naming the figure when it has an id. */
function fieldName(path: readonly PropertyKey[], raw: unknown): string {
  let out = '';
  let node: unknown = raw;
  for (const key of path) {
    if (typeof key === 'number') {
      out += `[${key}]`;
      node = Array.isArray(node) ? node[key] : undefined;
      const id = (node as { id?: unknown } | undefined)?.id;
      if (typeof id === 'string') out += ` (${id})`;
    } else {
      out += `${out ? '.' : ''}${String(key)}`;
      node = node && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined;
    }
  }
  return out || '(the whole file)';
}

/** Problems the schema cannot express: a ratio belongs with a baseline, and only then. */
function consistencyProblems(result: BenchResult): string[] {
  const problems: string[] = [];
  result.figures.forEach((f, i) => {
    const at = `figures[${i}] (${f.id})`;
    if (f.baseline !== undefined && f.ratio === undefined)
      problems.push(`${at}.ratio: missing, but the figure has a baseline ("${f.baseline}")`);
    if (f.baseline === undefined && f.ratio !== undefined)
      problems.push(`${at}.baseline: missing, but the figure has ratios`);
  });
  return problems;
}

/** One results file's text, validated against {@link benchResultSchema}; problems name `file` and the field. */
export function parseResult(file: string, text: string): BenchResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new BenchReportError([`${file}: not valid JSON (${(error as Error).message})`]);
  }
  const parsed = benchResultSchema.safeParse(raw);
  if (!parsed.success)
    throw new BenchReportError(
      parsed.error.issues.map((issue) => `${file}: ${fieldName(issue.path, raw)}: ${issue.message}`),
    );
  const problems = consistencyProblems(parsed.data).map((p) => `${file}: ${p}`);
  if (problems.length > 0) throw new BenchReportError(problems);
  return parsed.data;
}

/**
 * Every `*.json` in `dir`, validated; the problems of all files are gathered into one
 * {@link BenchReportError}, and none is returned when any file is malformed.
 */
export function loadResults(dir: string): LoadedResult[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new BenchReportError([`${dir}: no results directory (run npm run bench first)`]);
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => join(dir, name));
  if (files.length === 0)
    throw new BenchReportError([`${dir}: no results (*.json); run npm run bench first`]);
  const problems: string[] = [];
  const loaded: LoadedResult[] = [];
  for (const file of files) {
    try {
      loaded.push({ file, result: parseResult(file, readFileSync(file, 'utf8')) });
    } catch (error) {
      if (!(error instanceof BenchReportError)) throw error;
      problems.push(...error.problems);
    }
  }
  if (problems.length > 0) throw new BenchReportError(problems);
  return loaded;
}

// ---------------------------------------------------------------------------------------------
// Drawing

const W = 1160;
const PAD = 32;
const LEFT_W = 400;
const TRACK_X = PAD + LEFT_W + 16;
const TRACK_W = 320;
const RIGHT_X = TRACK_X + TRACK_W + 24;
const RIGHT_W = W - PAD - RIGHT_X;
const FULL_W = W - 2 * PAD;
/** Monospace advance per em; every monospace system font is within a few % of it. */
const ADVANCE = 0.6;
const FONT =
  "ui-monospace, SFMono-Regular, 'SF Mono', Menlo, Consolas, 'DejaVu Sans Mono', 'Liberation Mono', monospace";

/** The palette (light, on its own background). */
export const COLOR = {
  background: '#ffffff',
  border: '#d0d7de',
  text: '#1f2328',
  muted: '#59636e',
  track: '#f6f8fa',
  trackStroke: '#d8dee4',
  okZone: '#dafbe1',
  okBar: '#2da44e',
  okText: '#1a7f37',
  badBar: '#e5534b',
  badText: '#cf222e',
  whisker: '#1f2328',
  goal: '#8250df',
  baseline: '#6e7781',
};

/** Text safe in XML content and attribute values (characters XML 1.0 forbids become U+FFFD). */
export function escapeXml(text: string): string {
  return text
    .replace(
      // biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters XML 1.0 forbids
      /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
      '\uFFFD',
    )
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Greedy word wrap to `width` characters; a word longer than a line is cut. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (let word of text.split(/\s+/).filter(Boolean)) {
    while (word.length > width) {
      if (line) lines.push(line);
      lines.push(word.slice(0, width));
      word = word.slice(width);
      line = '';
    }
    if (!word) continue;
    if (!line) line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line) lines.push(line);
  return lines.length ? lines : [''];
}

interface Span {
  text: string;
  fill?: string;
  bold?: boolean;
}
interface Line {
  spans: Span[];
  size: number;
}
const lineHeight = (size: number): number => Math.round(size * 1.35);
const linesHeight = (lines: readonly Line[]): number => lines.reduce((h, l) => h + lineHeight(l.size), 0);
const charsIn = (width: number, size: number): number => Math.floor(width / (size * ADVANCE));

function textLines(
  text: string,
  options: { width: number; size: number; fill?: string; bold?: boolean },
): Line[] {
  return wrap(text, charsIn(options.width, options.size)).map((part) => ({
    size: options.size,
    spans: [{ text: part, fill: options.fill, bold: options.bold }],
  }));
}

/** Draws `lines` from `top` at `x`; returns the SVG. */
function drawLines(lines: readonly Line[], x: number, top: number): string {
  let y = top;
  let out = '';
  for (const line of lines) {
    y += lineHeight(line.size);
    const spans = line.spans
      .map((s) => {
        const attrs = `${s.fill ? ` fill="${s.fill}"` : ''}${s.bold ? ' font-weight="700"' : ''}`;
        return attrs ? `<tspan${attrs}>${escapeXml(s.text)}</tspan>` : escapeXml(s.text);
      })
      .join('');
    out += `<text x="${x}" y="${y - Math.round(line.size * 0.3)}" font-size="${line.size}" fill="${COLOR.text}" xml:space="preserve">${spans}</text>`;
  }
  return out;
}

/** A rounded, nice upper bound ≥ x (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k). */
function niceCeil(x: number): number {
  if (!(x > 0)) return 1;
  const e = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * e >= x * (1 - 1e-12)) return m * e;
  return 10 * e;
}

/** The figure as drawn: the ratio to its baseline when it has one, else its value, and its goal. */
export interface PlottedFigure {
  figure: FigureResult;
  isRatio: boolean;
  spread: Spread;
  perRound: readonly number[];
  goal: number;
  met: boolean;
}

/** How a figure with a goal is drawn and judged (`undefined` for one without a goal). */
export function plotFigure(figure: FigureResult): PlottedFigure | undefined {
  if (figure.goal === undefined) return undefined;
  const isRatio = figure.ratio !== undefined;
  const spread = figure.ratio ?? figure.value;
  const perRound = (isRatio ? figure.ratios : figure.values) ?? [];
  const met = figure.meetsGoal ?? meetsGoal(figure, spread.median) ?? false;
  return { figure, isRatio, spread, perRound, goal: figure.goal, met };
}

/** A goal or a scale end: {@link fmt} without trailing zeros (`4`, `0.5`, `×1.2`). */
function compact(n: number): string {
  const text = fmt(n);
  return text.includes('.') && !text.includes('e') ? text.replace(/\.?0+$/, '') : text;
}

/**
 * `n` with enough digits to tell it from `goal` (a median of ×0.946 against a goal of ×0.95 must
 * not read ×0.95 and "not met").
 */
function apartFrom(n: number, goal: number | undefined): string {
  const text = fmt(n);
  if (goal === undefined || n === goal || Number(text.replace(/,/g, '')) !== goal) return text;
  for (let digits = 3; digits <= 12; digits++) {
    const shown = Number(n.toPrecision(digits));
    if (shown !== goal) return shown.toLocaleString('en-US', { maximumFractionDigits: 20 });
  }
  return text;
}

/** `×1.08` for a ratio (or a value whose unit is `×`), else `1.08 ms`. */
const withUnit = (text: string, isRatio: boolean, unit: string): string =>
  isRatio || unit === '×' ? `×${text}` : `${text}${unit ? ` ${unit}` : ''}`;
const num = (n: number, isRatio: boolean, unit: string): string => withUnit(fmt(n), isRatio, unit);
/** ` (min–max)` over the rounds; nothing when they read the same (one round, or equal values). */
const range = (s: Spread, isRatio: boolean): string =>
  fmt(s.min) === fmt(s.max)
    ? ''
    : isRatio
      ? ` (×${fmt(s.min)}–×${fmt(s.max)})`
      : ` (${fmt(s.min)}–${fmt(s.max)})`;

/** `×1.08 (×1.02–×1.19)` and `goal ≤ ×1.15`: the figure's numbers as text. */
export function describePlotted(p: PlottedFigure): { median: string; goal: string } {
  const { figure, isRatio, spread } = p;
  return {
    median: `${withUnit(apartFrom(spread.median, p.goal), isRatio, figure.unit)}${range(spread, isRatio || figure.unit === '×')}`,
    goal: `goal ${figure.better === 'lower' ? '≤' : '≥'} ${withUnit(compact(p.goal), isRatio, figure.unit)}`,
  };
}

const ROW_PAD = 8;
const TRACK_H = 20;
const BAR_H = 12;
const MIN_ROW_CONTENT = 46;

function drawFigureRow(p: PlottedFigure, top: number): { svg: string; height: number } {
  const { figure, isRatio, spread } = p;
  const text = describePlotted(p);
  const left: Line[] = [
    ...textLines(figure.label, { width: LEFT_W, size: 13, bold: true }),
    ...textLines(
      isRatio ? `vs ${figure.baseline}` : `value${figure.unit ? ` in ${figure.unit}` : ''}, no baseline`,
      {
        width: LEFT_W,
        size: 11,
        fill: COLOR.muted,
      },
    ),
    ...(figure.goalNote
      ? textLines(`goal: ${figure.goalNote}`, { width: LEFT_W, size: 11, fill: COLOR.muted })
      : []),
  ];
  const status: Span = p.met
    ? { text: '✓ met', fill: COLOR.okText, bold: true }
    : { text: '✗ not met', fill: COLOR.badText, bold: true };
  const right: Line[] = [
    ...textLines(text.median, { width: RIGHT_W, size: 13, bold: true }),
    { size: 12, spans: [{ text: `${text.goal}  ` }, status] },
    ...(isRatio && figure.baselineValue
      ? textLines(
          `median ${fmt(figure.value.median)} vs ${fmt(figure.baselineValue.median)}${figure.unit ? ` ${figure.unit}` : ''}`,
          { width: RIGHT_W, size: 11, fill: COLOR.muted },
        )
      : []),
  ];
  const content = Math.max(linesHeight(left), linesHeight(right), MIN_ROW_CONTENT);
  const height = content + 2 * ROW_PAD;
  const mid = top + ROW_PAD + Math.round(content / 2) - 6;

  const lows = [0, spread.min, p.goal, ...p.perRound];
  const highs = [spread.max, p.goal, ...p.perRound, isRatio ? 1 : 0];
  const hi = niceCeil(Math.max(...highs) * 1.08);
  const lowest = Math.min(...lows);
  const lo = lowest < 0 ? -niceCeil(-lowest * 1.08) : 0;
  const x = (v: number): number => TRACK_X + ((v - lo) / (hi - lo)) * TRACK_W;
  const r = (n: number): string => n.toFixed(1);

  const barColor = p.met ? COLOR.okBar : COLOR.badBar;
  const [okFrom, okTo] = figure.better === 'lower' ? [lo, p.goal] : [p.goal, hi];
  const tooltip = `${figure.label}: ${text.median}, ${text.goal}, ${p.met ? 'met' : 'not met'}; per round: ${p.perRound
    .map((v) => num(v, isRatio, figure.unit))
    .join(', ')}`;
  let svg = `<g><title>${escapeXml(tooltip)}</title>`;
  svg += drawLines(left, PAD, top + ROW_PAD);
  svg += drawLines(right, RIGHT_X, top + ROW_PAD);
  // the track, its goal-met zone, the bar (median), the whisker (min–max), the rounds, the goal
  svg += `<rect x="${TRACK_X}" y="${mid - TRACK_H / 2}" width="${TRACK_W}" height="${TRACK_H}" fill="${COLOR.track}" stroke="${COLOR.trackStroke}"/>`;
  svg += `<rect x="${r(x(okFrom))}" y="${mid - TRACK_H / 2 + 0.5}" width="${r(Math.max(0, x(okTo) - x(okFrom)))}" height="${TRACK_H - 1}" fill="${COLOR.okZone}"/>`;
  const barFrom = Math.min(x(0), x(spread.median));
  svg += `<rect x="${r(barFrom)}" y="${mid - BAR_H / 2}" width="${r(Math.abs(x(spread.median) - x(0)))}" height="${BAR_H}" fill="${barColor}"/>`;
  if (lo < 0)
    svg += `<line x1="${r(x(0))}" y1="${mid - TRACK_H / 2}" x2="${r(x(0))}" y2="${mid + TRACK_H / 2}" stroke="${COLOR.muted}"/>`;
  if (isRatio && Math.abs(x(1) - x(p.goal)) > 1)
    svg += `<line x1="${r(x(1))}" y1="${mid - 13}" x2="${r(x(1))}" y2="${mid + 13}" stroke="${COLOR.baseline}" stroke-width="1.5" stroke-dasharray="3 2"/>`;
  if (spread.max > spread.min) {
    svg += `<line x1="${r(x(spread.min))}" y1="${mid}" x2="${r(x(spread.max))}" y2="${mid}" stroke="${COLOR.whisker}" stroke-width="1.5"/>`;
    for (const end of [spread.min, spread.max])
      svg += `<line x1="${r(x(end))}" y1="${mid - 5}" x2="${r(x(end))}" y2="${mid + 5}" stroke="${COLOR.whisker}" stroke-width="1.5"/>`;
  }
  for (const v of p.perRound)
    svg += `<circle cx="${r(x(v))}" cy="${mid}" r="2.2" fill="${COLOR.background}" stroke="${COLOR.whisker}" stroke-width="1"/>`;
  svg += `<line x1="${r(x(p.goal))}" y1="${mid - 15}" x2="${r(x(p.goal))}" y2="${mid + 15}" stroke="${COLOR.goal}" stroke-width="2.5"/>`;
  const scale = (v: number) => escapeXml(withUnit(compact(v), isRatio, figure.unit));
  svg += `<text x="${TRACK_X}" y="${mid + TRACK_H / 2 + 13}" font-size="10" fill="${COLOR.muted}">${scale(lo)}</text>`;
  svg += `<text x="${TRACK_X + TRACK_W}" y="${mid + TRACK_H / 2 + 13}" font-size="10" fill="${COLOR.muted}" text-anchor="end">${scale(hi)}</text>`;
  svg += '</g>';
  return { svg, height };
}

/** `label: 5.20 ms (4.90–5.50); vs <baseline> 4.81 ms, ×1.08 (×1.02–×1.19)` for a figure without a goal. */
export function describeFigureWithoutGoal(f: FigureResult): string {
  let line = `${f.label}: ${num(f.value.median, false, f.unit)}${range(f.value, false)}`;
  if (f.baseline !== undefined && f.baselineValue && f.ratio)
    line += `; vs ${f.baseline} ${num(f.baselineValue.median, false, f.unit)}, ${num(f.ratio.median, true, '')}${range(f.ratio, true)}`;
  return line;
}

function when(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function drawBench(result: BenchResult, top: number): { svg: string; height: number } {
  const plotted = result.figures.map(plotFigure).filter((p): p is PlottedFigure => p !== undefined);
  const others = result.figures.filter((f) => f.goal === undefined);
  const metCount = plotted.filter((p) => p.met).length;
  const m = result.machine;
  const head: Line[] = [
    {
      size: 16,
      spans: [
        { text: result.bench, bold: true },
        ...(plotted.length
          ? [
              { text: '   ' },
              {
                text: `${metCount}/${plotted.length} goals met`,
                fill: metCount === plotted.length ? COLOR.okText : COLOR.badText,
                bold: true,
              },
            ]
          : []),
      ],
    },
    ...textLines(
      `${when(result.finishedAt)} · ${result.rounds} round${result.rounds === 1 ? '' : 's'} · ${m.cpus} cpu${m.cpus === 1 ? '' : 's'} · node ${m.node} · ${m.platform}`,
      { width: FULL_W, size: 12, fill: COLOR.muted },
    ),
    ...textLines(result.description, { width: FULL_W, size: 12, fill: COLOR.muted }),
  ];
  let y = top;
  let svg = `<g><line x1="${PAD}" y1="${y}" x2="${W - PAD}" y2="${y}" stroke="${COLOR.border}"/>`;
  y += 6;
  svg += drawLines(head, PAD, y);
  y += linesHeight(head) + 6;
  for (const p of plotted) {
    const row = drawFigureRow(p, y);
    svg += row.svg;
    y += row.height;
  }
  if (others.length > 0) {
    const lines: Line[] = [
      {
        size: 12,
        spans: [{ text: plotted.length ? 'without a goal:' : 'figures (no goals):', fill: COLOR.muted }],
      },
    ];
    for (const f of others)
      lines.push(
        ...textLines(describeFigureWithoutGoal(f), { width: FULL_W - 16, size: 12 }).map((l, i) => ({
          ...l,
          spans: [{ text: i === 0 ? '• ' : '  ' }, ...l.spans],
        })),
      );
    svg += drawLines(lines, PAD, y + 2);
    y += linesHeight(lines) + 8;
  }
  svg += '</g>';
  return { svg, height: y - top + 10 };
}

function drawLegend(top: number): { svg: string; height: number } {
  const mid = top + 14;
  let x = PAD;
  let svg = '<g font-size="11">';
  const label = (text: string) => {
    svg += `<text x="${x}" y="${mid + 4}" fill="${COLOR.muted}">${escapeXml(text)}</text>`;
    x += text.length * 11 * ADVANCE + 22;
  };
  svg += `<rect x="${x}" y="${mid - 6}" width="26" height="12" fill="${COLOR.okBar}"/>`;
  x += 32;
  label('median, goal met');
  svg += `<rect x="${x}" y="${mid - 6}" width="26" height="12" fill="${COLOR.badBar}"/>`;
  x += 32;
  label('median, goal not met');
  svg += `<line x1="${x}" y1="${mid}" x2="${x + 26}" y2="${mid}" stroke="${COLOR.whisker}" stroke-width="1.5"/>`;
  for (const end of [x, x + 26])
    svg += `<line x1="${end}" y1="${mid - 5}" x2="${end}" y2="${mid + 5}" stroke="${COLOR.whisker}" stroke-width="1.5"/>`;
  svg += `<circle cx="${x + 13}" cy="${mid}" r="2.2" fill="${COLOR.background}" stroke="${COLOR.whisker}"/>`;
  x += 32;
  label('min–max, ○ each round');
  svg += `<line x1="${x + 2}" y1="${mid - 10}" x2="${x + 2}" y2="${mid + 10}" stroke="${COLOR.goal}" stroke-width="2.5"/>`;
  svg += `<rect x="${x + 8}" y="${mid - 6}" width="18" height="12" fill="${COLOR.okZone}" stroke="${COLOR.trackStroke}"/>`;
  x += 32;
  label('goal, and the side that meets it');
  svg += `<line x1="${x + 2}" y1="${mid - 10}" x2="${x + 2}" y2="${mid + 10}" stroke="${COLOR.baseline}" stroke-width="1.5" stroke-dasharray="3 2"/>`;
  x += 10;
  label('×1 = as the baseline');
  svg += '</g>';
  return { svg, height: 30 };
}

export interface RenderOptions {
  /** The picture's heading; default `Tideline benchmarks`. */
  title?: string;
}

/** The report as a standalone SVG document: benchmarks in name order, each figure with a goal as a bar. */
export function renderReportSvg(results: readonly BenchResult[], options: RenderOptions = {}): string {
  const title = options.title ?? 'Tideline benchmarks';
  const sorted = [...results].sort((a, b) => a.bench.localeCompare(b.bench));
  const plotted = sorted.flatMap((r) => r.figures.map(plotFigure).filter((p) => p !== undefined));
  const met = plotted.filter((p) => p.met).length;
  const times = sorted.map((r) => r.finishedAt).sort();
  const span =
    times.length === 0
      ? 'no results'
      : times[0] === times.at(-1)
        ? `run ${when(times[0]!)}`
        : `runs from ${when(times[0]!)} to ${when(times.at(-1)!)}`;
  const summary = `${met} of ${plotted.length} goals met across ${sorted.length} benchmark${sorted.length === 1 ? '' : 's'}; ${span}`;
  const intro: Line[] = [
    { size: 20, spans: [{ text: title, bold: true }] },
    {
      size: 13,
      spans: [{ text: summary, fill: plotted.length && met === plotted.length ? COLOR.okText : COLOR.text }],
    },
    ...textLines(
      'Each bar is the median over the rounds: of the ratio to a baseline measured in the same round when the figure has one (×1 = as fast, as big), else of the value itself. Every row has its own scale, from its left end to its right end.',
      { width: FULL_W, size: 12, fill: COLOR.muted },
    ),
  ];
  let y = 8;
  let body = drawLines(intro, PAD, y);
  y += linesHeight(intro) + 6;
  const legend = drawLegend(y);
  body += legend.svg;
  y += legend.height + 8;
  for (const result of sorted) {
    const bench = drawBench(result, y);
    body += bench.svg;
    y += bench.height;
  }
  const footer: Line[] = [
    {
      size: 11,
      spans: [{ text: 'npm run bench:report · from bench/results/*.json', fill: COLOR.muted }],
    },
  ];
  body += drawLines(footer, PAD, y);
  y += linesHeight(footer) + 14;
  const height = Math.ceil(y);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" role="img" aria-labelledby="bench-title bench-desc" font-family="${escapeXml(FONT)}">`,
    `<title id="bench-title">${escapeXml(title)}</title>`,
    `<desc id="bench-desc">${escapeXml(summary)}</desc>`,
    `<rect x="0.5" y="0.5" width="${W - 1}" height="${height - 1}" rx="10" fill="${COLOR.background}" stroke="${COLOR.border}"/>`,
    body,
    '</svg>',
    '',
  ].join('\n');
}

/** The SVG inside an HTML page, followed per benchmark by every figure's numbers and its notes. */
export function renderReportHtml(results: readonly BenchResult[], options: RenderOptions = {}): string {
  const title = options.title ?? 'Tideline benchmarks';
  const svg = renderReportSvg(results, options).replace(/^<\?xml[^>]*>\n/, '');
  const h = escapeXml;
  const sections = [...results]
    .sort((a, b) => a.bench.localeCompare(b.bench))
    .map((r) => {
      const rows = r.figures
        .map((f) => {
          const p = plotFigure(f);
          const cells = [
            f.label,
            `${fmt(f.value.min)} / ${fmt(f.value.median)} / ${fmt(f.value.max)} ${f.unit}`,
            f.baselineValue ? `${f.baseline}: ${fmt(f.baselineValue.median)} ${f.unit}` : '',
            f.ratio ? `×${fmt(f.ratio.min)} / ×${fmt(f.ratio.median)} / ×${fmt(f.ratio.max)}` : '',
            p
              ? `${describePlotted(p).goal.replace(/^goal /, '')}${f.goalNote ? ` (${f.goalNote})` : ''}`
              : '',
            p ? (p.met ? 'met' : 'not met') : '',
          ];
          return `<tr>${cells.map((c) => `<td>${h(c)}</td>`).join('')}</tr>`;
        })
        .join('\n');
      const notes = r.notes.length ? `<ul>${r.notes.map((n) => `<li>${h(n)}</li>`).join('')}</ul>` : '';
      const m = r.machine;
      const meta = `${when(r.finishedAt)} · ${r.rounds} round(s) · ${m.cpus} cpu(s) · node ${m.node} · ${m.platform}`;
      return `<section><h2>${h(r.bench)}</h2><p>${h(meta)}<br>${h(r.description)}</p>
<table><thead><tr><th>figure</th><th>min / median / max</th><th>baseline (median)</th><th>ratio min / median / max</th><th>goal</th><th></th></tr></thead>
<tbody>
${rows}
</tbody></table>${notes}</section>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${h(title)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:24px;background:#fff;color:#1f2328}table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left}</style>
</head><body>
${svg}
${sections}
</body></html>
`;
}

/** Where the report picture goes, relative to the repository root (the README shows it). */
export const REPORT_SVG = 'docs/bench-report.svg';

/** Where {@link writeReport} reads and writes. */
export interface ReportPaths {
  resultsDir: string;
  svgFile: string;
  /** Also an HTML page with the picture and every figure's numbers and notes. */
  htmlFile?: string;
}

/**
 * Renders every result in `resultsDir` to `svgFile` (and `htmlFile`); writes nothing when any
 * results file is malformed ({@link BenchReportError}).
 */
export function writeReport(paths: ReportPaths): { results: LoadedResult[]; files: string[] } {
  const results = loadResults(paths.resultsDir);
  const plain = results.map((r) => r.result);
  const files: string[] = [];
  const write = (file: string, text: string) => {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    files.push(file);
  };
  const svg = renderReportSvg(plain);
  const html = paths.htmlFile ? renderReportHtml(plain) : undefined;
  write(paths.svgFile, svg);
  if (paths.htmlFile && html) write(paths.htmlFile, html);
  return { results, files };
}
