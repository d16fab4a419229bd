#!/usr/bin/env -S npx tsx
/** `npm run bench:report [-- --html <file>]`: renders bench/results/*.json to docs/bench-report.svg. */
import { resolve } from 'node:path';
import { benchSettings, loadConfigOrExit, parseCli } from '@tideline/config';
import { BenchReportError, REPORT_SVG, writeReport } from './report.ts';
import { REPO_ROOT, resultsDir } from './results.ts';

const cli = parseCli({
  name: 'npm run bench:report --',
  usage: `[--results <dir>] [--out <file.svg>] [--html <file.html>]

Renders every benchmark's results (JSON, as the benchmarks write them) as one SVG picture: per figure
with a goal, the median ratio to its same-run baseline (or its value) as a bar, min–max over the
rounds as a whisker, and the goal as a line. A malformed results file is named with its field, and
nothing is written.
  --results <dir>     the results (default: TIDELINE_BENCH_RESULTS_DIR, bench/results)
  --out <file.svg>    the picture (default: ${REPORT_SVG})
  --html <file.html>  also an HTML page: the picture, then every figure's numbers and notes
  -h, --help          this text`,
  options: {
    results: { type: 'string' },
    out: { type: 'string' },
    html: { type: 'string' },
  },
});
const settings = loadConfigOrExit(benchSettings);
const { values } = cli;
try {
  const { results, files } = writeReport({
    resultsDir: values.results ? resolve(values.results) : resultsDir(settings),
    svgFile: values.out ? resolve(values.out) : resolve(REPO_ROOT, REPORT_SVG),
    ...(values.html ? { htmlFile: resolve(values.html) } : {}),
  });
  process.stdout.write(
    `bench report: ${results.length} benchmark(s) from ${results.map((r) => r.file).join(', ')}\n${files
      .map((f) => `  wrote ${f}\n`)
      .join('')}`,
  );
} catch (error) {
  if (!(error instanceof BenchReportError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
