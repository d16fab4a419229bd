import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChaosStack,
  INFRA_STACK,
  infraScenarios,
  loadChaosSettings,
  runScenario,
  type ScenarioReport,
  startChaosStack,
} from '../src/index.ts';

/**
 * The short form of the infrastructure chaos scenarios (`npm test`): one stack per transport with
 * every part they need (a private NATS or Kafka and Redis, a fault proxy in front of PostgreSQL and
 * one in front of gateway 1's broker connection), each scenario a few hundred writes with its fault
 * mid-stream, judged by the history checker. This file runs in the integration project over NATS
 * and in the kafka project over Kafka; a scenario of the other transport (NATS restart over Kafka)
 * is skipped.
 */
const settings = loadChaosSettings();
const bus = process.env['TIDELINE_BUS'] === 'kafka' ? 'kafka' : 'nats';
/** A private Kafka's JVM and five services on a busy 2-core machine. */
const STACK_START_MS = 300_000;
/**
 * A broker restart takes a JVM start on top of the outage (a private Kafka measured 10–15 s idle,
 * up to 40 s on a loaded machine): the fault's bound is the usual one plus this.
 */
const BROKER_START_BOUND_MS = 120_000;
const faultTimeoutMs = settings.chaosFaultTimeoutMs + BROKER_START_BOUND_MS;
const SCENARIO_TIMEOUT_MS = faultTimeoutMs + settings.chaosCatchUpTimeoutMs + 60_000;
const reports: ScenarioReport[] = [];

describe(`chaos under infrastructure faults - every client once, in order, gap-free against the truth, replica equal to the database and the cluster (short form, bus ${bus})`, () => {
  let stack: ChaosStack;

  beforeAll(async () => {
    const started = performance.now();
    stack = await startChaosStack({ ...INFRA_STACK, bus });
    console.log(`infra chaos stack (${bus}) started in ${Math.round(performance.now() - started)} ms`);
  }, STACK_START_MS);

  afterAll(async () => {
    await stack?.stop();
    console.log(
      reports
        .map(
          (r) =>
            `${r.name} [${r.bus}]: ${r.verdict} in ${r.durationMs} ms; ${r.faults
              .map((f) => `${f.label}: live again ${f.liveAgainMs ?? '?'} ms after the heal`)
              .join('; ')}`,
        )
        .join('\n') || 'no chaos reports',
    );
  }, 60_000);

  for (const [i, scenario] of infraScenarios.entries()) {
    const applies = !scenario.transports || scenario.transports.includes(bus);
    it.skipIf(!applies)(
      `${scenario.name} - ${scenario.description}: 0 lost, 0 duplicated, 0 reordered, replicas equal to the truth`,
      async () => {
        const report = await runScenario({
          name: scenario.name,
          seed: settings.chaosSeed + 100 + i,
          writes: settings.chaosShortWrites,
          // A Kafka restart gets a stack of its own, as `npm run chaos` gives every scenario: on the
          // shared stack gateway 1 reaches Kafka through the partition scenario's proxied listener,
          // and a restart would also test the proxy's reconnection, not only the services'.
          ...(scenario.stack?.privateKafka && bus === 'kafka'
            ? { stackOptions: { ...scenario.stack, bus } }
            : { stack }),
          fault: scenario.fault,
          settings: { chaosFaultTimeoutMs: faultTimeoutMs },
        });
        reports.push(report);
        console.log(report.text);
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
