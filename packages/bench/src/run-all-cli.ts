#!/usr/bin/env -S npx tsx
/** `npm run bench [-- --only <workspace>]…`: every workspace's benchmark scripts in turn, then the report. */
import { join } from 'node:path';
import { benchSettings, loadConfigOrExit, parseCli } from '@tideline/config';
import { BenchReportError, REPORT_SVG, writeReport } from './report.ts';
import { REPO_ROOT, resultsDir } from './results.ts';
import { findBenchScripts, runAll, selectScripts, summarise } from './run-all.ts';

const cli = parseCli({
  name: 'npm run bench --',
  usage: `[--only <workspace>[:<script>]]… [--list] [--no-report]

Runs the benchmark scripts (\`bench\`, \`bench:*\`) of every workspace one after another, each at most
TIDELINE_BENCH_TIMEOUT_SECONDS, prints how long each took, then renders docs/bench-report.svg from
bench/results/ (npm run bench:report). Exits 1 when a script failed or overran, or the report could not be rendered.
  --only <name>   only these: a workspace (push-gateway or @tideline/push-gateway) or one script
                  (push-gateway:bench:delta); repeat for more
  --list          print the scripts that would run, and exit
  --no-report     do not render the report
  -h, --help      this text`,
  options: {
    only: { type: 'string', multiple: true },
    list: { type: 'boolean' },
    'no-report': { type: 'boolean' },
  },
});
const settings = loadConfigOrExit(benchSettings);
const scripts = (() => {
  try {
    return selectScripts(findBenchScripts(REPO_ROOT), cli.values.only ?? []);
  } catch (error) {
    return cli.fail((error as Error).message);
  }
})();
if (cli.values.list) {
  for (const s of scripts) console.log(`${s.workspace} ${s.script}`);
  process.exit(0);
}

let onSignal: (() => void) | undefined;
const interrupted = new Promise<void>((resolve) => {
  onSignal = () => resolve();
});
let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    if (++signals > 1) process.exit(130);
    console.log(`\n${signal}: stopping the running benchmark (again to leave at once)`);
    onSignal?.();
  });

const runStarted = new Date();
const outcomes = await runAll({
  root: REPO_ROOT,
  scripts,
  timeoutMs: settings.benchTimeoutSeconds * 1000,
  interrupted,
});
console.log('');
for (const line of summarise(outcomes)) console.log(line);
let exitCode = outcomes.every((o) => o.status === 'ok') && outcomes.length === scripts.length ? 0 : 1;
if (signals > 0) exitCode = 130;

if (!cli.values['no-report'] && signals === 0) {
  try {
    const { results, files } = writeReport({
      resultsDir: resultsDir(settings),
      svgFile: join(REPO_ROOT, REPORT_SVG),
    });
    console.log(`\nbench report: ${files.join(', ')} from ${results.length} result file(s)`);
    const stale = results.filter((r) => new Date(r.result.finishedAt) < runStarted);
    for (const r of stale)
      console.log(
        `  note: ${r.file} is from an earlier run (finished ${r.result.finishedAt}); it is in the picture as it is`,
      );
  } catch (error) {
    if (!(error instanceof BenchReportError)) throw error;
    console.error(error.message);
    exitCode = 1;
  }
}
process.exit(exitCode);
