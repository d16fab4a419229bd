import type { Logger } from '@tideline/runtime';
import type { ClusterLeases } from '@tideline/stateful';
import type { ClusterRegistry, RegistrySharding } from '../cluster-registry.ts';
import { ownerOf } from './rendezvous.ts';

export interface ShardCoordinatorOptions {
  leases: ClusterLeases;
  /** This replica's member id (ServiceContext.instanceId). */
  me: string;
  leaseTtlMs: number;
  renewIntervalMs: number;
  recoveryPageSize: number;
  /** The registration store is shared (Redis): the desired clusters include every stored registration. */
  sharedRegistrations: boolean;
  logger: Logger;
}

/**
 * Shares the known clusters among the live informer replicas. Every renew interval it:
 * 1. renews this replica's membership and lists the live members (a member that stopped renewing
 *    drops out after the lease TTL);
 * 2. renews the leases of the clusters it runs; a lease it lost (expired and taken, or taken after
 *    a pause) stops that cluster at once;
 * 3. for every known cluster (configured, or a registration in the shared store), computes the owner by rendezvous hashing over the live members: a
 *    cluster it should own and does not run is taken when its lease can be acquired (the former
 *    owner released it or it expired); a cluster it runs but no longer owns (a member joined) is
 *    handed over: the watch stops, what was observed is published, the lease is released.
 * A replica therefore takes over a dead replica's clusters within lease TTL + one renew interval.
 */
export class ShardCoordinator implements RegistrySharding {
  private registry: ClusterRegistry | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private leaseView = new Map<string, { owner: string; deadlineMs: number }>();
  private membersSeen: string[] = [];
  private readonly activations = new Set<Promise<unknown>>();

  constructor(private readonly options: ShardCoordinatorOptions) {}

  get me(): string {
    return this.options.me;
  }

  get recoveryPageSize(): number {
    return this.options.recoveryPageSize;
  }

  get sharedRegistrations(): boolean {
    return this.options.sharedRegistrations;
  }

  /** Starts the loop; the first round runs at once (the returned promise waits for it). */
  async start(registry: ClusterRegistry): Promise<void> {
    this.registry = registry;
    await this.tick();
    this.schedule();
  }

  changed(): void {
    if (!this.registry || this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    void this.tick();
  }

  view(): ReadonlyMap<string, { owner: string; deadlineMs: number }> {
    return this.leaseView;
  }

  async check(cluster: string, token: number): Promise<boolean> {
    return this.options.leases.check(cluster, this.options.me, token).catch(() => false);
  }

  async release(cluster: string, token: number): Promise<void> {
    await this.options.leases.release(cluster, this.options.me, token);
  }

  /**
   * Leaves: stops the loop, leaves the membership (the others re-hash at their next round), hands
   * every cluster it runs over (publishing what it observed) and releases the leases.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    await Promise.allSettled([...this.activations]);
    const { leases, me, logger } = this.options;
    await leases
      .leave(me)
      .catch((error: unknown) => logger.warn({ err: error }, 'leaving the members failed'));
    const registry = this.registry;
    if (!registry) return;
    await Promise.all(
      registry.heldLeases().map(async ({ cluster }) => {
        const token = await registry.deactivate(cluster, 'moved');
        if (token !== undefined) await this.release(cluster, token).catch(() => undefined);
      }),
    );
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.finally(() => this.activations.delete(tracked));
    this.activations.add(tracked);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tick().finally(() => this.schedule());
    }, this.options.renewIntervalMs);
  }

  private tick(): Promise<void> {
    this.ticking ??= (async () => {
      try {
        do {
          this.again = false;
          await this.round();
        } while (this.again && !this.stopped);
      } catch (error) {
        this.options.logger.warn(
          { err: error },
          'sharding round failed; retrying at the next renew interval',
        );
      } finally {
        this.ticking = undefined;
      }
    })();
    return this.ticking;
  }

  private async round(): Promise<void> {
    const registry = this.registry!;
    const { leases, me, leaseTtlMs: ttl, logger } = this.options;
    const { members } = await leases.beat(me, ttl);
    if (!members.includes(me)) members.push(me);
    if (members.join(',') !== this.membersSeen.join(','))
      logger.info({ members }, 'informer members changed');
    this.membersSeen = members;

    // Renew first: a lease found lost stops its cluster before anything else happens.
    const held = registry.heldLeases();
    const sentAt = performance.now();
    const { deadlines } = await leases.renew(me, ttl, held);
    for (const { cluster, token } of held) {
      const deadline = deadlines.get(cluster);
      if (deadline === undefined) {
        logger.warn({ cluster, token }, 'cluster lease lost');
        await registry.deactivate(cluster, 'lost');
      } else registry.renewed(cluster, token, deadline, sentAt + ttl);
    }
    if (this.stopped) return;

    // The desired clusters: configured ones plus stored registrations (from any replica).
    if (this.options.sharedRegistrations) await registry.syncRegistrations();
    for (const { name, pinned } of registry.known()) {
      const mine = pinned || ownerOf(name, members) === me;
      const active = registry.isActive(name);
      if (mine && !active) {
        const before = performance.now();
        const result = await leases.acquire(name, me, ttl);
        if (!result.ok) continue;
        // Not awaited: the recovery read of a hand-over must not hold up the renewals of this
        // replica's membership and leases (the registry marks the cluster active at once).
        this.track(
          registry
            .activate(name, { token: result.token, deadlineMs: result.deadlineMs, validUntil: before + ttl })
            .then(async (activated) => {
              if (!activated) await this.release(name, result.token);
            })
            .catch((error: unknown) => {
              logger.warn({ cluster: name, err: error }, 'taking a cluster over failed; releasing its lease');
              return this.release(name, result.token).catch(() => undefined);
            }),
        );
      } else if (!mine && active) {
        logger.info({ cluster: name, to: ownerOf(name, members) }, 'handing a cluster over');
        const token = await registry.deactivate(name, 'moved');
        if (token !== undefined) await this.release(name, token);
      }
      if (this.stopped) return;
    }
    const view = new Map<string, { owner: string; deadlineMs: number }>();
    for (const lease of await leases.leases()) view.set(lease.cluster, lease);
    this.leaseView = view;
  }
}
