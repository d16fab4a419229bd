export { eventually, sleep, type TestCertificates, testCertificates } from '@tideline/bus/testing';
export { DisposableKafka, type DisposableKafkaOptions } from './kafka.ts';
export { openTestBus, removeStreams, TEST_NATS_URL, testBusOptions, uniquePrefix } from './nats.ts';
export { NodeEventLog } from './node-event-log.ts';
export {
  type TestNodeEvents,
  type TestNodeViewOptions,
  testNodeEvents,
  testNodeView,
} from './node-events.ts';
export { OtlpReceiver, type ReceivedSpan } from './otlp-receiver.ts';
export { freePort, restartablePort, waitForPort } from './ports.ts';
export { ADMIN_DATABASE_URL, TestDatabase } from './postgres.ts';
export { FaultProxy } from './proxy.ts';
export { DisposableServer, type NatsServerAuth, type RedisServerAuth } from './servers.ts';
export { testServiceEnv } from './service-env.ts';
export { TestCluster, type TestClusterOptions } from './test-cluster.ts';
export { TEST_JWT, testServiceToken, testToken } from './tokens.ts';
