import { int, str } from '../setting.ts';

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
};
