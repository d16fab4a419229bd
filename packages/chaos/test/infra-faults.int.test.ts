import { describe, expect, it } from 'vitest';
import { infraScenarios, loadChaosSettings, runScenario, type ScenarioReport } from '../src/index.ts';

/**
 * The short form of the infrastructure chaos scenarios (`npm test`): each scenario on a stack of its
 * own (a private NATS, Kafka or Redis, a fault proxy in front of PostgreSQL or of one gateway's
 * broker connection), a few hundred writes with the fault mid-stream, judged by the history
 * checker. This file runs in the integration project over NATS and in the kafka project over Kafka;
 * a scenario that does not apply to the transport (NATS restart over Kafka) is skipped.
 */
const settings = loadChaosSettings();
const bus = process.env['TIDELINE_BUS'] === 'kafka' ? 'kafka' : 'nats';
/** A stack of its own per scenario: its start (a private Kafka's JVM included) comes on top of the run. */
const STACK_START_MS = 240_000;
const SCENARIO_TIMEOUT_MS =
  STACK_START_MS + settings.chaosFaultTimeoutMs + settings.chaosCatchUpTimeoutMs + 60_000;

describe(`chaos under infrastructure faults - every client once, in order, gap-free against the truth, replica equal to the database and the cluster (short form, bus ${bus})`, () => {
  for (const [i, scenario] of infraScenarios.entries()) {
    const applies = !scenario.transports || scenario.transports.includes(bus);
    it.skipIf(!applies)(
      `${scenario.name} - ${scenario.description}: 0 lost, 0 duplicated, 0 reordered, replicas equal to the truth`,
      async () => {
        const report: ScenarioReport = await runScenario({
          name: scenario.name,
          bus,
          seed: settings.chaosSeed + 100 + i,
          writes: settings.chaosShortWrites,
          fault: scenario.fault,
          stackOptions: { ...scenario.stack, bus },
        });
        console.log(report.text);
        console.log(
          `${report.name} [${report.bus}]: ${report.verdict} in ${report.durationMs} ms; ${report.faults
            .map((f) => `${f.label}: live again ${f.liveAgainMs ?? '?'} ms after the heal`)
            .join('; ')}`,
        );
        expect(report.failures, report.text).toEqual([]);
        expect(report.verdict).toBe('passed');
        expect(report.counts.faults).toBeGreaterThan(0);
        expect(report.counts.acknowledged).toBeGreaterThan(0);
        expect(report.counts.updates).toBeGreaterThan(0);
        // The PostgreSQL cut refused writers' writes too, and the checker held the truth to them.
        if (scenario.name === 'postgres-cut') expect(report.counts.refused).toBeGreaterThan(0);
      },
      SCENARIO_TIMEOUT_MS,
    );
  }
});
