import { busContractSuite } from '../testing/contract-suite.ts';
import { MemoryBroker, MemoryEventBus } from './memory-bus.ts';

const brokers = new Map<string, MemoryBroker>();

busContractSuite({
  name: 'memory',
  create: (options) => {
    const broker = brokers.get(options.prefix) ?? new MemoryBroker();
    brokers.set(options.prefix, broker);
    return new MemoryEventBus(options, broker);
  },
  destroy: async (options) => void brokers.delete(options.prefix),
});
