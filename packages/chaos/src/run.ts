import { createRng } from './rng.ts';
import { type ChaosSettings, loadChaosSettings, runScenario, type ScenarioReport } from './scenario.ts';
import { type ChaosScenario, registeredScenarios } from './scenarios/index.ts';
import { type BusKind, type ChaosStack, startChaosStack } from './stack.ts';

export interface ChaosRunOptions {
  writes: number;
  rounds: number;
  seed: number;
  buses: BusKind[];
  /** Scenario names to run (default: every registered one). */
  only?: string[];
  settings?: Partial<ChaosSettings>;
  out?: (text: string) => void;
}

export interface ChaosRunResult {
  reports: ScenarioReport[];
  passed: number;
  failed: number;
  /** Per scenario: "time until live again" p50 and max (ms) over its faults. */
  liveAgain: { scenario: string; bus: BusKind; faults: number; p50Ms?: number; maxMs?: number }[];
}

function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Every process of a shared stack running again (a failed scenario may have left one down). */
async function revive(stack: ChaosStack): Promise<void> {
  for (const p of [stack.websiteApi, stack.cache, stack.informer, ...stack.gateways])
    if (!p.running) await p.start();
}

/**
 * The long form: every registered scenario once per round per transport, in an order drawn from the
 * seed; scenarios needing no special stack share one stack per transport, the others get their own.
 */
export async function runChaos(options: ChaosRunOptions): Promise<ChaosRunResult> {
  const out = options.out ?? ((text: string) => process.stdout.write(`${text}\n`));
  const settings = { ...loadChaosSettings(), ...options.settings };
  const rng = createRng(options.seed);
  const all = registeredScenarios().filter((s) => !options.only || options.only.includes(s.name));
  const reports: ScenarioReport[] = [];
  for (const bus of options.buses) {
    const scenarios = all.filter((s) => !s.transports || s.transports.includes(bus));
    let shared: ChaosStack | undefined;
    try {
      for (let round = 1; round <= options.rounds; round++) {
        const order: ChaosScenario[] = [...scenarios];
        for (let i = order.length - 1; i > 0; i--) {
          const j = rng.int(0, i);
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        out(`chaos: bus ${bus}, round ${round}/${options.rounds}: ${order.map((s) => s.name).join(', ')}`);
        for (const scenario of order) {
          const seed = rng.int(0, 2_147_483_647);
          let report: ScenarioReport;
          try {
            if (scenario.stack) {
              report = await runScenario({
                name: scenario.name,
                bus,
                seed,
                writes: options.writes,
                fault: scenario.fault,
                stackOptions: { ...scenario.stack, bus },
                settings,
              });
            } else {
              shared ??= await startChaosStack({ bus });
              await revive(shared);
              report = await runScenario({
                name: scenario.name,
                seed,
                writes: options.writes,
                fault: scenario.fault,
                stack: shared,
                settings,
              });
            }
          } catch (error) {
            out(`FAIL ${scenario.name} [${bus}]: ${error instanceof Error ? error.message : String(error)}`);
            report = {
              name: scenario.name,
              bus,
              seed,
              verdict: 'failed',
              lines: [],
              failures: [],
              counts: {
                writes: 0,
                acknowledged: 0,
                refused: 0,
                deliveries: 0,
                updates: 0,
                initials: 0,
                reconnects: 0,
                faults: 0,
                clients: 0,
              },
              catchUpMs: 0,
              faults: [],
              writes: [],
              durationMs: 0,
              text: '',
            };
          }
          if (report.text) out(report.text);
          reports.push(report);
        }
      }
    } finally {
      await shared?.stop();
    }
  }
  const liveAgain: ChaosRunResult['liveAgain'] = [];
  for (const bus of options.buses) {
    for (const scenario of all) {
      const times = reports
        .filter((r) => r.bus === bus && r.name === scenario.name)
        .flatMap((r) => r.faults.map((f) => f.liveAgainMs))
        .filter((t): t is number => t !== undefined)
        .sort((a, b) => a - b);
      const faults = reports
        .filter((r) => r.bus === bus && r.name === scenario.name)
        .reduce((n, r) => n + r.counts.faults, 0);
      liveAgain.push({
        scenario: scenario.name,
        bus,
        faults,
        ...(times.length ? { p50Ms: percentile(times, 50)!, maxMs: times.at(-1)! } : {}),
      });
    }
  }
  const passed = reports.filter((r) => r.verdict === 'passed').length;
  const failed = reports.length - passed;
  out('time until live again after each fault heals (every client received a delivery again):');
  for (const l of liveAgain)
    out(
      `  ${l.scenario} [${l.bus}]: ${l.faults} fault(s), p50 ${l.p50Ms ?? '-'} ms, max ${l.maxMs ?? '-'} ms`,
    );
  const totals = reports.reduce(
    (t, r) => ({
      writes: t.writes + r.counts.writes,
      deliveries: t.deliveries + r.counts.deliveries,
      reconnects: t.reconnects + r.counts.reconnects,
      faults: t.faults + r.counts.faults,
    }),
    { writes: 0, deliveries: 0, reconnects: 0, faults: 0 },
  );
  out(
    `totals: writes ${totals.writes}, deliveries ${totals.deliveries}, reconnects ${totals.reconnects}, faults injected ${totals.faults}`,
  );
  out(`chaos: ${passed} passed, ${failed} failed`);
  return { reports, passed, failed, liveAgain };
}
