import { bool, list, ms, oneOf, optionalStr, ratio } from '../setting.ts';

/** Settings every service reads. */
export const commonSettings = {
  environment: oneOf({
    env: 'TIDELINE_ENV',
    values: ['development', 'test', 'production'] as const,
    default: 'production',
    doc: `Deployment environment. Outside \`development\`/\`test\` a JWT key must be configured. \`production\` also refuses, naming the variable but never the value, every secret (keys, passwords, tokens, credentials in URLs) that is a placeholder (\`<…>\`, whitespace, an unexpanded \`\${…}\`) or a value published in this repository (PUBLISHED_SECRETS of packages/config: the keys and passwords of its development files).`,
  }),
  logLevel: oneOf({
    env: 'TIDELINE_LOG_LEVEL',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
    default: 'info',
    doc: 'Minimum level of the JSON logs written to stdout.',
  }),
  instanceId: optionalStr({
    env: 'TIDELINE_INSTANCE_ID',
    pattern: /^[A-Za-z0-9_-]{1,200}$/,
    patternRule: '1 to 200 letters, digits, - or _ (it names bus consumers and Redis connections)',
    doc: 'Identity of this service process (the pod name on Kubernetes): names its bus consumers, Redis connections, relay lease and presence links. Unset: host name, process id and a random suffix. Must be unique among running processes of one service.',
  }),
  shutdownTimeoutMs: ms({
    env: 'TIDELINE_SHUTDOWN_TIMEOUT_MS',
    default: 15_000,
    min: 100,
    doc: 'How long a graceful stop (SIGTERM/SIGINT) may drain before the process exits anyway.',
  }),
  httpDocsEnabled: bool({
    env: 'TIDELINE_HTTP_DOCS_ENABLED',
    default: true,
    doc: 'Serve the API documents on the public port: Swagger UI at `/docs`, `/docs/openapi.json` (website-api, cache, informer) and `/docs/asyncapi.json` (push-gateway). They hold schemas and scope names only, no secrets, and need no token; `false` answers 404 there.',
  }),
  operatorCorsOrigins: list({
    env: 'TIDELINE_OPERATOR_CORS_ORIGINS',
    default: ['http://127.0.0.1:5173', 'http://localhost:5173'],
    doc: 'Browser origins (the console) allowed to read the operator endpoints `/api/v1/operator/*` (CORS); nothing else is opened to other origins.',
  }),
  otelEnabled: bool({
    env: 'TIDELINE_OTEL_ENABLED',
    default: false,
    doc: 'Record OpenTelemetry traces and export them over OTLP/HTTP. `false`: no tracer is started and nothing is recorded. The standard `OTEL_*` variables (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME`, …) apply where the SDK reads them.',
  }),
  otelExporterOtlpEndpoint: optionalStr({
    env: 'TIDELINE_OTEL_EXPORTER_OTLP_ENDPOINT',
    pattern: /^https?:\/\/[^\s]+$/,
    patternRule: 'an http(s) URL of an OTLP/HTTP receiver (e.g. http://127.0.0.1:4318)',
    doc: 'Base URL of the OTLP/HTTP receiver (a collector, Jaeger); spans go to `<url>/v1/traces`. Unset: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`, else http://localhost:4318.',
  }),
  otelSamplerRatio: ratio({
    env: 'TIDELINE_OTEL_SAMPLER_RATIO',
    default: 1,
    doc: 'Share of new traces recorded (parent-based: a request that arrives with a sampled `traceparent` is always recorded, an unsampled one never).',
  }),
};
