import { randomUUID } from 'node:crypto';
import type { EventBus, Handler, Subscription } from '@tideline/bus';
import { PushMessage, type PushTarget, rooms, subjects } from '@tideline/contracts';
import type { Logger } from '@tideline/runtime';
import type { LocalRoomEmit } from '../push/local-rooms.ts';
import { RecentIds } from '../push/recent-ids.ts';

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
  podId: string;
  /** Pushes handled at once by this gateway (pushes are unordered). */
  concurrency: number;
  /** Push msgIds remembered to drop redeliveries (`TIDELINE_GATEWAY_PUSH_DEDUP_IDS`). */
  dedupIds: number;
  logger: Logger;
  /** Emits to the sockets of one room on this gateway only; answers how many it reached. */
  emit: LocalRoomEmit;
  onPush: (target: PushTarget['kind'] | 'unknown', outcome: PushOutcome, recipients: number) => void;
}

/** The Socket.IO room of a push target: `user:<uid>` (every socket of that user) or `room:<room>`. */
export function roomOfTarget(target: PushTarget): string {
  return target.kind === 'user' ? rooms.user(target.uid) : rooms.room(target.room);
}

/**
 * Handles one delivery of the push topic. A msgId already handled (one of the last `dedupIds`)
 * is acked without emitting. Synchronous from the check to the emit, so concurrent deliveries of
 * one msgId cannot both emit.
 */
export function pushHandler(options: Omit<PushConsumerOptions, 'bus' | 'podId' | 'concurrency'>): Handler {
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
 * Design: every gateway reads every push through a group of its own (ephemeral, named per
 * subscription, from "new") and emits it only to its local sockets; no push travels between
 * gateways (no Redis adapter, no shared queue group), so a broker redelivery or a group
 * rebalance can never make a second gateway emit a push the first already emitted. Within this
 * gateway a push is emitted at most once per msgId: the last `dedupIds` handled msgIds are
 * remembered and a redelivery of one of them is acked without emitting.
 *
 * Delivery guarantee: a push reaches each socket of its target that is connected to a gateway
 * whose subscription is running when the push is published, exactly once (at most once, plus
 * at-least-once transport from the broker). Pushes are live only, never replayed: a socket that is
 * moving between gateways (disconnected from one, not yet joined on the next), or whose gateway is
 * restarting its subscription, misses the pushes published meanwhile — it never receives one
 * twice. Pushes are unordered (`concurrency`).
 *
 * Not routed by presence: uid→pod links (packages/stateful `PodPresence`) hold ONE pod per uid
 * (sticky routing for a load balancer), while a user may have sockets on several gateways, and a
 * link is written after the socket joined; addressing pods from links would drop pushes for the
 * user's other gateways and for sockets whose link is not yet visible. Every gateway reads every
 * push instead (one small message per gateway); skipping the decode for uids without a local
 * socket would not lower the broker traffic.
 *
 * A push that is not JSON, breaks its contract, or whose subject does not match its target is
 * dead-lettered.
 */
export function consumePushes(options: PushConsumerOptions): Promise<Subscription> {
  return options.bus.subscribe({
    topic: 'push',
    // New on each start: a restarted gateway (also under the same instance id) never resumes an
    // earlier group's position, so it cannot re-emit a push its earlier subscription handled.
    group: `gateway-${options.podId}-push-${randomUUID().slice(0, 8)}`,
    ephemeral: true,
    startAt: 'new',
    concurrency: options.concurrency,
    handler: pushHandler(options),
  });
}
