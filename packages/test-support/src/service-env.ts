import { TEST_NATS_URL } from './nats.ts';

/**
 * What the environment of every service under test shares: test mode, quiet logs
 * (`TIDELINE_TEST_LOG_LEVEL` to see them), the shared NATS under a bus prefix of the test's own,
 * and a short graceful stop.
 */
export function testServiceEnv(busPrefix: string): Record<string, string> {
  return {
    TIDELINE_ENV: 'test',
    TIDELINE_LOG_LEVEL: process.env['TIDELINE_TEST_LOG_LEVEL'] ?? 'silent',
    TIDELINE_NATS_URL: TEST_NATS_URL,
    TIDELINE_BUS_PREFIX: busPrefix,
    TIDELINE_SHUTDOWN_TIMEOUT_MS: '5000',
  };
}
