import { describe, expect, it } from 'vitest';
import { LiveCollection } from './collection.ts';
import { Replica } from './replica.ts';
import { expiryOf } from './token.ts';

interface Item {
  id: number;
  v: string;
}

const replica = () =>
  new Replica<Item>({
    keyOf: (i) => String(i.id),
    keyOfDeleted: (d) => String(d['id']),
    deleteTypes: ['delete'],
  });

describe('Replica', () => {
  it('snapshot then updates - applies adds, updates and deletes in order', () => {
    const r = replica();
    expect(r.applySnapshot({ items: [{ id: 1, v: 'a' }], lastEventId: 10, version: 'e1' })).toEqual({
      kind: 'reset',
      eventId: 10,
    });
    expect(r.apply({ eventId: 11, type: 'add', data: { id: 2, v: 'b' } }).result).toBe('applied');
    expect(r.apply({ eventId: 12, type: 'update', data: { id: 1, v: 'a2' } }).change).toEqual({
      kind: 'upsert',
      key: '1',
      item: { id: 1, v: 'a2' },
      eventId: 12,
      changed: ['v'],
    });
    expect(r.apply({ eventId: 13, type: 'delete', data: { id: 2 } }).change).toEqual({
      kind: 'delete',
      key: '2',
      eventId: 13,
    });
    expect(r.list()).toEqual([{ id: 1, v: 'a2' }]);
    expect(r.position).toEqual({ eventId: 13, epoch: 'e1' });
  });

  it('duplicates - an id at or below the position is ignored', () => {
    const r = replica();
    r.applySnapshot({ items: [], lastEventId: 5 });
    r.apply({ eventId: 6, type: 'add', data: { id: 1, v: 'x' } });
    expect(r.apply({ eventId: 6, type: 'add', data: { id: 1, v: 'changed' } }).result).toBe('duplicate');
    expect(r.apply({ eventId: 3, type: 'delete', data: { id: 1 } }).result).toBe('duplicate');
    expect(r.get('1')).toEqual({ id: 1, v: 'x' });
    expect(r.position?.eventId).toBe(6);
  });

  it('gaps and out-of-order - an id past the next one is not applied', () => {
    const r = replica();
    r.applySnapshot({ items: [], lastEventId: 5 });
    expect(r.apply({ eventId: 8, type: 'add', data: { id: 1, v: 'x' } }).result).toBe('gap');
    expect(r.size).toBe(0);
    expect(r.position?.eventId).toBe(5);
    expect(r.apply({ eventId: 6, type: 'add', data: { id: 1, v: 'x' } }).result).toBe('applied');
    expect(r.apply({ eventId: 7, type: 'add', data: { id: 2, v: 'y' } }).result).toBe('applied');
    expect(r.apply({ eventId: 8, type: 'add', data: { id: 3, v: 'z' } }).result).toBe('applied');
    expect(r.size).toBe(3);
  });

  it('delete of an unknown id - advances the position without failing', () => {
    const r = replica();
    r.applySnapshot({ items: [{ id: 1, v: 'a' }], lastEventId: 1 });
    expect(r.apply({ eventId: 2, type: 'delete', data: { id: 99 } }).result).toBe('applied');
    expect(r.list()).toEqual([{ id: 1, v: 'a' }]);
    expect(r.position?.eventId).toBe(2);
  });

  it('before a snapshot - updates are ignored (the snapshot will include them)', () => {
    const r = replica();
    expect(r.apply({ eventId: 1, type: 'add', data: { id: 1, v: 'a' } }).result).toBe('duplicate');
    expect(r.position).toBeUndefined();
  });

  it('resync - a new snapshot replaces everything, also with lower ids of a new epoch', () => {
    const r = replica();
    r.applySnapshot({
      items: [
        { id: 1, v: 'a' },
        { id: 2, v: 'b' },
      ],
      lastEventId: 500,
      version: 'e1',
    });
    r.applySnapshot({ items: [{ id: 3, v: 'c' }], lastEventId: 4, version: 'e2' });
    expect(r.list()).toEqual([{ id: 3, v: 'c' }]);
    expect(r.position).toEqual({ eventId: 4, epoch: 'e2' });
    expect(r.apply({ eventId: 5, type: 'add', data: { id: 4, v: 'd' } }).result).toBe('applied');
  });
});

