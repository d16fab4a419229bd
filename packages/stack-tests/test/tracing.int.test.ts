import { randomUUID } from 'node:crypto';
import { connect, type TidelineClient } from '@tideline/client';
import { OtlpReceiver, type ReceivedSpan } from '@tideline/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack, tokenFor, WebsiteApiClient } from '../src/index.ts';

const WAIT_MS = 30_000;
const SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

/** The chain of ancestors of `span` inside its trace, nearest first; throws on a missing parent. */
function ancestors(trace: readonly ReceivedSpan[], span: ReceivedSpan): ReceivedSpan[] {
  const byId = new Map(trace.map((s) => [s.spanId, s]));
  const chain: ReceivedSpan[] = [];
  let current = span;
  while (current.parentSpanId) {
    const parent = byId.get(current.parentSpanId);
    if (!parent)
      throw new Error(`span ${current.name} (${current.service}) has a parent that is not in the trace`);
    chain.push(parent);
    current = parent;
  }
  return chain;
}

/** Spans of `trace` with no parent: a trace that crossed every boundary correctly has exactly one. */
const roots = (trace: readonly ReceivedSpan[]) => trace.filter((s) => s.parentSpanId === '');

const describeSpan = (s: ReceivedSpan) => `${s.service}:${s.name}`;

/**
 * Must show (issue 16): one website create and one node change each produce ONE trace across the
 * website-api / informer / cache / push-gateway processes, exported over OTLP/HTTP to an in-memory
 * receiver, with the hops parented as they happened. The stack runs on the bus of
 * `TIDELINE_BUS` (NATS by default).
 */
