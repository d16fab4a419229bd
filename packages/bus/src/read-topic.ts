import type { BusMessage, EventBus } from './types.ts';

/**
 * Every message of `topic` (of `subjects` only, when given) still retained by the broker, from its
 * first position, in order, read `pageSize` at a time: for rebuilding state from the bus at start.
 * A page shorter than `pageSize` is the end of the topic (the port's contract), so no read is made
 * past it (over JetStream, a filtered read past the last match waits for its fetch to expire).
 */
export async function* readTopic(
  bus: Pick<EventBus, 'read'>,
  options: { topic: string; pageSize: number; from?: number; subjects?: string[] },
): AsyncGenerator<BusMessage> {
  let from = options.from ?? 1;
  for (;;) {
    const page = await bus.read({
      topic: options.topic,
      from,
      limit: options.pageSize,
      ...(options.subjects ? { subjects: options.subjects } : {}),
    });
    yield* page;
    if (page.length < options.pageSize) return;
    from = page[page.length - 1]!.position + 1;
  }
}
