export { BaseEventBus, backoffDelay, type Decision, DecodedMessage, type Settle } from './base.ts';
export {
  type DeadLetter,
  DeadLetterIndex,
  type DeadLetterPage,
  listDeadLetters,
  type PageOptions,
  pageOfDeadLetters,
  payloadText,
  REDRIVEN_FROM_HEADER,
  REDRIVEN_HEADER,
  REDRIVEN_SUBJECT,
  type RedriveOptions,
  type RedriveOutcome,
  type RedriveProgress,
  type RedriveResult,
  redriveDeadLetters,
} from './dead-letters.ts';
export { BusStateError, BusUnavailableError, PublishExpectationError, UnknownTopicError } from './errors.ts';
export {
  type CreateBusOptions,
  contractTopics,
  createEventBus,
  type ServiceBusOptions,
  serviceBus,
} from './factory.ts';
export { KafkaEventBus } from './kafka/kafka-bus.ts';
export type { KafkaBusOptions } from './kafka/options.ts';
export { MemoryBroker, MemoryEventBus } from './memory/memory-bus.ts';
export { type BusMetrics, type BusMetricsOptions, createBusMetrics } from './metrics.ts';
export { type NatsBusOptions, NatsEventBus } from './nats/nats-bus.ts';
export { type PublishPushOptions, type PushReceipt, publishPush } from './push.ts';
export { readTopic } from './read-topic.ts';
export { RecentIds } from './recent-ids.ts';
export { subjectMatches, topicForSubject } from './subjects.ts';
export {
  type BackoffPolicy,
  type BusLogger,
  type BusMessage,
  type BusObserver,
  type BusOptions,
  type ConsumerLag,
  DEAD_LETTER_HEADERS,
  DEAD_LETTER_TOPIC,
  type DeadLetterCause,
  type DeliveryOutcome,
  type EventBus,
  type Handler,
  type Outcome,
  type PublishOptions,
  type PublishReceipt,
  type ReadOptions,
  type SubscribeOptions,
  type Subscription,
  type TopicSpec,
} from './types.ts';
