import type { Principal } from '@tideline/auth';

/**
 * The scope sets of the principals sockets hold, shared: sockets whose tokens carry the same
 * scopes (most users hold one of a few scope sets) reference one set instead of each keeping its
 * own copy of the set and its strings. A pooled set is referenced weakly, so the pool holds no
 * more sets than the live principals do, whatever scopes tokens carry.
 */
export class ScopePool {
  private readonly sets = new Map<string, WeakRef<ReadonlySet<string>>>();
  private readonly collected = new FinalizationRegistry<string>((key) => {
    if (this.sets.get(key)?.deref() === undefined) this.sets.delete(key);
  });

  /** Distinct scope sets in the pool (including ones collected but not yet cleared). */
  get size(): number {
    return this.sets.size;
  }

  /** `principal`, holding the pool's set of its scopes (the same scopes, as a set shared by every holder). */
  share(principal: Principal): Principal {
    // JSON: no scope string can make two different sets one key.
    const key = JSON.stringify([...principal.scopes].sort());
    const pooled = this.sets.get(key)?.deref();
    if (pooled) return { ...principal, scopes: pooled };
    this.sets.set(key, new WeakRef(principal.scopes));
    this.collected.register(principal.scopes, key);
    return principal;
  }
}
