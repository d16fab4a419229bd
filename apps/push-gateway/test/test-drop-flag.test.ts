import { ConfigError, commonSettings, DEVELOPMENT_JWT_SECRET, loadConfig } from '@tideline/config';
import { describe, expect, it } from 'vitest';
import { pushGatewayRules, pushGatewaySettings } from '../src/config.ts';

/** TIDELINE_GATEWAY_TEST_DROP_EVERY breaks delivery on purpose (the chaos negative control). */
const spec = { ...commonSettings, ...pushGatewaySettings };
const load = (env: Record<string, string>) =>
  loadConfig(
    spec,
    { env: { TIDELINE_JWT_SECRET: 'a-long-enough-production-secret-0123456789abcdef', ...env } },
    pushGatewayRules,
  );

describe('test-only drop flag', () => {
  it('drop flag in production - a deployment cannot start a gateway that drops live events on purpose', () => {
    const attempt = () => load({ TIDELINE_ENV: 'production', TIDELINE_GATEWAY_TEST_DROP_EVERY: '100' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/TIDELINE_GATEWAY_TEST_DROP_EVERY/);
    expect(() =>
      load({
        TIDELINE_ENV: 'development',
        TIDELINE_GATEWAY_TEST_DROP_EVERY: '100',
        TIDELINE_JWT_SECRET: DEVELOPMENT_JWT_SECRET,
      }),
    ).toThrow(/TIDELINE_ENV=test/);
  });

  it('test mode - the flag is accepted under TIDELINE_ENV=test, and 0 (off) everywhere', () => {
    expect(load({ TIDELINE_ENV: 'test', TIDELINE_GATEWAY_TEST_DROP_EVERY: '100' }).gatewayTestDropEvery).toBe(
      100,
    );
    expect(load({ TIDELINE_ENV: 'production' }).gatewayTestDropEvery).toBe(0);
  });
});
