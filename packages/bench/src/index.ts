export { formatNumber } from './format.ts';
export {
  BenchReportError,
  describeFigureWithoutGoal,
  describePlotted,
  escapeXml,
  type LoadedResult,
  loadResults,
  type PlottedFigure,
  parseResult,
  plotFigure,
  type RenderOptions,
  type ReportPaths,
  renderReportHtml,
  renderReportSvg,
  writeReport,
} from './report.ts';
export {
  type BenchResult,
  BenchRun,
  type BenchSettings,
  benchResultSchema,
  type FigureResult,
  type FigureSpec,
  figureResultSchema,
  meetsGoal,
  REPO_ROOT,
  resultsDir,
} from './results.ts';
export { quantile, type Spread, spread } from './stats.ts';
