import { int, seconds, str } from '../setting.ts';

/** Settings of the benchmarks (`npm run bench`, packages/bench); not read by any service. */
export const benchSettings = {
  benchRounds: int({
    env: 'TIDELINE_BENCH_ROUNDS',
    min: 1,
    max: 50,
    default: 3,
    doc: 'Rounds each benchmark runs. Every figure is printed as min / median / max over the rounds, beside its baseline measured in the same round; one-shot figures swing ±20 % on a busy 2-core machine.',
  }),
  benchResultsDir: str({
    env: 'TIDELINE_BENCH_RESULTS_DIR',
    default: 'bench/results',
    doc: 'Where each benchmark writes its results as JSON (`<benchmark>.json`), relative to the repository root unless absolute; `npm run bench:report` renders them.',
  }),
  benchTimeoutSeconds: seconds({
    env: 'TIDELINE_BENCH_TIMEOUT_SECONDS',
    min: 10,
    max: 86_400,
    default: 1800,
    doc: 'The longest one benchmark script may run under `npm run bench`; past it, the script and every process it started are stopped, it counts as failed, and the next one runs.',
  }),
};
