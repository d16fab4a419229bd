import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchSettings, type ConfigOf, loadConfig } from '@tideline/config';
import { z } from 'zod';
import { formatNumber } from './format.ts';
import { type Spread, spread } from './stats.ts';

export type BenchSettings = ConfigOf<typeof benchSettings>;

/** The repository root (results paths are relative to it). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** One figure a benchmark reports: what it is, which way is better, its baseline and goal. */
export interface FigureSpec {
  /** Stable key within the benchmark, e.g. `create.c1.p50`. */
  id: string;
  /** What a reader sees, e.g. `create, 1 client, p50`. */
  label: string;
  /** Unit of the value and of the baseline, e.g. `ms`, `msg/s`, `KiB`. */
  unit: string;
  better: 'lower' | 'higher';
  /** What the figure is compared with, measured in the same round (e.g. `plain Socket.IO broadcast`). */
  baseline?: string;
  /**
   * The goal. With a baseline: for the ratio value / baseline (better `lower`: ratio ≤ goal;
   * `higher`: ratio ≥ goal). Without one: for the value itself.
   */
  goal?: number;
  /** Why the goal is what it is, when it is not obvious (e.g. `issue 17`, `physical floor: …`). */
  goalNote?: string;
}

export const figureResultSchema = z.object({
  id: z.string(),
  label: z.string(),
  unit: z.string(),
  better: z.enum(['lower', 'higher']),
  baseline: z.string().optional(),
  goal: z.number().optional(),
  goalNote: z.string().optional(),
  /** One value per round. */
  values: z.array(z.number()),
  /** The baseline's value in the same rounds. */
  baselineValues: z.array(z.number()).optional(),
  /** value / baseline per round. */
  ratios: z.array(z.number()).optional(),
  value: z.object({ min: z.number(), median: z.number(), max: z.number() }),
  baselineValue: z.object({ min: z.number(), median: z.number(), max: z.number() }).optional(),
  ratio: z.object({ min: z.number(), median: z.number(), max: z.number() }).optional(),
  /** Whether the median (of the ratio, or of the value without a baseline) meets the goal. */
  meetsGoal: z.boolean().optional(),
});
export type FigureResult = z.infer<typeof figureResultSchema>;

export const benchResultSchema = z.object({
  bench: z.string(),
  description: z.string(),
  /** ISO time the benchmark finished. */
  finishedAt: z.string(),
  rounds: z.number().int(),
  machine: z.object({ cpus: z.number().int(), node: z.string(), platform: z.string() }),
  figures: z.array(figureResultSchema),
  /** Free-form lines the benchmark printed beside its figures (profile notes, caveats). */
  notes: z.array(z.string()),
});
export type BenchResult = z.infer<typeof benchResultSchema>;

const fmt = formatNumber;
const fmtSpread = (s: Spread, unit = ''): string =>
  `${fmt(s.min)} / ${fmt(s.median)} / ${fmt(s.max)}${unit ? ` ${unit}` : ''}`;

/**
 * Whether `median` (of the ratio to the baseline, or of the value without one) meets the figure's
 * goal; undefined without a goal.
 */
export function meetsGoal(spec: Pick<FigureSpec, 'better' | 'goal'>, median: number): boolean | undefined {
  if (spec.goal === undefined) return undefined;
  return spec.better === 'lower' ? median <= spec.goal : median >= spec.goal;
}
const meets = meetsGoal;

/** The directory results are written to and read from (TIDELINE_BENCH_RESULTS_DIR, under the repository root unless absolute). */
export function resultsDir(settings: Pick<BenchSettings, 'benchResultsDir'>): string {
  return isAbsolute(settings.benchResultsDir)
    ? settings.benchResultsDir
    : join(REPO_ROOT, settings.benchResultsDir);
}

/**
 * The figures of one benchmark over its rounds. Record each figure once per round (with its
 * baseline from the same round), then `finish()` prints min / median / max per figure with the
 * ratio to its baseline and the goal, and writes `<results dir>/<bench>.json` for
 * `npm run bench:report`.
 *
 * ```ts
 * const run = new BenchRun({ bench: 'website-api', description: '…' });
 * run.define({ id: 'create.c1.p50', label: 'create p50, 1 client', unit: 'ms', better: 'lower',
 *              baseline: 'pg single INSERT commit', goal: 5 });
 * for (const round of run.rounds()) { …; run.record('create.c1.p50', p50, insertP50); }
 * await run.finish();
 * ```
 */
export class BenchRun {
  readonly settings: BenchSettings;
  readonly #bench: string;
  readonly #description: string;
  readonly #specs = new Map<string, FigureSpec>();
  readonly #values = new Map<string, number[]>();
  readonly #baselines = new Map<string, number[]>();
  readonly #notes: string[] = [];
  readonly #log: (line: string) => void;

