import type { Principal } from '@tideline/auth';
import { describe, expect, it } from 'vitest';
import { ScopePool } from './scope-pool.ts';

const principal = (uid: string, scopes: string[]): Principal => ({
  uid,
  scopes: new Set(scopes),
  expiresAtMs: 1_000,
});

describe('ScopePool', () => {
  it('principals with the same scopes, in any order, share one set; everything else is theirs', () => {
    const pool = new ScopePool();
    const alice = pool.share(principal('alice', ['websites:read', 'nodes:read']));
    const bob = pool.share({ ...principal('bob', ['nodes:read', 'websites:read']), expiresAtMs: 2_000 });
    expect(bob.scopes).toBe(alice.scopes);
    expect(bob).toEqual({ uid: 'bob', scopes: new Set(['nodes:read', 'websites:read']), expiresAtMs: 2_000 });
    expect(alice.uid).toBe('alice');
    expect(pool.size).toBe(1);
  });

  it('different scope sets stay apart, also when their strings would join alike', () => {
    const pool = new ScopePool();
    const a = pool.share(principal('a', ['websites:read']));
    const b = pool.share(principal('b', ['websites:read', 'nodes:read']));
    const c = pool.share(principal('c', ['x y']));
    const d = pool.share(principal('d', ['x', 'y']));
    const none = pool.share(principal('e', []));
    expect(new Set([a.scopes, b.scopes, c.scopes, d.scopes, none.scopes]).size).toBe(5);
    expect([...c.scopes]).toEqual(['x y']);
    expect([...d.scopes].sort()).toEqual(['x', 'y']);
    expect(pool.size).toBe(5);
  });
});
