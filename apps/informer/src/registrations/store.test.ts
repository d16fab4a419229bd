import { describe, expect, it } from 'vitest';
import { InMemoryRegistrationStore } from './store.ts';

describe('InMemoryRegistrationStore', () => {
  it('store - put replaces by name, remove forgets, list is sorted and hands out copies', async () => {
    const store = new InMemoryRegistrationStore();
    await store.put({ name: 'beta', kubeconfig: 'b', registeredAt: '2026-01-01T00:00:00.000Z' });
    await store.put({ name: 'alpha', kubeconfig: 'a1', registeredAt: '2026-01-01T00:00:00.000Z' });
    await store.put({
      name: 'alpha',
      kubeconfig: 'a2',
      context: 'ctx',
      registeredAt: '2026-01-02T00:00:00.000Z',
    });
    const listed = await store.list();
    expect(listed).toEqual([
      { name: 'alpha', kubeconfig: 'a2', context: 'ctx', registeredAt: '2026-01-02T00:00:00.000Z' },
      { name: 'beta', kubeconfig: 'b', registeredAt: '2026-01-01T00:00:00.000Z' },
    ]);
    listed[0]!.kubeconfig = 'changed by a caller';
    expect((await store.list())[0]!.kubeconfig).toBe('a2');
    await store.remove('alpha');
    await store.remove('never-there');
    expect((await store.list()).map((r) => r.name)).toEqual(['beta']);
  });
});