  constructor(options: {
    bench: string;
    description: string;
    env?: Record<string, string | undefined>;
    log?: (line: string) => void;
  }) {
    this.#bench = options.bench;
    this.#description = options.description;
    this.settings = loadConfig(benchSettings, { env: options.env ?? process.env });
    this.#log = options.log ?? ((line) => console.log(line));
  }

  /** Rounds to run (TIDELINE_BENCH_ROUNDS). */
  get roundCount(): number {
    return this.settings.benchRounds;
  }

  /** 1…roundCount, printing a header per round. */
  *rounds(): Generator<number> {
    for (let round = 1; round <= this.roundCount; round++) {
      this.#log(`[${this.#bench}] round ${round}/${this.roundCount}`);
      yield round;
    }
  }

  /** Declares figures (before recording them). */
  define(...specs: FigureSpec[]): this {
    for (const spec of specs) {
      if (this.#specs.has(spec.id)) throw new Error(`figure ${spec.id} defined twice`);
      this.#specs.set(spec.id, spec);
      this.#values.set(spec.id, []);
      if (spec.baseline) this.#baselines.set(spec.id, []);
    }
    return this;
  }

  /** This round's value of figure `id`, with its baseline's value from the same round when it has one. */
  record(id: string, value: number, baselineValue?: number): void {
    const spec = this.#specs.get(id);
    if (!spec) throw new Error(`figure ${id} was not defined`);
    if (spec.baseline && baselineValue === undefined)
      throw new Error(`figure ${id} is compared with "${spec.baseline}": record its baseline value too`);
    if (!spec.baseline && baselineValue !== undefined)
      throw new Error(`figure ${id} has no baseline: define one to record a baseline value`);
    // The results file holds finite numbers only; say so now rather than after the last round.
    if (!Number.isFinite(value)) throw new Error(`figure ${id}: value ${value} is not a finite number`);
    if (baselineValue !== undefined && !(Number.isFinite(baselineValue) && baselineValue !== 0))
      throw new Error(`figure ${id}: baseline value ${baselineValue} gives no finite ratio`);
    this.#values.get(id)!.push(value);
    if (baselineValue !== undefined) this.#baselines.get(id)!.push(baselineValue);
    const ratio =
      baselineValue !== undefined
        ? ` (×${fmt(value / baselineValue)} of ${spec.baseline} ${fmt(baselineValue)})`
        : '';
    this.#log(`  ${spec.label}: ${fmt(value)} ${spec.unit}${ratio}`);
  }

  /** A line printed with the figures and kept in the JSON (a profile breakdown, a caveat). */
  note(line: string): void {
    this.#notes.push(line);
    this.#log(line);
  }

  /** The figures so far, summarised. */
  results(): FigureResult[] {
    const out: FigureResult[] = [];
    for (const [id, spec] of this.#specs) {
      const values = this.#values.get(id)!;
      if (values.length === 0) continue;
      const baselineValues = this.#baselines.get(id);
      const ratios = baselineValues?.map((b, i) => values[i]! / b);
      const value = spread(values);
      const ratio = ratios ? spread(ratios) : undefined;
      const judged = meets(spec, ratio ? ratio.median : value.median);
      out.push({
        ...spec,
        values,
        ...(baselineValues ? { baselineValues, baselineValue: spread(baselineValues) } : {}),
        ...(ratios && ratio ? { ratios, ratio } : {}),
        value,
        ...(judged !== undefined ? { meetsGoal: judged } : {}),
      });
    }
    return out;
  }

  /** Prints the summary table and writes the JSON; returns the results (the path in `file`). */
  async finish(): Promise<BenchResult & { file: string }> {
    const figures = this.results();
    const { cpus, version } = await import('node:os').then((os) => ({
      cpus: os.cpus().length,
      version: process.version,
    }));
    const result: BenchResult = {
      bench: this.#bench,
      description: this.#description,
      finishedAt: new Date().toISOString(),
      rounds: Math.max(0, ...figures.map((f) => f.values.length)),
      machine: { cpus, node: version, platform: `${process.platform}-${process.arch}` },
      figures,
      notes: this.#notes,
    };
    this.#log('');
    this.#log(`${this.#bench}: ${result.rounds} round(s), min / median / max`);
    for (const f of figures) {
      let line = `  ${f.label}: ${fmtSpread(f.value, f.unit)}`;
      if (f.baselineValue && f.ratio)
        line += `; ${f.baseline} ${fmtSpread(f.baselineValue, f.unit)}; ratio ×${fmtSpread(f.ratio)}`;
      if (f.goal !== undefined)
        line += `; goal ${f.better === 'lower' ? '≤' : '≥'} ${f.baseline ? '×' : ''}${fmt(f.goal)}${f.baseline ? '' : ` ${f.unit}`} → ${f.meetsGoal ? 'met' : 'NOT met'}`;
      this.#log(line);
    }
    const dir = resultsDir(this.settings);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${this.#bench}.json`);
    writeFileSync(file, `${JSON.stringify(benchResultSchema.parse(result), null, 2)}\n`);
    this.#log(`results: ${file}`);
    return { ...result, file };
  }
}