describe('tracing across processes', () => {
  let receiver: OtlpReceiver;
  let stack: Stack;
  const clients: TidelineClient[] = [];
  const suffix = randomUUID().slice(0, 8);

  const client = (url: string) => {
    const c = connect({
      url,
      token: tokenFor(stack, 'trace-reader', ['websites:read', 'nodes:read']),
      reconnectDelayMs: { initial: 50, max: 500 },
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    stack = await startStack({
      env: {
        TIDELINE_OTEL_ENABLED: 'true',
        TIDELINE_OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        TIDELINE_OTEL_SAMPLER_RATIO: '1',
        // Export every 200 ms instead of every 5 s, so the test waits less.
        OTEL_BSP_SCHEDULE_DELAY: '200',
      },
    });
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await stack?.stop();
    await receiver?.close();
  });

  it('website create - one trace holds the HTTP, database, relay-publish, gateway-consume and emit spans, parented across processes', async () => {
    const reader = client(stack.gatewayUrls[0]!);
    const websites = reader.websites();
    await expect.poll(() => websites.position !== undefined, { timeout: WAIT_MS }).toBe(true);
    const api = new WebsiteApiClient(stack);
    const lineGroup = await api.createLineGroup(`trace-${suffix}`, `edge-${suffix}.cdn.example.net`);
    const created = await api.create([`trace-${suffix}.example.com`], lineGroup);
    await expect.poll(() => websites.get(String(created.website_id)), { timeout: WAIT_MS }).toBeDefined();

    let trace: ReceivedSpan[] = [];
    await expect
      .poll(
        () => {
          const request = receiver
            .spans()
            .find(
              (s) =>
                s.service === 'website-api' &&
                s.name === 'POST /api/v1/websites/create' &&
                s.attributes['http.response.status_code'] === 201,
            );
          trace = request ? receiver.trace(request.traceId) : [];
          // Each process exports on its own schedule: wait until both gateways' spans arrived.
          return (
            trace.some((s) => s.name === 'emit websites:update') &&
            trace.filter((s) => s.name === 'process websites').length >= stack.gateways.length
          );
        },
        { timeout: WAIT_MS, message: 'the emit span of the create reaches the receiver' },
      )
      .toBe(true);

    // One trace, one root: the HTTP request; every other span hangs below it.
    expect(roots(trace).map(describeSpan)).toEqual(['website-api:POST /api/v1/websites/create']);
    const request = roots(trace)[0]!;
    expect(request.kind).toBe(SPAN_KIND.server);
    for (const span of trace) if (span !== request) expect(ancestors(trace, span)).toContain(request);

    const named = (service: string, name: string) =>
      trace.filter((s) => s.service === service && s.name === name);
    const transaction = named('website-api', 'websites transaction');
    expect(transaction).toHaveLength(1);
    // The database: one span per statement, inside the transaction, among them the event-log insert
    // (a change is one statement that also writes its event, so its span is the insert's).
    const statements = trace.filter(
      (s) => s.service === 'website-api' && s.attributes['db.system.name'] === 'postgresql',
    );
    const insert = statements.find((s) =>
      String(s.attributes['db.query.text']).includes('INSERT INTO ws_events'),
    );
    expect(insert, 'the ws_events insert has its span').toBeDefined();
    expect(ancestors(trace, insert!)).toContain(transaction[0]);

    // The relay published in the request's trace (from the context stored with the row).
    const publish = named('website-api', 'publish websites');
    expect(publish).toHaveLength(1);
    expect(publish[0]!.kind).toBe(SPAN_KIND.producer);
    expect(publish[0]!.attributes['messaging.message.id']).toBe(
      String(transaction[0]!.attributes['tideline.event_id']),
    );

    // Every gateway consumed it as a child of the publish (context from the broker headers); the
    // one with the reader emitted once to the room, with the recipient count.
    const consumes = named('push-gateway', 'process websites');
    expect(consumes).toHaveLength(stack.gateways.length);
    for (const consume of consumes) {
      expect(consume.kind).toBe(SPAN_KIND.consumer);
      expect(consume.parentSpanId).toBe(publish[0]!.spanId);
    }
    const emits = named('push-gateway', 'emit websites:update');
    expect(emits).toHaveLength(1);
    expect(consumes.map((c) => c.spanId)).toContain(emits[0]!.parentSpanId);
    expect(emits[0]!.attributes['tideline.recipients']).toBe(1);
  });

  it('node change - one trace from the watch event through change detection and publish to the cache apply and the gateway emit', async () => {
    const kube = stack.kube!;
    const reader = client(stack.gatewayUrls[1]!);
    const nodes = reader.nodes(stack.cluster);
    await expect.poll(() => nodes.size, { timeout: WAIT_MS }).toBe(kube.nodeNames().length);
    kube.label('node-2', 'traced', suffix);
    await expect.poll(() => nodes.get('node-2')?.dynamic.labels['traced'], { timeout: WAIT_MS }).toBe(suffix);

    let trace: ReceivedSpan[] = [];
    await expect
      .poll(
        () => {
          const watch = receiver
            .spans()
            .filter(
              (s) =>
                s.service === 'informer' &&
                s.name === 'node watch event' &&
                s.attributes['k8s.node.name'] === 'node-2',
            );
          trace =
            watch
              .map((w) => receiver.trace(w.traceId))
              .find(
                (t) =>
                  t.some(
                    (s) =>
                      s.name === 'node change detection' &&
                      String(s.attributes['tideline.changed']).includes('labels'),
                  ) &&
                  t.some((s) => s.name === 'emit nodes:update') &&
                  t.filter((s) => s.service === 'push-gateway' && s.name === 'process nodes').length >=
                    stack.gateways.length &&
                  t.some((s) => s.name === 'cache apply'),
              ) ?? [];
          return trace.length > 0;
        },
        { timeout: WAIT_MS, message: 'the trace of the label change reaches the receiver' },
      )
      .toBe(true);

    expect(roots(trace).map(describeSpan)).toEqual(['informer:node watch event']);
    const watch = roots(trace)[0]!;
    for (const span of trace) if (span !== watch) expect(ancestors(trace, span)).toContain(watch);
    const named = (service: string, name: string) =>
      trace.filter((s) => s.service === service && s.name === name);
    const detection = named('informer', 'node change detection');
    expect(detection).toHaveLength(1);
    expect(detection[0]!.parentSpanId).toBe(watch.spanId);
    const publish = named('informer', 'publish nodes');
    expect(publish).toHaveLength(1);
    expect(publish[0]!.parentSpanId).toBe(watch.spanId);

    const cacheConsume = named('cache', 'process nodes');
    expect(cacheConsume).toHaveLength(1);
    expect(cacheConsume[0]!.parentSpanId).toBe(publish[0]!.spanId);
    const apply = named('cache', 'cache apply');
    expect(apply).toHaveLength(1);
    expect(apply[0]!.parentSpanId).toBe(cacheConsume[0]!.spanId);
    expect(apply[0]!.attributes['tideline.outcome']).toBe('applied');

    const gatewayConsumes = named('push-gateway', 'process nodes');
    expect(gatewayConsumes).toHaveLength(stack.gateways.length);
    for (const consume of gatewayConsumes) expect(consume.parentSpanId).toBe(publish[0]!.spanId);
    const emits = named('push-gateway', 'emit nodes:update');
    expect(emits).toHaveLength(1);
    expect(gatewayConsumes.map((c) => c.spanId)).toContain(emits[0]!.parentSpanId);
    expect(emits[0]!.attributes['tideline.recipients']).toBe(1);
  });

  it('snapshot - a websites snapshot the gateway fetches is one trace: its HTTP call and website-api handling it', async () => {
    receiver.clear();
    const reader = client(stack.gatewayUrls[0]!);
    const websites = reader.websites();
    await expect.poll(() => websites.position !== undefined, { timeout: WAIT_MS }).toBe(true);
    let pair: { call: ReceivedSpan; handler: ReceivedSpan } | undefined;
    await expect
      .poll(
        () => {
          for (const call of receiver
            .spans()
            .filter((s) => s.service === 'push-gateway' && s.kind === SPAN_KIND.client)) {
            const handler = receiver
              .trace(call.traceId)
              .find((s) => s.service === 'website-api' && s.parentSpanId === call.spanId);
            if (handler) pair = { call, handler };
          }
          return pair !== undefined;
        },
        { timeout: WAIT_MS },
      )
      .toBe(true);
    expect(pair!.call.name).toMatch(/^GET \/internal\//);
    expect(pair!.handler.kind).toBe(SPAN_KIND.server);
    expect(pair!.handler.name).toMatch(/^GET \/internal\//);
  });
});
