export {
  type BenchResult,
  BenchRun,
  type BenchSettings,
  benchResultSchema,
  type FigureResult,
  type FigureSpec,
  figureResultSchema,
  REPO_ROOT,
} from './results.ts';
export { quantile, type Spread, spread } from './stats.ts';
