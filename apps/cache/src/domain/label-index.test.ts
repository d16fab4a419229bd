import type { NodeEvent, NodeView } from '@tideline/contracts';
import { testNodeEvents, testNodeView } from '@tideline/test-support';
import { describe, expect, it } from 'vitest';
import { isReady, type SharedNodeValues } from './cluster-nodes.ts';
import { parseLabelSelector } from './label-selector.ts';
import { NodeReadModel } from './read-model.ts';

/** A small deterministic PRNG (mulberry32), so a failure names a seed that reproduces it. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const some = <T>(items: readonly T[], max: number): T[] => [
    ...new Set(Array.from({ length: 1 + int(max) }, () => pick(items))),
  ];
  return { next, int, pick, some };
}

const KEYS = ['team', 'zone', 'tier', 'example.com/pool', 'x'];
const VALUES = ['a', 'b', 'c', ''];
const NAMES = Array.from({ length: 60 }, (_, i) => `n${String(i).padStart(3, '0')}`);

function randomLabels(r: ReturnType<typeof random>): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const key of KEYS) if (r.next() < 0.5) labels[key] = r.pick(VALUES);
  return labels;
}

function randomNode(r: ReturnType<typeof random>, name: string): NodeView {
  const view = testNodeView(name, {
    labels: randomLabels(r),
    ready: r.next() < 0.7,
    unschedulable: r.next() < 0.3,
    cpu: r.pick(['4', '8', '16']),
  });
  return {
    ...view,
    dynamic: {
      ...view.dynamic,
      taints: r.next() < 0.3 ? [{ key: 'dedicated', value: r.pick(VALUES), effect: 'NoSchedule' }] : [],
      addresses: [
        { type: 'Hostname', address: name },
        { type: 'InternalIP', address: `10.0.0.${r.int(250)}` },
      ],
    },
  };
}

function randomRequirement(r: ReturnType<typeof random>): string {
  const key = r.pick(KEYS);
  const values = () => r.some(VALUES, 3).join(', ');
  switch (r.int(6)) {
    case 0:
      return key;
    case 1:
      return `!${key}`;
    case 2:
      return `${key}=${r.pick(VALUES)}`;
    case 3:
      return `${key}!=${r.pick(VALUES)}`;
    case 4:
      return `${key} in (${values()})`;
    default:
      return `${key} notin (${values()})`;
  }
}

function randomSelector(r: ReturnType<typeof random>): string {
  return Array.from({ length: r.int(4) }, () => randomRequirement(r)).join(',');
}

const maybe = (r: ReturnType<typeof random>) => (r.next() < 0.4 ? r.next() < 0.5 : undefined);

describe('label index', () => {
  it('equivalence - indexed answers equal a scan of every node, over random selectors and random changes', () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const r = random(seed);
      const model = new NodeReadModel(50);
      const events = testNodeEvents('c');
      const held = new Map<string, NodeView>();
      let id = 1;
      model.apply(events.registered(id++));
      for (let step = 0; step < 400; step++) {
        const name = r.pick(NAMES);
        const before = held.get(name);
        const roll = r.next();
        if (before && roll < 0.15) {
          model.apply(events.deleted(id++, before));
          held.delete(name);
        } else if (before && roll < 0.75) {
          const after = randomNode(r, name);
          model.apply(events.updated(id++, after, ['labels', 'conditions', 'unschedulable', 'capacity']));
          held.set(name, after);
        } else if (!before) {
          const fresh = randomNode(r, name);
          model.apply(events.added(id++, fresh));
          held.set(name, fresh);
        }
        if (step % 20 !== 19) continue;
        for (let q = 0; q < 25; q++) {
          const text = randomSelector(r);
          const filter = { selector: parseLabelSelector(text), ready: maybe(r), schedulable: maybe(r) };
          const offset = r.pick([0, 0, 1, 5, 20]);
          const limit = r.pick([1, 3, 10, 100]);
          const expected = [...held.values()]
            .filter(
              (n) =>
                (filter.ready === undefined || isReady(n.dynamic.conditions) === filter.ready) &&
                (filter.schedulable === undefined || n.dynamic.unschedulable !== filter.schedulable) &&
                filter.selector(n.dynamic.labels),
            )
            .sort((a, b) => (a.name < b.name ? -1 : 1));
          const page = model.list('c', filter, offset, limit);
          const context = `seed ${seed} step ${step} selector "${text}" ready ${filter.ready} schedulable ${filter.schedulable} page ${offset}+${limit}`;
          expect(page.total, context).toBe(expected.length);
          expect(page.items, context).toEqual(expected.slice(offset, offset + limit));
          expect(page.lastEventId, context).toBe(id - 1);
        }
      }
    }
  });

  it('equivalence - a hand-written predicate is answered like the parsed selector it mirrors', () => {
    const r = random(7);
    const model = new NodeReadModel(10);
    const events = testNodeEvents('c');
    model.apply(events.registered(1));
    for (const [i, name] of NAMES.entries()) model.apply(events.added(i + 2, randomNode(r, name)));
    for (let q = 0; q < 50; q++) {
      const parsed = parseLabelSelector(randomSelector(r));
      const plain = (labels: Readonly<Record<string, string>>) => parsed(labels);
      expect(model.list('c', { selector: plain }, 2, 7)).toEqual(model.list('c', { selector: parsed }, 2, 7));
    }
  });

  it('shared values - held once while in use, forgotten with their last node', () => {
    const r = random(8);
    const model = new NodeReadModel(10);
    const events = testNodeEvents('c');
    model.apply(events.registered(1));
    const views = NAMES.map((name) => randomNode(r, name));
    for (const [i, view] of views.entries()) model.apply(events.added(i + 2, view));
    const shared = (model as unknown as { shared: SharedNodeValues }).shared;
    // Three CPU sizes, readiness either way: at most three static records, two condition lists.
    expect(shared.statics.size).toBeLessThanOrEqual(3);
    expect(shared.conditions.size).toBeLessThanOrEqual(2);
    const one = model.list('c', {}, 0, NAMES.length).items;
    expect(one).toEqual(views);
    let id = NAMES.length + 2;
    for (const view of views.slice(1)) model.apply(events.deleted(id++, view));
    expect(shared.statics.size).toBe(1);
    model.apply(events.removed(id++));
    expect([shared.statics.size, shared.conditions.size, shared.taints.size, shared.words.size]).toEqual([
      0, 0, 0, 0,
    ]);
  });

  it('replay - replayed events equal the published ones, also after labels, statics and deletions changed', () => {
    const r = random(9);
    const model = new NodeReadModel(1_000);
    const events = testNodeEvents('c');
    model.apply(events.registered(1));
    const published: NodeEvent[] = [];
    const held = new Map<string, NodeView>();
    for (let id = 2; id < 300; id++) {
      const name = r.pick(NAMES.slice(0, 10));
      const before = held.get(name);
      let event: NodeEvent;
      if (!before) event = events.added(id, randomNode(r, name));
      else if (r.next() < 0.2) event = events.deleted(id, before);
      else {
        // Only dynamic fields named: the cache keeps its static record, the replay the event's.
        const after = randomNode(r, name);
        event = events.updated(id, after, r.next() < 0.5 ? ['labels'] : ['labels', 'capacity']);
      }
      if (event.type === 'deleted') held.delete(name);
      else held.set(name, event.data.node);
      published.push(structuredClone(event));
      model.apply(event);
    }
    expect(model.replay('c', 1, 1_000)).toEqual({ kind: 'events', events: published });
  });
});
