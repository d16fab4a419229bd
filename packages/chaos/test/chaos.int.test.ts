import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChaosStack,
  loadChaosSettings,
  processScenarios,
  runScenario,
  type ScenarioReport,
  startChaosStack,
} from '../src/index.ts';

/**
 * The short form of the process-level chaos scenarios (`npm test`): one stack per transport (this
 * file runs in the integration project over NATS and in the kafka project over Kafka), each
 * scenario a few hundred writes with its fault mid-stream, judged by the history checker.
 */
const settings = loadChaosSettings();
const bus = process.env['TIDELINE_BUS'] === 'kafka' ? 'kafka' : 'nats';
const SCENARIO_TIMEOUT_MS = settings.chaosFaultTimeoutMs + settings.chaosCatchUpTimeoutMs + 60_000;
const reports: ScenarioReport[] = [];
/** The runner tests' writes: enough for the fault, the hold point and the writers to meet. */
const RUNNER_WRITES = 60;
/** Bound of the runner test's fault that never heals (its length does not matter: it cannot finish). */
const RUNNER_FAULT_BOUND_MS = 3_000;
/** The runner tests' seeds, apart from the scenarios' (chaosSeed + their index). */
const RUNNER_SEED_OFFSET = 1_000;

describe(`chaos under process faults - every client once, in order, gap-free against the truth, replica equal to the database and the cluster (short form, bus ${bus})`, () => {
  let stack: ChaosStack;

  beforeAll(async () => {
    stack = await startChaosStack({ bus });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    console.log(
      reports.map((r) => `${r.name} [${r.bus}]: ${r.verdict} in ${r.durationMs} ms`).join('\n') ||
        'no chaos reports',
    );
  }, 60_000);

  // The runner itself (transport-independent: over NATS only).
  it.skipIf(bus === 'kafka')(
    'runner - a fault that waits during its outage for writers that wait for its heal ends once they are all held (no deadlock)',
    async () => {
      const report = await runScenario({
        name: 'runner-hold',
        seed: settings.chaosSeed + RUNNER_SEED_OFFSET,
        writes: RUNNER_WRITES,
        stack,
        fault: async (_stack, _rng, ctx) => {
          ctx.inject('writers held');
          // A condition that can only come true once every writer waits at the hold point.
          await ctx.waitFor('every writer held', () => ctx.writersHeld());
          ctx.healed();
        },
      });
      expect(report.failures, report.text).toEqual([]);
      expect(report.writes).toHaveLength(RUNNER_WRITES);
      // The writers were held until the heal and wrote the rest after it.
      const healedAt = report.faults[0]?.healedAt;
      expect(healedAt).toBeDefined();
      expect(report.writes.filter((w) => w.at >= healedAt!).length).toBeGreaterThan(0);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it.skipIf(bus === 'kafka')(
    'runner - a fault that outlives its bound is stopped before the history is checked, not left running in the background',
    async () => {
      let ended = false;
      let abortedWhenEnded = false;
      const report = await runScenario({
        name: 'runner-bound',
        seed: settings.chaosSeed + RUNNER_SEED_OFFSET + 1,
        writes: RUNNER_WRITES,
        stack,
        settings: { chaosFaultTimeoutMs: RUNNER_FAULT_BOUND_MS },
        fault: async (_stack, _rng, ctx) => {
          ctx.inject('never heals');
          try {
            // Far beyond the bound: only the runner giving up on the fault can end this wait.
            await ctx.waitFor('something that never happens', () => false, RUNNER_FAULT_BOUND_MS * 1_000);
          } finally {
            abortedWhenEnded = ctx.signal.aborted;
            ended = true;
          }
        },
      });
      expect(ended).toBe(true);
      expect(abortedWhenEnded).toBe(true);
      expect(report.verdict).toBe('failed');
      expect(report.text).toContain(`the fault did not finish within ${RUNNER_FAULT_BOUND_MS} ms`);
    },
    SCENARIO_TIMEOUT_MS,
  );

  for (const [i, scenario] of processScenarios.entries()) {
    it(
      `${scenario.name} - ${scenario.description}: 0 lost, 0 duplicated, 0 reordered, replicas equal to the truth`,
      async () => {
        const report = await runScenario({
          name: scenario.name,
          seed: settings.chaosSeed + i,
          writes: settings.chaosShortWrites,
          stack,
          fault: scenario.fault,
        });
        reports.push(report);
        console.log(report.text);
        expect(report.failures, report.text).toEqual([]);
        expect(report.verdict).toBe('passed');
        expect(report.counts.faults).toBeGreaterThan(0);
        expect(report.counts.acknowledged).toBeGreaterThan(0);
        expect(report.counts.updates).toBeGreaterThan(0);
      },
      SCENARIO_TIMEOUT_MS,
    );
  }
});
