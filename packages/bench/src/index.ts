export { formatNumber } from './format.ts';
export { BenchHttpClient, type HttpAnswer, type HttpRequest } from './http.ts';
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
  REPORT_SVG,
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
export {
  type BenchScript,
  findBenchScripts,
  formatDuration,
  isBenchScript,
  type Launched,
  type Launcher,
  launchProcessGroup,
  type RunAllOptions,
  runAll,
  type ScriptOutcome,
  selectScripts,
  summarise,
} from './run-all.ts';
export { quantile, type Spread, spread } from './stats.ts';
