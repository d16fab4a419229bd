import { createLogger, Registry, Registry as RuntimeRegistry } from '@tideline/runtime';
import { describe, expect, it } from 'vitest';
import { createGatewayMetrics, DISCONNECT_REASONS, disconnectReason } from './metrics.ts';
import { feedObserver } from './wiring/feeds.ts';

describe('gateway metrics', () => {
  it('disconnect reasons - a reason outside the closed set is counted as other, so no client can add series', async () => {
    const registry = new Registry();
    const metrics = createGatewayMetrics(registry);
    metrics.disconnected('SLOW_CONSUMER');
    metrics.disconnected('user-4711 went away');
    const text = await registry.metrics();
    const reasons = [
      ...text.matchAll(/^tideline_gateway_disconnects_total\{reason="([^"]+)"\} (\d+)$/gm),
    ].map((m) => [m[1], Number(m[2])] as const);
    expect(reasons.map(([reason]) => reason).sort()).toEqual([...DISCONNECT_REASONS].sort());
    expect(Object.fromEntries(reasons)).toMatchObject({ SLOW_CONSUMER: 1, other: 1, 'ping timeout': 0 });
    expect(text).not.toContain('4711');
    expect(disconnectReason('transport close')).toBe('transport close');
  });

  it('outbound queue - the bytes waiting now are read on scrape from what the service measures', async () => {
    const registry = new Registry();
    const metrics = createGatewayMetrics(registry);
    let waiting = 1234;
    metrics.measureOutboundQueue(() => waiting);
    expect(await registry.metrics()).toMatch(/^tideline_gateway_outbound_queue_bytes 1234$/m);
    waiting = 0;
    expect(await registry.metrics()).toMatch(/^tideline_gateway_outbound_queue_bytes 0$/m);
  });

  it('cluster names - the delivery latency carries a cluster name only when the operator allows it', async () => {
    const logger = createLogger({ service: 'test', level: 'silent' });
    const registry = new RuntimeRegistry();
    const metrics = createGatewayMetrics(registry);
    feedObserver(metrics, logger, 'nodes').delivered(1, Date.now());
    expect(await registry.metrics()).not.toContain('prod-eu-secret');
    expect(await registry.metrics()).toMatch(
      /^tideline_gateway_delivery_lag_seconds_count\{feed="nodes"\} 1$/m,
    );
    feedObserver(metrics, logger, 'nodes', 'prod-eu-secret').delivered(1, Date.now());
    expect(await registry.metrics()).toMatch(
      /^tideline_gateway_delivery_lag_seconds_count\{feed="nodes",cluster="prod-eu-secret"\} 1$/m,
    );
  });
});
