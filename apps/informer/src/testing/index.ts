export { type AnyNodesEvent, NodeEventLog } from './event-log.ts';
export {
  TestCluster,
  type TestClusterOptions,
  type TestInformerOptions,
  testInformerEnv,
} from './harness.ts';
export { openTestBus, removeStreams, TEST_NATS_URL, uniquePrefix } from './nats.ts';
