import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { NatsEventBus } from '../src/nats/nats-bus.ts';
import { busContractSuite } from '../src/testing/contract-suite.ts';

const servers = process.env['TIDELINE_NATS_URL'] ?? 'nats://127.0.0.1:4222';

busContractSuite({
  name: 'nats',
  create: (options) => new NatsEventBus({ ...options, servers }),
  destroy: async (options) => {
    const nc = await connect({ servers });
    try {
      const jsm = await jetstreamManager(nc);
      for await (const name of jsm.streams.names()) {
        if (name.startsWith(`${options.prefix}_`)) await jsm.streams.delete(name);
      }
    } finally {
      await nc.close();
    }
  },
});
