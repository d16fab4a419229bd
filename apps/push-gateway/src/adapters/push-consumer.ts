import type { EventBus, Outcome, Subscription } from '@tideline/bus';
import { PushMessage, type PushTarget, subjects } from '@tideline/contracts';
import type { Logger } from '@tideline/runtime';

export interface PushConsumerOptions {
  bus: EventBus;
  /** Handled at once by this gateway. */
  concurrency: number;
  logger: Logger;
  /** False while the cross-gateway room broadcast (Redis) cannot take a message; the push is retried. */
  canBroadcast: () => boolean;
  /** Emits to every socket of the target, on every gateway. */
  broadcast: (target: PushTarget, event: `push:${string}`, data: unknown) => void;
  onPush: (target: PushTarget['kind'] | 'unknown', outcome: 'sent' | 'rejected' | 'retried') => void;
}

/** All gateways share this group: each push is handled by one of them, which emits it through Redis to all. */
export const PUSH_GROUP = 'push-gateway';

/**
 * Targeted pushes from backend services (`push.user.<uid>`, `push.room.<room>`). Delivered at
 * least once: a push handled by a gateway that dies before acking is emitted again by another.
 * A push whose body does not match its contract or its subject is dead-lettered.
 */
export function consumePushes(options: PushConsumerOptions): Promise<Subscription> {
  return options.bus.subscribe({
    topic: 'push',
    group: PUSH_GROUP,
    startAt: 'new',
    concurrency: options.concurrency,
    handler: (message): Outcome => {
      let raw: unknown;
      try {
        raw = message.json();
      } catch {
        options.onPush('unknown', 'rejected');
        return { reject: { reason: 'not JSON' } };
      }
      const parsed = PushMessage.safeParse(raw);
      if (!parsed.success) {
        options.onPush('unknown', 'rejected');
        options.logger.error(
          { subject: message.subject, issue: parsed.error.message },
          'push outside its contract',
        );
        return { reject: { reason: 'push outside its contract' } };
      }
      const push = parsed.data;
      if (subjects.push(push.target) !== message.subject) {
        options.onPush(push.target.kind, 'rejected');
        return { reject: { reason: `subject ${message.subject} does not match the target` } };
      }
      if (!options.canBroadcast()) {
        options.onPush(push.target.kind, 'retried');
        return 'retry';
      }
      options.broadcast(push.target, push.event as `push:${string}`, push.data);
      options.onPush(push.target.kind, 'sent');
      return 'ack';
    },
  });
}
