export {
  type CheckCounts,
  type CheckFailure,
  type CheckLine,
  type CheckOptions,
  type CheckReport,
  checkHistory,
  type FailureKind,
  formatReport,
  runs,
} from './checker.ts';
export {
  type Delivery,
  type FeedName,
  type RecordedClient,
  RecordingClient,
  type RecordingClientOptions,
  type Segment,
} from './recorder.ts';
export { createRng, type Rng } from './rng.ts';
export {
  type ChaosSettings,
  type FaultFn,
  type FaultRecord,
  loadChaosSettings,
  metricValue,
  runScenario,
  type ScenarioContext,
  type ScenarioOptions,
  type ScenarioReport,
} from './scenario.ts';
export {
  BREAKER_METRIC,
  type ChaosScenario,
  INFRA_STACK,
  infraScenarios,
  processScenarios,
  readiness,
  registeredScenarios,
  registerScenarios,
  scenarioNamed,
} from './scenarios/index.ts';
export {
  type BusKind,
  CHAOS_CLUSTER,
  type ChaosStack,
  type ChaosStackOptions,
  startChaosStack,
} from './stack.ts';
export {
  LocalTruth,
  NodesTopicTruth,
  type NodeTruth,
  nodeTruthOfKube,
  nodeTruthOfView,
  type TruthSource,
  type WebsiteEventTruth,
  type WebsiteTruth,
  websiteTruthOf,
} from './truth.ts';
export { runWriters, type WriteRecord, type WritersOptions } from './writers.ts';
