import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { busContractSuite } from '../testing/contract-suite.ts';
import { NatsEventBus } from './nats-bus.ts';

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
