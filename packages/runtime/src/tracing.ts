import {
  type Attributes,
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';

/** The tracing settings every service reads (`TIDELINE_OTEL_*`, packages/config common settings). */
export interface TracingConfig {
  otelEnabled: boolean;
  otelExporterOtlpEndpoint: string | undefined;
  otelSamplerRatio: number;
}

export interface Tracing {
  readonly enabled: boolean;
  /** Exports the spans still buffered. */
  flush(): Promise<void>;
  /** Flushes and stops this service's use of the tracer (the last user shuts the SDK down). */
  shutdown(): Promise<void>;
}

const disabled: Tracing = { enabled: false, flush: async () => {}, shutdown: async () => {} };

/** Name of the tracer every Tideline span comes from. */
export const TRACER_NAME = 'tideline';

/** The standard `OTEL_BSP_*` variables (the SDK's batch processor no longer reads them itself). */
function batchOptionsFromEnv() {
  const read = (name: string): number | undefined => {
    const value = Number(process.env[name]);
    return process.env[name] && Number.isInteger(value) && value > 0 ? value : undefined;
  };
  const options = {
    scheduledDelayMillis: read('OTEL_BSP_SCHEDULE_DELAY'),
    exportTimeoutMillis: read('OTEL_BSP_EXPORT_TIMEOUT'),
    maxQueueSize: read('OTEL_BSP_MAX_QUEUE_SIZE'),
    maxExportBatchSize: read('OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<
    Record<keyof typeof options, number>
  >;
}

let active:
  | { provider: TracerProvider; users: number; contextManager: AsyncLocalStorageContextManager }
  | undefined;

/**
 * Starts OpenTelemetry tracing for this process when `otelEnabled`: a tracer provider with
 * parent-based ratio sampling, W3C trace-context propagation, an async-local context and an OTLP/HTTP
 * (JSON) exporter. Disabled: nothing is registered, and every span helper stays a no-op.
 *
 * One provider per process: services started in one process (tests) share the first one; the
 * SDK shuts down when the last of them stops.
 */
export function startTracing(options: {
  service: string;
  instanceId: string;
  config: TracingConfig;
  /** Replaces the OTLP exporter (tests). */
  exporter?: SpanExporter;
}): Tracing {
  if (!options.config.otelEnabled) return disabled;
  if (!active) {
    const exporter =
      options.exporter ??
      new OTLPTraceExporter(
        options.config.otelExporterOtlpEndpoint
          ? { url: `${options.config.otelExporterOtlpEndpoint.replace(/\/+$/, '')}/v1/traces` }
          : {},
      );
    const processor: SpanProcessor = new BatchSpanProcessor({ exporter, ...batchOptionsFromEnv() });
    const provider = new TracerProvider({
      resource: resourceFromAttributes({
        'service.name': process.env.OTEL_SERVICE_NAME ?? options.service,
        'service.instance.id': options.instanceId,
      }),
      sampler: new ParentBasedSampler({
        root: new TraceIdRatioBasedSampler(options.config.otelSamplerRatio),
      }),
      spanProcessors: [processor],
    });
    const contextManager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(contextManager);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
    active = { provider, users: 0, contextManager };
  }
  const state = active;
  state.users += 1;
  let stopped = false;
  return {
    enabled: true,
    flush: () => state.provider.forceFlush(),
    shutdown: async () => {
      if (stopped) return;
      stopped = true;
      state.users -= 1;
      await state.provider.forceFlush();
      if (state.users > 0 || active !== state) return;
      active = undefined;
      await state.provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/** True while a tracer is started in this process; span helpers cost nothing otherwise. */
export function tracingEnabled(): boolean {
  return active !== undefined;
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Parent context; default the active one. */
  parent?: Context;
  /** When the span began (epoch milliseconds), if before the call (work observed earlier). */
  startTime?: number;
}

function spanOptionsOf(options: SpanOptions) {
  return {
    kind: options.kind ?? SpanKind.INTERNAL,
    ...(options.attributes ? { attributes: options.attributes } : {}),
    ...(options.startTime !== undefined ? { startTime: options.startTime } : {}),
  };
}

/**
 * Runs `work` inside a new active span that ends when `work` settles; a thrown error marks the
 * span failed and is rethrown. With tracing off it only runs `work`.
 */
export async function inSpan<T>(
  name: string,
  options: SpanOptions,
  work: (span: Span | undefined) => Promise<T> | T,
): Promise<T> {
  if (!active) return work(undefined);
  const tracer = trace.getTracer(TRACER_NAME);
  const parent = options.parent ?? context.active();
  const span = tracer.startSpan(name, spanOptionsOf(options), parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

/**
 * Runs synchronous `work` inside a new span (a child of the active context) that ends when it
 * returns; for hot paths such as a fan-out emit. With tracing off it only runs `work`.
 */
export function inSpanSync<T>(name: string, options: SpanOptions, work: (span: Span | undefined) => T): T {
  if (!active) return work(undefined);
  const parent = options.parent ?? context.active();
  const span = trace.getTracer(TRACER_NAME).startSpan(name, spanOptionsOf(options), parent);
  try {
    return context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

/** A W3C trace context as stored with an event and carried in envelopes: `traceparent` and `tracestate`. */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

/** The active (or given) context as W3C headers; undefined when tracing is off or nothing is sampled. */
export function currentTraceCarrier(from: Context = context.active()): TraceCarrier | undefined {
  if (!active) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(from, carrier);
  if (!carrier.traceparent) return undefined;
  return carrier.tracestate
    ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate }
    : { traceparent: carrier.traceparent };
}

/** The context a carrier (headers, a stored row, an envelope's `trace`) names; the active one when it names none. */
export function contextFromCarrier(
  carrier: Readonly<Record<string, string | undefined>> | undefined,
): Context {
  if (!active || !carrier?.traceparent) return context.active();
  return propagation.extract(context.active(), carrier);
}

export { SpanKind };
