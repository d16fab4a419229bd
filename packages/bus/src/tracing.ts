import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { BusMessage, PublishOptions, PublishReceipt } from './types.ts';

const TRACER_NAME = 'tideline';

/**
 * True once a service started OpenTelemetry (a trace-context propagator is registered). Off, the
 * bus adds no span and no header: publishing and consuming cost what they cost before.
 */
export function busTracingOn(): boolean {
  return propagation.fields().length > 0;
}

/**
 * A PRODUCER span around one publish, a child of the active context; its W3C trace context
 * (`traceparent`, `tracestate`) travels in the message headers, on every broker.
 */
export async function publishTraced(
  topic: string,
  subject: string,
  options: PublishOptions,
  publish: (options: PublishOptions) => Promise<PublishReceipt>,
): Promise<PublishReceipt> {
  const span = trace.getTracer(TRACER_NAME).startSpan(`publish ${topic}`, {
    kind: SpanKind.PRODUCER,
    attributes: {
      'messaging.operation.type': 'send',
      'messaging.destination.name': subject,
      'messaging.message.id': options.msgId,
    },
  });
  const headers: Record<string, string> = { ...options.headers };
  propagation.inject(trace.setSpan(context.active(), span), headers);
  try {
    const receipt = await publish({ ...options, headers });
    span.setAttribute('tideline.bus.position', receipt.position);
    if (receipt.duplicate) span.setAttribute('tideline.bus.duplicate', true);
    return receipt;
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

/**
 * A CONSUMER span around one handler call, a child of the trace context the message carries in
 * its headers (a new trace when it carries none); the handler runs inside it.
 */
export async function handleTraced<T>(
  message: BusMessage,
  group: string,
  handle: () => Promise<T>,
): Promise<T> {
  const parent = propagation.extract(ROOT_CONTEXT, message.headers);
  const span = trace.getTracer(TRACER_NAME).startSpan(
    `process ${message.topic}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.operation.type': 'process',
        'messaging.destination.name': message.subject,
        'messaging.consumer.group.name': group,
        'messaging.message.id': message.msgId,
        'tideline.bus.delivery_count': message.deliveryCount,
      },
    },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), handle);
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}
