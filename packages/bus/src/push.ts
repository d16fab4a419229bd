import { randomUUID } from 'node:crypto';
import { PushMessage, type PushTarget, parse, subjects } from '@tideline/contracts';
import type { EventBus, PublishReceipt } from './types.ts';

export interface PublishPushOptions {
  /** One user (all of that user's sockets, on whichever gateway) or one room. */
  target: PushTarget;
  /** The socket event the browser receives; must start with `push:`. */
  event: `push:${string}`;
  /** Any JSON value. */
  data: unknown;
  /** Deduplication id: publishing the same id again within the broker's duplicate window delivers once. Default: a new UUID. */
  id?: string;
  /** When the pushed fact happened. Default: now. */
  occurredAt?: Date;
}

export interface PushReceipt extends PublishReceipt {
  /** The push id (the deduplication id). */
  id: string;
}

/**
 * Publishes a targeted push for the push-gateways: `data` reaches the target's sockets as socket
 * event `event`, exactly once to each socket connected from publication until its gateway emits
 * it (every gateway reads every push and drops an id it already emitted). Pushes are not ordered
 * and not replayed: a socket moving between gateways meanwhile may miss one, never gets one twice.
 * The message is validated against `PushMessage` first; an invalid one throws a `ContractError`
 * and nothing is published. Resolves once the broker stored it.
 *
 * @example
 * await publishPush(bus, { target: { kind: 'user', uid: 'alice' }, event: 'push:notice', data: { text: 'hi' } });
 */
export async function publishPush(bus: EventBus, options: PublishPushOptions): Promise<PushReceipt> {
  const message = parse(
    PushMessage,
    {
      id: options.id ?? randomUUID(),
      target: options.target,
      event: options.event,
      data: options.data,
      occurredAt: (options.occurredAt ?? new Date()).toISOString(),
    },
    'push',
  );
  const subject = subjects.push(message.target);
  const receipt = await bus.publish(subject, message, { msgId: `push:${message.id}`, key: subject });
  return { ...receipt, id: message.id };
}
