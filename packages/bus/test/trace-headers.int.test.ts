import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Admin } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BaseEventBus } from '../src/base.ts';
import { KafkaEventBus } from '../src/kafka/kafka-bus.ts';
import { NatsEventBus } from '../src/nats/nats-bus.ts';
import type { BusMessage, BusOptions } from '../src/types.ts';

const natsServers = process.env['TIDELINE_NATS_URL'] ?? 'nats://127.0.0.1:4222';
const kafkaBrokers = (process.env['TIDELINE_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const WAIT_MS = 20_000;

interface Transport {
  name: string;
  create(options: BusOptions): BaseEventBus;
  destroy(prefix: string): Promise<void>;
}

const transports: Transport[] = [
  {
    name: 'nats',
    create: (options) => new NatsEventBus({ ...options, servers: natsServers }),
    destroy: async (prefix) => {
      const nc = await connect({ servers: natsServers });
      try {
        const jsm = await jetstreamManager(nc);
        for await (const name of jsm.streams.names())
          if (name.startsWith(`${prefix}_`)) await jsm.streams.delete(name);
      } finally {
        await nc.close();
      }
    },
  },
  {
    name: 'kafka',
    create: (options) =>
      new KafkaEventBus({
        ...options,
        brokers: kafkaBrokers,
        clientId: 'trace-headers',
        sessionTimeoutMs: 6_000,
        heartbeatIntervalMs: 500,
        fetchMaxWaitMs: 100,
        retryDelayMs: 100,
      }),
    destroy: async (prefix) => {
      const admin = new Admin({ clientId: 'trace-headers-cleanup', bootstrapBrokers: kafkaBrokers });
      try {
        const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}_`));
        if (mine.length > 0) await admin.deleteTopics({ topics: mine });
        const groups = [...(await admin.listGroups()).keys()].filter((g) => g.startsWith(`${prefix}_`));
        if (groups.length > 0) await admin.deleteGroups({ groups }).catch(() => undefined);
      } finally {
        await admin.close();
      }
    },
  },
];

describe('trace context in broker headers', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });

  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
  });

  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });

  for (const transport of transports) {
    it(`${transport.name} - a publish carries its span's traceparent in the headers; the consumer's span is its child and the handler runs in it`, async () => {
      const prefix = `trh${randomUUID().replaceAll('-', '').slice(0, 10)}`;
      const bus = transport.create({
        prefix,
        topics: [{ name: 'websites', subjects: 'website.>' }],
        maxDeliveries: 3,
        backoff: { initialMs: 100, maxMs: 500 },
        ackWaitMs: 10_000,
        retentionMs: 3_600_000,
        duplicateWindowMs: 60_000,
      });
      await bus.start();
      try {
        let received: { message: BusMessage; activeSpanId: string | undefined } | undefined;
        await bus.subscribe({
          topic: 'websites',
          group: 'trace-reader',
          handler: (message) => {
            received = { message, activeSpanId: trace.getActiveSpan()?.spanContext().spanId };
          },
        });
        const request = trace.getTracer('test').startSpan('request', { kind: SpanKind.SERVER });
        await context.with(trace.setSpan(context.active(), request), () =>
          bus.publish('website.add', { hello: 'trace' }, { msgId: 'm1', headers: { 'x-other': 'kept' } }),
        );
        request.end();
        await expect.poll(() => received, { timeout: WAIT_MS }).toBeDefined();
        await expect
          .poll(() => exporter.getFinishedSpans().some((s) => s.name === 'process websites'), {
            timeout: WAIT_MS,
          })
          .toBe(true);

        const spans = exporter.getFinishedSpans();
        const publish = spans.find((s) => s.name === 'publish websites');
        const process = spans.find((s) => s.name === 'process websites');
        expect(publish?.kind).toBe(SpanKind.PRODUCER);
        expect(publish?.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
        const traceId = request.spanContext().traceId;
        // W3C: version-traceid-parentid-flags, the parent being the publish span.
        expect(received!.message.headers['traceparent']).toBe(
          `00-${traceId}-${publish!.spanContext().spanId}-01`,
        );
        expect(received!.message.headers['x-other']).toBe('kept');
        expect(process?.kind).toBe(SpanKind.CONSUMER);
        expect(process?.spanContext().traceId).toBe(traceId);
        expect(process?.parentSpanContext?.spanId).toBe(publish!.spanContext().spanId);
        expect(received!.activeSpanId).toBe(process!.spanContext().spanId);
      } finally {
        exporter.reset();
        await bus.drain();
        await transport.destroy(prefix);
      }
    });
  }
});
