import { randomUUID } from 'node:crypto';
import { type EventBus, type Handler, RecentIds, type Subscription } from '@tideline/bus';
import { PushMessage, type PushTarget, rooms, subjects } from '@tideline/contracts';
import type { Logger } from '@tideline/runtime';

/** What became of one delivery of a push on this gateway. */
export type PushOutcome =
  /** Emitted to at least one socket of this gateway. */
  | 'sent'
  /** Valid, but no socket of its target is connected to this gateway. */
  | 'no-recipient'
  /** Its msgId was handled here already (a redelivery); nothing emitted. */
  | 'duplicate'
  /** Not JSON, outside the contract, or its subject does not match its target; dead-lettered. */
  | 'rejected';

export interface PushConsumerOptions {
  bus: EventBus;
  /** This gateway; its push group is its own, so every gateway reads every push. */
  instanceId: string;
  /** Pushes handled at once by this gateway (pushes are unordered). */
  concurrency: number;
  /** Push msgIds remembered to drop redeliveries (`TIDELINE_GATEWAY_PUSH_DEDUP_IDS`). */
  dedupIds: number;
  logger: Logger;
  /** Emits to the sockets of one room on this gateway only; answers how many it reached. */
  /** Emits `event` to the sockets of `room` on this gateway only; answers how many it reached. */
  emit: (room: string, event: `push:${string}`, data: unknown) => number;
  onPush: (target: PushTarget['kind'] | 'unknown', outcome: PushOutcome, recipients: number) => void;
}

/** The Socket.IO room of a push target: `user:<uid>` (every socket of that user) or `room:<room>`. */
function roomOfTarget(target: PushTarget): string {
  return target.kind === 'user' ? rooms.user(target.uid) : rooms.room(target.room);
}

/**
 * Handles one delivery of the push topic. A msgId already handled (one of the last `dedupIds`)
 * is acked without emitting. Synchronous from the check to the emit, so concurrent deliveries of
 * one msgId cannot both emit.
 */
export function pushHandler(
  options: Omit<PushConsumerOptions, 'bus' | 'instanceId' | 'concurrency'>,
): Handler {
  const handled = new RecentIds(options.dedupIds);
  return (message) => {
    let raw: unknown;
    try {
      raw = message.json();
    } catch {
      options.onPush('unknown', 'rejected', 0);
      return { reject: { reason: 'not JSON' } };
    }
    const parsed = PushMessage.safeParse(raw);
    if (!parsed.success) {
      options.onPush('unknown', 'rejected', 0);
      options.logger.error(
        { subject: message.subject, issue: parsed.error.message },
        'push outside its contract',
      );
      return { reject: { reason: 'push outside its contract' } };
    }
    const push = parsed.data;
    if (subjects.push(push.target) !== message.subject) {
      options.onPush(push.target.kind, 'rejected', 0);
      return { reject: { reason: `subject ${message.subject} does not match the target` } };
    }
    if (handled.has(message.msgId)) {
      options.onPush(push.target.kind, 'duplicate', 0);
      return 'ack';
    }
    handled.add(message.msgId);
    const recipients = options.emit(roomOfTarget(push.target), push.event as `push:${string}`, push.data);
    options.onPush(push.target.kind, recipients > 0 ? 'sent' : 'no-recipient', recipients);
    return 'ack';
  };
}

/**
 * Targeted pushes from backend services (`push.user.<uid>`, `push.room.<room>`) to the sockets of
 * THIS gateway.
 *
 * Design: every gateway reads every push through a group of its own (ephemeral, new on each
 * start, from "new") and emits it only to its local sockets. No push travels between gateways (no
 * shared queue group, no Redis adapter), so a broker redelivery or a group rebalance cannot make a
 * second gateway emit a push the first one already emitted to every socket. Within this gateway a
 * push is emitted at most once per msgId: the last `dedupIds` msgIds handled are remembered, and a
 * redelivery of one of them is acked without emitting.
 *
 * Guarantee: a push reaches exactly once each socket of its target that is connected to a gateway
 * from the push's publication until that gateway emitted it (the broker delivers at least once to
 * the gateway's group; the dedup makes the emit at most once). Pushes are unordered and live only,
 * never replayed: a socket moving between gateways (disconnected from one, not yet joined on the
 * next), or on a gateway whose subscription is restarting, misses the pushes published meanwhile;
 * it never receives one twice. A gateway restarted under the same instance id starts a new group,
 * so it does not emit what its predecessor read.
 *
 * Not routed by presence: the uid→pod links of packages/stateful (`PodPresence`) hold ONE pod per
 * uid (sticky routing for a load balancer), while a user's sockets may sit on several gateways, and
 * a link is written after the socket joined its room. Addressing only the linked pod would drop the
 * user's sockets elsewhere and those whose link is not yet visible, and would put Redis back on the
 * push path. Skipping the decode for uids without a local socket would not lower the broker
 * traffic, so every gateway simply handles every push.
 *
 * A push that is not JSON, breaks its contract, or whose subject does not match its target is
 * dead-lettered.
 */
export function consumePushes(options: PushConsumerOptions): Promise<Subscription> {
  return options.bus.subscribe({
    topic: 'push',
    // New on each start: a restarted gateway (also under the same instance id) never resumes an
    // earlier group's position, so it cannot re-emit a push its earlier subscription handled.
    group: `gateway-${options.instanceId}-push-${randomUUID().slice(0, 8)}`,
    ephemeral: true,
    startAt: 'new',
    concurrency: options.concurrency,
    handler: pushHandler(options),
  });
}
