import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChaosStack, loadChaosSettings, runScenario, startChaosStack } from '../src/index.ts';

/**
 * The negative control: the same short run, no fault, but gateway 2 started with the test-only
 * flag that makes it silently skip every 100th live event it broadcasts. The checker must call the
 * history failed, with a gap on that gateway — proof that it can fail.
 */
const settings = loadChaosSettings();
const DROP_EVERY = 100;
const bus = process.env['TIDELINE_BUS'] === 'kafka' ? 'kafka' : 'nats';

describe(`chaos negative control (bus ${bus})`, () => {
  let stack: ChaosStack;

  beforeAll(async () => {
    stack = await startChaosStack({
      bus,
      gatewayEnv: [{}, { TIDELINE_GATEWAY_TEST_DROP_EVERY: String(DROP_EVERY) }],
    });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  it(
    'broken build - a gateway dropping every 100th event is caught: verdict failed, with a gap on that gateway',
    async () => {
      const report = await runScenario({
        name: 'negative-control',
        seed: settings.chaosSeed,
        writes: settings.chaosShortWrites,
        stack,
        // Short: the clients cannot catch up on what was dropped, so do not wait the full bound.
        settings: { chaosCatchUpTimeoutMs: Math.min(settings.chaosCatchUpTimeoutMs, 5_000) },
      });
      console.log(report.text);
      const broken = stack.gatewayUrls[1]!;
      expect(report.verdict).toBe('failed');
      expect(report.failures.some((f) => f.kind === 'gap' && f.gateway === broken)).toBe(true);
      // The healthy gateway's deliveries are not blamed for a gap.
      expect(report.failures.filter((f) => f.kind === 'gap' && f.gateway === stack.gatewayUrls[0])).toEqual(
        [],
      );
      expect(report.text).toContain('smallest failing segment');
    },
    settings.chaosCatchUpTimeoutMs + 120_000,
  );
});
