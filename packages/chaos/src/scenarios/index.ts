import { processScenarios } from './process.ts';
import { registerScenarios } from './registry.ts';

export { BREAKER_METRIC, processScenarios } from './process.ts';
export { type ChaosScenario, registeredScenarios, registerScenarios, scenarioNamed } from './registry.ts';

// Every scenario module registers here (one line each); `npm run chaos` runs what is registered.
registerScenarios(...processScenarios);
