import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import {
  type ConfigOf,
  type ConfigSource,
  type CrossRule,
  commonSettings,
  loadConfig,
  managementSettings,
  type SettingsSpec,
} from '@tideline/config';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createHttpServer } from './http.ts';
import { type ApiDocuments, recordRoutes, serveApiDocs } from './http-docs.ts';
import { installErrorHandling } from './http-errors.ts';
import { traceHttpRequests } from './http-tracing.ts';
import { createLogger } from './logger.ts';
import { ManagementListener } from './management.ts';
import { createMetrics } from './metrics.ts';
import { allowOperatorOrigins } from './operator-cors.ts';
import { Readiness } from './readiness.ts';
import { installSignalHandlers, Shutdown } from './shutdown.ts';
import { startTracing } from './tracing.ts';

type CommonConfig = ConfigOf<typeof commonSettings> & ConfigOf<typeof managementSettings>;

/** What a service's `start` receives: everything already built, in the order config → logger → metrics → http. */
export interface ServiceContext<C> {
  readonly name: string;
  /**
   * This process among the running instances of the service: `TIDELINE_INSTANCE_ID` (the pod
   * name), else host name, process id and a random suffix. Names its consumer groups, Redis
   * connections, leases and presence links; safe in subjects, keys and client names.
   */
  readonly instanceId: string;
  readonly config: C & CommonConfig;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly http: FastifyInstance;
  readonly readiness: Readiness;
  /**
   * Registers a stop step; steps run in reverse order of registration, after the service was
   * marked not ready and its running requests finished, before the HTTP server closes. A
   * dependency is started and stopped by whoever created it: a service registers stop steps
   * only for what it created itself, never for an injected bus or client.
   */
  onStop(name: string, run: () => Promise<void> | void): void;
}

export interface ServiceDefinition<S extends SettingsSpec> {
  name: string;
  settings: S;
  rules?: CrossRule<ConfigOf<S & typeof commonSettings>>[];
  /** Picks the listen address out of the config. */
  listen: (config: ConfigOf<S>) => { port: number; host: string };
  /** Wires dependencies, routes and consumers. Runs before the HTTP server listens. */
  start: (context: ServiceContext<ConfigOf<S>>) => Promise<void>;
  bodyLimitBytes?: number;
  readinessCheckTimeoutMs?: number;
  /** The service's API documents, served under `/docs` unless `TIDELINE_HTTP_DOCS_ENABLED=false`. */
  apiDocuments?: ApiDocuments;
}

export interface RunOptions {
  source?: ConfigSource;
  /** Install SIGTERM/SIGINT handlers that stop and exit (true for a process, false in tests). */
  handleSignals?: boolean;
  logDestination?: NodeJS.WritableStream;
}

export interface RunningService<C> {
  readonly config: C;
  readonly instanceId: string;
  readonly port: number;
  readonly url: string;
  /** The management listener's port and URL (`/internal/*`, `/metrics`), when TIDELINE_MANAGEMENT_PORT is set. */
  readonly managementPort: number | undefined;
  readonly managementUrl: string | undefined;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly http: FastifyInstance;
  stop(reason?: string): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const DEFAULT_BODY_LIMIT_BYTES = 1_048_576;
const DEFAULT_READINESS_TIMEOUT_MS = 2_000;

/** Host name, process id and a random suffix, reduced to characters safe in subjects, keys and client names. */
export function defaultInstanceId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9_-]/g, '-')
      .slice(0, 200) || 'instance';
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/**
 * The one way every Tideline service starts and stops: config → logger → metrics → HTTP
 * endpoints → `start` (dependencies, routes, bus) → listen → ready. A stop (SIGTERM/SIGINT or
 * `stop()`) marks the service not ready, runs the stop steps in reverse and closes HTTP last.
 * Invalid configuration throws a ConfigError before anything starts.
 */
export async function runService<S extends SettingsSpec>(
  definition: ServiceDefinition<S>,
  options: RunOptions = {},
): Promise<RunningService<ConfigOf<S> & CommonConfig>> {
  const spec = { ...commonSettings, ...managementSettings, ...definition.settings };
  const config = loadConfig(
    spec,
    options.source ?? {},
    definition.rules as CrossRule<ConfigOf<typeof spec>>[],
  ) as ConfigOf<S> & CommonConfig;
  const logger = createLogger({
    service: definition.name,
    level: config.logLevel,
    ...(options.logDestination ? { destination: options.logDestination } : {}),
  });
  const instanceId = config.instanceId ?? defaultInstanceId();
  const tracing = startTracing({ service: definition.name, instanceId, config });
  const metrics = createMetrics(definition.name);
  const readiness = new Readiness(definition.readinessCheckTimeoutMs ?? DEFAULT_READINESS_TIMEOUT_MS);
  const http = createHttpServer({
    logger,
    metrics,
    readiness,
    bodyLimitBytes: definition.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
  });
  if (tracing.enabled) traceHttpRequests(http, new Set(['/healthz', '/readyz', '/metrics']));
  installErrorHandling(http);
  allowOperatorOrigins(http, config.operatorCorsOrigins);
  recordRoutes(http);
  const management = new ManagementListener(http, config.managementPort !== undefined);
  const shutdown = new Shutdown(logger, config.shutdownTimeoutMs);
  // Last of all: export the spans of the drain itself.
  shutdown.register('tracing', () => tracing.shutdown());
  // Steps run in reverse: first refuse new work (not ready, new requests 503), wait for the
  // requests already running, then the service's own steps (consumers, pools), HTTP closes last.
  shutdown.register('http', async () => {
    await Promise.all([http.close(), management.close()]);
  });
  const appSteps = new Shutdown(logger, config.shutdownTimeoutMs);
  shutdown.register('service', () => appSteps.run('service stop'));
  shutdown.register('requests', () => http.inFlight.idle(config.shutdownTimeoutMs / 2));
  shutdown.register('intake', () => readiness.markStopping());

  let managementPort: number | undefined;
  try {
    await definition.start({
      name: definition.name,
      instanceId,
      config,
      logger,
      metrics,
      http,
      readiness,
      onStop: (name, run) => appSteps.register(name, run),
    });
    if (definition.apiDocuments && config.httpDocsEnabled) await serveApiDocs(http, definition.apiDocuments);
    const { port, host } = definition.listen(config);
    await http.listen({ port, host });
    if (config.managementPort !== undefined)
      managementPort = await management.listen(config.managementHost, config.managementPort);
  } catch (error) {
    logger.error({ err: error }, 'start failed');
    await shutdown.run('start failed');
    // The caller usually exits next (runMain): the log lines must be out first.
    await shutdown.logsWritten();
    throw error;
  }
  readiness.markStarted();
  const address = http.server.address() as AddressInfo;
  logger.info({ port: address.port, managementPort, instanceId }, 'started');

  const uninstall = options.handleSignals ? installSignalHandlers(shutdown) : () => {};
  const stop = async (reason = 'stop') => {
    uninstall();
    await shutdown.run(reason);
    logger.flush?.();
  };
  return {
    config,
    instanceId,
    port: address.port,
    url: `http://127.0.0.1:${address.port}`,
    managementPort,
    managementUrl: managementPort === undefined ? undefined : `http://127.0.0.1:${managementPort}`,
    logger,
    metrics,
    http,
    stop,
    [Symbol.asyncDispose]: () => stop('dispose'),
  };
}
