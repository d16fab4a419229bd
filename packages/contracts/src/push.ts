import { z } from 'zod';

/** A room or user id usable in subjects and Socket.IO room names. */
export const PushTargetId = z
  .string()
  .regex(/^[A-Za-z0-9_:@.-]{1,128}$/, 'must be 1-128 of A-Z a-z 0-9 _ : @ . -');

export const PushTarget = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('user'), uid: PushTargetId }),
  z.object({ kind: z.literal('room'), room: PushTargetId }),
]);
export type PushTarget = z.infer<typeof PushTarget>;

/** Client-visible socket event names a backend may push; protocol events cannot be spoofed this way. */
export const PushEventName = z
  .string()
  .regex(/^push:[a-z0-9][a-z0-9:_-]{0,62}$/, 'must start with "push:" and use a-z 0-9 : _ -');

/**
 * Backend service → gateways: deliver `data` as socket event `event` to every socket of one user
 * (on whichever gateway) or to one room. Published on the bus only; browsers cannot send it.
 */
export const PushMessage = z
  .object({
    id: z.string().min(1).max(128),
    target: PushTarget,
    event: PushEventName,
    data: z.unknown(),
    occurredAt: z.iso.datetime({ offset: true }),
  })
  .strict();
export type PushMessage = z.infer<typeof PushMessage>;