describe('LiveCollection', () => {
  function collection() {
    return new LiveCollection<Item>(
      'items',
      { keyOf: (i) => String(i.id), keyOfDeleted: (d) => String(d['id']), deleteTypes: ['delete'] },
      (position) =>
        position === undefined ? {} : { lastEventId: position.eventId, version: position.epoch },
    );
  }

  it('sync - asks for a snapshot first, then resumes from its position (lastEventId and version on the wire)', async () => {
    const c = collection();
    const requests: Record<string, unknown>[] = [];
    const transport = {
      request: async (p: Record<string, unknown>) => {
        requests.push(p);
        return { ok: true } as const;
      },
    };
    await c.sync(transport);
    expect(c.state).toBe('subscribing');
    c.onSnapshot({ items: [{ id: 1, v: 'a' }], lastEventId: 3, version: 'e' });
    expect(c.state).toBe('live');
    c.detach();
    expect(c.state).toBe('resyncing');
    await c.sync(transport);
    expect(requests).toEqual([{}, { lastEventId: 3, version: 'e' }]);
    expect(c.state).toBe('live');
  });

  it('gap - asks once for a replay from its position and applies the replayed events', async () => {
    const c = collection();
    const requests: Record<string, unknown>[] = [];
    const transport = {
      request: async (p: Record<string, unknown>) => {
        requests.push(p);
        return { ok: true } as const;
      },
    };
    await c.sync(transport);
    c.onSnapshot({ items: [], lastEventId: 1, version: 'e' });
    const changes: string[] = [];
    c.onChange((change) => changes.push(`${change.kind}:${change.eventId}`));
    c.onUpdate({ eventId: 4, type: 'add', data: { id: 4, v: 'd' } });
    c.onUpdate({ eventId: 5, type: 'add', data: { id: 5, v: 'e' } });
    expect(requests).toEqual([{}, { lastEventId: 1, version: 'e' }]);
    for (const id of [2, 3, 4, 5]) c.onUpdate({ eventId: id, type: 'add', data: { id, v: String(id) } });
    expect(changes).toEqual(['upsert:2', 'upsert:3', 'upsert:4', 'upsert:5']);
    expect(c.items().map((i) => i.id)).toEqual([2, 3, 4, 5]);
  });

  it('removed - the source going away empties the list, reports a removed change and goes idle; a later sync asks for a snapshot', async () => {
    const c = collection();
    const requests: Record<string, unknown>[] = [];
    const transport = {
      request: async (p: Record<string, unknown>) => {
        requests.push(p);
        return { ok: true } as const;
      },
    };
    await c.sync(transport);
    c.onSnapshot({ items: [{ id: 1, v: 'a' }], lastEventId: 7 });
    const changes: string[] = [];
    c.onChange((change) => changes.push(`${change.kind}:${change.eventId}`));
    c.onRemoved(8);
    c.onUpdate({ eventId: 8, type: 'add', data: { id: 2, v: 'b' } });
    expect(changes).toEqual(['removed:8']);
    expect(c.items()).toEqual([]);
    expect(c.position).toBeUndefined();
    expect(c.state).toBe('idle');
    await c.sync(transport);
    expect(requests).toEqual([{}, {}]);
  });
});

describe('expiryOf', () => {
  it('reads exp from a JWT payload, undefined for anything else', () => {
    const payload = Buffer.from(JSON.stringify({ exp: 1_900_000_000 })).toString('base64url');
    expect(expiryOf(`h.${payload}.s`)).toBe(1_900_000_000_000);
    expect(expiryOf('garbage')).toBeUndefined();
    expect(expiryOf('a.b.c')).toBeUndefined();
  });
});
