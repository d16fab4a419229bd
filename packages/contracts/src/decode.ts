import { z } from 'zod';
import { ClusterEvent, NodeEvent } from './nodes.ts';
import { ContractError, type ParseResult, safeParse } from './validation.ts';
import { WebsiteEvent } from './websites.ts';

/** Every message of the nodes topic: node changes and the cluster lifecycle, in one id sequence per cluster. */
export type NodesTopicEvent = NodeEvent | ClusterEvent;
export const NodesTopicEvent = z.union([NodeEvent, ClusterEvent]);

/** True for `cluster-registered` / `cluster-removed`: events that take an id but carry no node. */
export function isClusterEvent(event: NodesTopicEvent): event is ClusterEvent {
  return event.type === 'cluster-registered' || event.type === 'cluster-removed';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeWith<S extends z.ZodType>(
  schema: S,
  body: Uint8Array | string,
  what: string,
): ParseResult<z.output<S>> {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof body === 'string' ? body : utf8.decode(body));
  } catch (error) {
    return {
      ok: false,
      error: new ContractError(what, [{ path: '', message: `not JSON: ${(error as Error).message}` }]),
    };
  }
  return safeParse(schema, raw, what);
}

/**
 * Decodes one message body of the nodes topic against its contract. The only reader of that
 * topic's bytes: the informer's recovery, the cache and the gateways all decode through it, so a
 * message is valid for one exactly when it is valid for all.
 */
export function decodeNodesTopicEvent(body: Uint8Array | string): ParseResult<NodesTopicEvent> {
  return decodeWith(NodesTopicEvent, body, 'nodes topic event');
}

/** Decodes one message body of the websites topic against its contract. */
export function decodeWebsiteEvent(body: Uint8Array | string): ParseResult<WebsiteEvent> {
  return decodeWith(WebsiteEvent, body, 'websites topic event');
}
