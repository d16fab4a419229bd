/**
 * A group member that receives messages and never settles them, run as a child process so a test
 * can really kill it (SIGKILL) while it holds them. Configured by one JSON environment variable
 * ({@link UnackingConsumerConfig}); reports on stdout, one JSON line each: `{"ready":true}` once
 * subscribed, then `{"received":msgId,"deliveryCount":n}` per message handed to its handler.
 */
import { KafkaEventBus } from '../../src/kafka/kafka-bus.ts';
import { NatsEventBus } from '../../src/nats/nats-bus.ts';
import type { EventBus } from '../../src/types.ts';
import { CONFIG_ENV, type UnackingConsumerConfig } from './unacking-consumer-config.ts';

function open(config: UnackingConsumerConfig): EventBus {
  if (config.transport === 'nats') return new NatsEventBus({ ...config.bus, servers: config.servers });
  return new KafkaEventBus({
    ...config.bus,
    ...config.kafka,
    brokers: config.servers,
    clientId: 'unacking-consumer',
  });
}

const report = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

const raw = process.env[CONFIG_ENV];
if (!raw) throw new Error(`${CONFIG_ENV} is not set`);
const config = JSON.parse(raw) as UnackingConsumerConfig;
const bus = open(config);
await bus.start();
await bus.subscribe({
  topic: config.topic,
  group: config.group,
  concurrency: config.hold,
  prefetch: config.hold,
  handler: (message) => {
    report({ received: message.msgId, deliveryCount: message.deliveryCount });
    return new Promise<never>(() => {});
  },
});
report({ ready: true });
