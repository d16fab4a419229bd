import type { FaultFn } from '../scenario.ts';
import type { BusKind, ChaosStackOptions } from '../stack.ts';

/** A named fault scenario: what stack it needs and the fault it injects. */
export interface ChaosScenario {
  name: string;
  /** One line: what is done and what a client should see (for the README table and the logs). */
  description: string;
  /** Stack options it needs (private NATS/Redis, proxies); scenarios with none share one stack. */
  stack?: ChaosStackOptions;
  /** Transports it runs on (default: both). */
  transports?: BusKind[];
  fault: FaultFn;
}

const registry = new Map<string, ChaosScenario>();

/** Adds scenarios to the registry `npm run chaos` runs (a name may be registered once). */
export function registerScenarios(...scenarios: ChaosScenario[]): void {
  for (const scenario of scenarios) {
    if (registry.has(scenario.name)) throw new Error(`chaos scenario ${scenario.name} is registered twice`);
    registry.set(scenario.name, scenario);
  }
}

/** Every registered scenario, in registration order. */
export function registeredScenarios(): ChaosScenario[] {
  return [...registry.values()];
}

export function scenarioNamed(name: string): ChaosScenario {
  const scenario = registry.get(name);
  if (!scenario)
    throw new Error(`no chaos scenario named ${name} (known: ${[...registry.keys()].join(', ')})`);
  return scenario;
}
