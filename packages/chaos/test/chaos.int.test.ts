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

describe(`chaos (short form, bus ${bus})`, () => {
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
