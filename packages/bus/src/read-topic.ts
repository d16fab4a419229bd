import type { BusMessage, EventBus } from './types.ts';

/**
 * Every message of `topic` still retained by the broker, from its first position, in order, read
 * `pageSize` at a time: for rebuilding state from the bus at start.
 */
export async function* readTopic(
  bus: Pick<EventBus, 'read'>,
  options: { topic: string; pageSize: number; from?: number },
): AsyncGenerator<BusMessage> {
  let from = options.from ?? 1;
  for (;;) {
    const page = await bus.read({ topic: options.topic, from, limit: options.pageSize });
    if (page.length === 0) return;
    yield* page;
    from = page[page.length - 1]!.position + 1;
  }
}
