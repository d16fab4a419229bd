import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BenchRun, benchResultSchema, formatNumber, quantile, spread } from '../src/index.ts';

describe('stats', () => {
  it('spread - min, median (mean of the middle two for an even count) and max', () => {
    expect(spread([3, 1, 2])).toEqual({ min: 1, median: 2, max: 3 });
    expect(spread([4, 1, 3, 2])).toEqual({ min: 1, median: 2.5, max: 4 });
  });
  it('quantile - nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(values, 0.5)).toBe(50);
    expect(quantile(values, 0.99)).toBe(99);
    expect(quantile([], 0.5)).toBeNaN();
  });
});

describe('BenchRun', () => {
  const make = (rounds: number) => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-'));
    const lines: string[] = [];
    const run = new BenchRun({
      bench: 'demo',
      description: 'a demo',
      env: { TIDELINE_BENCH_ROUNDS: String(rounds), TIDELINE_BENCH_RESULTS_DIR: dir },
      log: (line) => lines.push(line),
    });
    return { run, lines };
  };

  it('finish - ratios per round against the same-round baseline, judged on the median', async () => {
    const { run, lines } = make(3);
    run.define(
      { id: 'lat', label: 'latency', unit: 'ms', better: 'lower', baseline: 'plain', goal: 1.2 },
      { id: 'tput', label: 'throughput', unit: 'msg/s', better: 'higher', goal: 100 },
    );
    const latencies = [
      [11, 10],
      [30, 20],
      [12, 10],
    ] as const;
    for (const round of run.rounds()) {
      const [value, base] = latencies[round - 1]!;
      run.record('lat', value, base);
      run.record('tput', 90 + round);
    }
    const result = await run.finish();
    const lat = result.figures.find((f) => f.id === 'lat')!;
    expect(lat.ratios).toEqual([1.1, 1.5, 1.2]);
    expect(lat.ratio?.median).toBe(1.2);
    expect(lat.meetsGoal).toBe(true);
    const tput = result.figures.find((f) => f.id === 'tput')!;
    expect(tput.value).toEqual({ min: 91, median: 92, max: 93 });
    expect(tput.meetsGoal).toBe(false);
    const written = benchResultSchema.parse(JSON.parse(readFileSync(result.file, 'utf8')));
    expect(written.rounds).toBe(3);
    expect(lines.some((l) => l.includes('NOT met'))).toBe(true);
  });

  it('record - refuses a figure never defined, a missing baseline value, and numbers the results cannot hold', () => {
    const { run } = make(1);
    run.define({ id: 'lat', label: 'latency', unit: 'ms', better: 'lower', baseline: 'plain' });
    expect(() => run.record('nope', 1)).toThrow(/not defined/);
    expect(() => run.record('lat', 1)).toThrow(/record its baseline/);
    expect(() => run.record('lat', Number.NaN, 1)).toThrow(/lat: value NaN is not a finite number/);
    expect(() => run.record('lat', 1, 0)).toThrow(/lat: baseline value 0 gives no finite ratio/);
  });
});

describe('formatNumber', () => {
  it('about three significant digits, grouped from 1,000', () => {
    expect([0, 0.00031, 0.9462, 1.5, 17.44, 413.4, 13_400.2, -3].map(formatNumber)).toEqual([
      '0',
      '0.00031',
      '0.946',
      '1.50',
      '17.4',
      '413',
      '13,400',
      '-3.00',
    ]);
  });
});
