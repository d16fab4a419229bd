import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

/**
 * Workspace packages are imported from their `src`, so no build is needed before testing: most
 * packages' exports point there, and a published one (@tideline/client, whose exports point at its
 * build) lists its source under the `@tideline/source` condition, enabled here, in
 * tsconfig.base.json (`customConditions`) and in the console's Vite config.
 */
const SOURCE_CONDITION = '@tideline/source';
const fromSource = {
  resolve: { conditions: [SOURCE_CONDITION, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [SOURCE_CONDITION, ...defaultServerConditions] } },
};

/** One root config, a project per kind of test. */
export default defineConfig({
  test: {
    // `npm test` (vitest run --coverage) measures line coverage of the libraries; the stateful executor must keep ≥ 90 %.
    coverage: {
      enabled: false,
      provider: 'v8',
      include: ['packages/*/src/**/*.ts'],
      exclude: ['**/*.test.ts', '**/testing/**', 'packages/test-support/**', 'packages/stack-tests/**'],
      reporter: ['text-summary'],
      reportsDirectory: 'coverage',
      thresholds: { 'packages/stateful/src/**': { lines: 90 } },
    },
    projects: [
      {
        ...fromSource,
        test: {
          name: 'unit',
          include: ['{apps,packages}/*/src/**/*.test.ts', '{apps,packages}/*/test/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          testTimeout: 20_000,
        },
      },
      {
        ...fromSource,
        test: {
          name: 'integration',
          include: ['{apps,packages}/*/src/**/*.int.test.ts', '{apps,packages}/*/test/**/*.int.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Integration suites share real servers; running files one at a time keeps timing honest on 2 cores.
          fileParallelism: false,
        },
      },
      {
        ...fromSource,
        test: {
          // The gateway end-to-end tests and the stack scenarios again, over the Kafka transport.
          name: 'kafka',
          include: [
            'apps/push-gateway/test/websites.int.test.ts',
            'apps/push-gateway/test/scale-out.int.test.ts',
            'apps/push-gateway/test/pushes.int.test.ts',
            'packages/stack-tests/test/stack.int.test.ts',
            'packages/chaos/test/chaos.int.test.ts',
          ],
          env: { TIDELINE_BUS: 'kafka' },
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
