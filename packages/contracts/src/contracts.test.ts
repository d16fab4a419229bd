import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type ClientToServerEvents,
  ContractError,
  CreateWebsiteBody,
  clientEventSchemas,
  decodeNodesTopicEvent,
  decodeWebsiteEvent,
  ERROR_CODES,
  HTTP_STATUS_OF,
  isClusterEvent,
  ListNodesQuery,
  ListWebsitesQuery,
  NODES_PAGE_SIZE_MAX,
  NodeEvent,
  type NodesDeltaUpdate,
  type NodesUpdate,
  type NodesUpdateMessage,
  PushMessage,
  parse,
  type ServerToClientEvents,
  safeParse,
  sequenceStep,
  subjects,
  TidelineError,
  UpdateWebsiteBody,
  WEBSITES_PAGE_SIZE_MAX,
  WebsiteEvent,
  WebsitePath,
  type WebsitesInitial,
  type WebsitesUpdate,
} from './index.ts';

const item = {
  website_id: 1,
  primary_domain: 'www.example.com',
  domains: ['www.example.com', 'example.com'],
  cname: 'edge.cdn.example.net',
  line_group: { id: 2, name: 'default' },
  https_enabled: true,
  status: 'active',
  updated_at: '2026-11-22T06:00:00.000Z',
};

function fieldsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ContractError) return error.fields.map((f) => f.path);
    throw error;
  }
  return [];
}

