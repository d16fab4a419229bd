import { busContractSuite } from '../testing/contract-suite.ts';
import { MemoryBroker, MemoryEventBus } from './memory-bus.ts';

const brokers = new Map<string, MemoryBroker>();

busContractSuite({
  name: 'memory',
  create: (options) => {
    let broker = brokers.get(options.prefix);
    if (!broker) brokers.set(options.prefix, (broker = new MemoryBroker()));
    return new MemoryEventBus(options, broker);
  },
  destroy: async (options) => void brokers.delete(options.prefix),
});
