import { Admin } from '@platformatic/kafka';
import { KafkaEventBus } from '../src/kafka/kafka-bus.ts';
import { busContractSuite } from '../src/testing/contract-suite.ts';

const brokers = (process.env['TIDELINE_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');

/** Test timings: quick group formation and fetch turnaround; behaviour is the production code's. */
const timings = { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, fetchMaxWaitMs: 100, retryDelayMs: 100 };

busContractSuite({
  name: 'kafka',
  create: (options) => new KafkaEventBus({ ...options, ...timings, brokers, clientId: 'contract' }),
  destroy: async (options) => {
    const admin = new Admin({ clientId: 'contract-cleanup', bootstrapBrokers: brokers });
    try {
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${options.prefix}_`));
      if (mine.length > 0) await admin.deleteTopics({ topics: mine });
      const groups = [...(await admin.listGroups()).keys()].filter((g) => g.startsWith(`${options.prefix}_`));
      if (groups.length > 0) await admin.deleteGroups({ groups }).catch(() => undefined);
    } finally {
      await admin.close();
    }
  },
  deliveryTimeoutMs: 5_000,
});