describe('contracts', () => {
  it('website event - a valid add event parses; a bad one names each offending field', () => {
    const event = {
      eventId: 5,
      topic: 'websites',
      type: 'add',
      occurredAt: '2026-11-22T06:00:00Z',
      schemaVersion: 1,
      data: item,
    };
    expect(parse(WebsiteEvent, event)).toEqual(event);
    expect(
      fieldsOf(() =>
        parse(WebsiteEvent, {
          ...event,
          eventId: 0,
          data: { ...item, status: 'gone', primary_domain: 'not a domain' },
        }),
      ).sort(),
    ).toEqual(['data.primary_domain', 'data.status', 'eventId'].sort());
    expect(
      fieldsOf(() => parse(WebsiteEvent, { ...event, type: 'delete', data: { website_id: 'x' } })),
    ).toEqual(['data.website_id']);
    expect(fieldsOf(() => parse(WebsiteEvent, { ...event, extra: 1 }))).toEqual(['']);
  });

  it('error message - names the thing and every field', () => {
    const result = safeParse(CreateWebsiteBody, { domains: [], line_group_id: -1 }, 'create website body');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.message).toMatch(/^invalid create website body: /);
      expect(result.error.fields.map((f) => f.path).sort()).toEqual(['domains', 'line_group_id']);
    }
  });

  it('error message - a parameter that is not a number, or given more than once, says so instead of "received NaN"', () => {
    const path = safeParse(WebsitePath, { id: 'create' }, 'path');
    expect(!path.ok && path.error.fields).toEqual([
      { path: 'id', message: 'expected a number, got "create"' },
    ]);
    expect(!path.ok && path.error.message).toBe('invalid path: id: expected a number, got "create"');
    const query = safeParse(ListWebsitesQuery, { page: ['1', '2'], page_size: 'ten' }, 'query');
    expect(!query.ok && query.error.fields).toEqual([
      { path: 'page', message: 'given more than once' },
      { path: 'page_size', message: 'expected a number, got "ten"' },
    ]);
    const long = safeParse(WebsitePath, { id: 'x'.repeat(10_000) }, 'path');
    expect(!long.ok && long.error.fields[0]!.message.length).toBeLessThan(100);
    // A body sends no text for a number: zod's own message stands.
    const body = safeParse(UpdateWebsiteBody, { website_id: [1, 2] }, 'body');
    expect(!body.ok && body.error.fields[0]!.message).toMatch(/expected number, received array/);
  });

  it('page size - a list refuses a page_size over its maximum and accepts one at it', () => {
    for (const [schema, max] of [
      [ListWebsitesQuery, WEBSITES_PAGE_SIZE_MAX],
      [ListNodesQuery, NODES_PAGE_SIZE_MAX],
    ] as const) {
      expect(safeParse(schema, { page_size: String(max) }).ok).toBe(true);
      for (const over of [max + 1, Number.MAX_SAFE_INTEGER]) {
        const result = safeParse(schema, { page_size: String(over) });
        expect(!result.ok && result.error.fields.map((f) => f.path)).toEqual(['page_size']);
      }
    }
  });

  it('http body - domains are normalised, duplicates refused, defaults applied', () => {
    expect(parse(CreateWebsiteBody, { domains: [' WWW.Example.COM '], line_group_id: 1 })).toEqual({
      domains: ['www.example.com'],
      line_group_id: 1,
      https_enabled: false,
      status: 'active',
    });
    expect(
      fieldsOf(() => parse(CreateWebsiteBody, { domains: ['a.com', 'A.com'], line_group_id: 1 })),
    ).toEqual(['domains']);
    expect(fieldsOf(() => parse(CreateWebsiteBody, { domains: ['-bad-.com'], line_group_id: 1 }))).toEqual([
      'domains.0',
    ]);
  });

  it('node event - the changed list only names known fields; the cluster must be a DNS label', () => {
    const view = {
      name: 'n1',
      uid: 'u',
      static: {
        capacity: {},
        allocatable: {},
        architecture: 'amd64',
        operatingSystem: 'linux',
        osImage: '',
        kernelVersion: '',
        kubeletVersion: '',
        containerRuntimeVersion: '',
      },
      dynamic: { labels: {}, taints: [], unschedulable: false, conditions: [], addresses: [] },
    };
    const event = {
      eventId: 1,
      topic: 'nodes',
      type: 'updated',
      occurredAt: '2026-11-22T06:00:00Z',
      schemaVersion: 1,
      data: { cluster: 'prod-1', name: 'n1', node: view, changed: ['unschedulable'] },
    };
    expect(parse(NodeEvent, event).data.changed).toEqual(['unschedulable']);
    expect(
      fieldsOf(() =>
        parse(NodeEvent, { ...event, data: { ...event.data, cluster: 'Prod_1', changed: ['heartbeat'] } }),
      ).sort(),
    ).toEqual(['data.changed.0', 'data.cluster']);
  });

  it('socket payloads - every client event has a strict schema', () => {
    expect(Object.keys(clientEventSchemas).sort()).toEqual([
      'auth:refresh',
      'request:websites',
      'subscribe:nodes',
      'unsubscribe:nodes',
    ]);
    expect(safeParse(clientEventSchemas['request:websites'], {}).ok).toBe(true);
    expect(safeParse(clientEventSchemas['request:websites'], { lastEventId: -1 }).ok).toBe(false);
    expect(safeParse(clientEventSchemas['subscribe:nodes'], { cluster: 'a', extra: true }).ok).toBe(false);
    expect(safeParse(clientEventSchemas['auth:refresh'], { token: '' }).ok).toBe(false);
  });

  it('push - only push:* event names, and targets safe for subjects', () => {
    const base = {
      id: '1',
      target: { kind: 'user', uid: 'u1' },
      event: 'push:notice',
      data: { x: 1 },
      occurredAt: '2026-11-22T06:00:00Z',
    };
    expect(parse(PushMessage, base).target).toEqual({ kind: 'user', uid: 'u1' });
    expect(fieldsOf(() => parse(PushMessage, { ...base, event: 'websites:update' }))).toEqual(['event']);
    expect(fieldsOf(() => parse(PushMessage, { ...base, target: { kind: 'user', uid: 'a.>' } }))).toEqual([
      'target.uid',
    ]);
    expect(subjects.push({ kind: 'room', room: 'ops' })).toBe('push.room.ops');
  });

  it('sequence - an id at or below the last is a duplicate, last+1 applies, beyond is a gap', () => {
    expect(sequenceStep(0, 1)).toBe('applied');
    expect(sequenceStep(4, 5)).toBe('applied');
    expect(sequenceStep(5, 5)).toBe('duplicate');
    expect(sequenceStep(5, 2)).toBe('duplicate');
    expect(sequenceStep(5, 7)).toBe('gap');
  });

  it('decode - the nodes topic decoder accepts node and cluster events and refuses anything else with the offending fields', () => {
    const cluster = {
      eventId: 3,
      topic: 'nodes',
      type: 'cluster-removed',
      occurredAt: '2026-11-22T06:00:00Z',
      schemaVersion: 1,
      data: { cluster: 'prod' },
    };
    const decoded = decodeNodesTopicEvent(new TextEncoder().encode(JSON.stringify(cluster)));
    expect(decoded.ok && isClusterEvent(decoded.value)).toBe(true);
    const notJson = decodeNodesTopicEvent('{nope');
    expect(notJson.ok).toBe(false);
    expect(!notJson.ok && notJson.error.message).toMatch(/not JSON/);
    const wrongType = decodeNodesTopicEvent(JSON.stringify({ ...cluster, type: 'cluster-renamed' }));
    expect(wrongType.ok).toBe(false);
    expect(!wrongType.ok && wrongType.error).toBeInstanceOf(TidelineError);
    const website = decodeWebsiteEvent(JSON.stringify({ ...cluster, topic: 'websites' }));
    expect(website.ok).toBe(false);
  });

  it('error codes - each has a meaning and an HTTP status', () => {
    for (const code of Object.keys(ERROR_CODES) as (keyof typeof ERROR_CODES)[]) {
      expect(ERROR_CODES[code].length).toBeGreaterThan(10);
      expect(HTTP_STATUS_OF[code]).toBeGreaterThanOrEqual(400);
    }
  });

  it('types - socket event maps carry the schema types', () => {
    expectTypeOf<Parameters<ServerToClientEvents['websites:initial']>[0]>().toEqualTypeOf<WebsitesInitial>();
    expectTypeOf<Parameters<ServerToClientEvents['websites:update']>[0]>().toEqualTypeOf<WebsitesUpdate>();
    expectTypeOf<Parameters<ClientToServerEvents['subscribe:nodes']>[0]>().toEqualTypeOf<{
      cluster: string;
      lastEventId?: number | undefined;
      delta?: boolean | undefined;
    }>();
    expectTypeOf<Parameters<ServerToClientEvents['nodes:update']>[0]>().toEqualTypeOf<NodesUpdate>();
    expectTypeOf<Parameters<ServerToClientEvents<NodesUpdateMessage>['nodes:update']>[0]>().toEqualTypeOf<
      NodesUpdate | NodesDeltaUpdate
    >();
    expectTypeOf<WebsitesUpdate['type']>().toEqualTypeOf<'add' | 'update' | 'delete'>();
  });
});
