export {
  type DevTokenEndpoint,
  type DevTokenEndpointOptions,
  DevTokenEndpointRefused,
  startDevTokenEndpoint,
} from './dev-token-endpoint.ts';
export {
  createHttpServer,
  type HttpServerOptions,
  type InFlightRequests,
  observeRequestDurations,
  trackInFlight,
} from './http.ts';
export { bearerPrincipal, requirePrincipal, requireScope } from './http-auth.ts';
export { type ApiDocuments, type RouteEntry, registeredRoutes, serveApiDocs } from './http-docs.ts';
export { HttpError, sendError, validate } from './http-errors.ts';
export { answerEngineRefusalsWithErrorBody, type RawRequestEngine } from './http-raw-errors.ts';
export { createLogger, type Logger, type LoggerOptions } from './logger.ts';
export { runMain } from './main.ts';
export {
  Counter,
  createMetrics,
  DURATION_BUCKETS_SECONDS,
  Gauge,
  Histogram,
  httpRequestDuration,
  Registry,
} from './metrics.ts';
export { allowOperatorOrigins, OPERATOR_PATH_PREFIX } from './operator-cors.ts';
export { Readiness, type ReadinessCheck, type ReadinessReport } from './readiness.ts';
export { isSafeRequestId, REQUEST_ID_HEADER, rawRequestIdOf, requestIdOf } from './request-id.ts';
export {
  defaultInstanceId,
  type RunningService,
  type RunOptions,
  runService,
  type ServiceContext,
  type ServiceDefinition,
} from './service.ts';
export { installSignalHandlers, Shutdown, type StopStep } from './shutdown.ts';
export {
  contextFromCarrier,
  currentTraceCarrier,
  inSpan,
  inSpanSync,
  SpanKind,
  type SpanOptions,
  startTracing,
  type TraceCarrier,
  type Tracing,
  type TracingConfig,
  tracingEnabled,
} from './tracing.ts';
