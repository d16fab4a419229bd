export {
  type DeployQuery,
  dashboardQueries,
  deployQueries,
  exposedMetricNames,
  metricNamesOf,
  missingMetrics,
  PROMETHEUS_SYNTHETIC_METRICS,
  ruleQueries,
} from './dashboard-metrics.ts';
export { tokenFor, WebsiteApiClient } from './http.ts';
export { REPO_ROOT, ServiceProcess, type ServiceProcessOptions } from './process.ts';
export { DisposablePrometheus, type PrometheusOptions, type PromSeries, stackTargets } from './prometheus.ts';
export { STACK_CLUSTER, STACK_NODES, type Stack, startStack } from './stack.ts';
export { serveStatic } from './static-server.ts';
export { driveTraffic } from './traffic.ts';
