import { propagation } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { traceHttpRequests } from './http-tracing.ts';
import { currentTraceCarrier, inSpan, startTracing, tracingEnabled } from './tracing.ts';

const off = { otelEnabled: false, otelExporterOtlpEndpoint: undefined, otelSamplerRatio: 1 };
const on = { ...off, otelEnabled: true };
const INCOMING_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const INCOMING_SPAN = '00f067aa0ba902b7';

describe('tracing', () => {
  it('off - nothing is registered: no propagator, no carrier, the work just runs', async () => {
    const tracing = startTracing({ service: 'test', instanceId: 'i', config: off });
    expect(tracing.enabled).toBe(false);
    expect(tracingEnabled()).toBe(false);
    expect(propagation.fields()).toEqual([]);
    expect(await inSpan('work', {}, (span) => (span === undefined ? 'ran untraced' : 'traced'))).toBe(
      'ran untraced',
    );
    expect(currentTraceCarrier()).toBeUndefined();
  });

  it("on - a request's server span is a child of its traceparent and the handler runs inside it (also after the body was read)", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({ service: 'test', instanceId: 'i', config: on, exporter });
    const http = Fastify();
    try {
      traceHttpRequests(http, new Set(['/healthz']));
      http.post('/things/:id', async () => currentTraceCarrier());
      const answer = await http.inject({
        method: 'POST',
        url: '/things/42',
        headers: {
          traceparent: `00-${INCOMING_TRACE}-${INCOMING_SPAN}-01`,
          'content-type': 'application/json',
        },
        payload: { a: 1 },
      });
      await tracing.flush();
      const [span] = exporter.getFinishedSpans();
      expect(span?.name).toBe('POST /things/:id');
      expect(span?.spanContext().traceId).toBe(INCOMING_TRACE);
      expect(span?.parentSpanContext?.spanId).toBe(INCOMING_SPAN);
      expect(span?.attributes['http.response.status_code']).toBe(200);
      expect(answer.json()).toEqual({ traceparent: `00-${INCOMING_TRACE}-${span!.spanContext().spanId}-01` });
    } finally {
      await http.close();
      await tracing.shutdown();
    }
    expect(tracingEnabled()).toBe(false);
    expect(propagation.fields()).toEqual([]);
  });

  it('sampling - a ratio of 0 records no new trace but still follows a sampled parent', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({
      service: 'test',
      instanceId: 'i',
      config: { ...on, otelSamplerRatio: 0 },
      exporter,
    });
    const http = Fastify();
    try {
      traceHttpRequests(http, new Set());
      http.get('/x', async () => ({ ok: true }));
      await http.inject({ method: 'GET', url: '/x' });
      await http.inject({
        method: 'GET',
        url: '/x',
        headers: { traceparent: `00-${INCOMING_TRACE}-${INCOMING_SPAN}-01` },
      });
      await tracing.flush();
      expect(exporter.getFinishedSpans().map((s) => s.spanContext().traceId)).toEqual([INCOMING_TRACE]);
    } finally {
      await http.close();
      await tracing.shutdown();
    }
  });
});
