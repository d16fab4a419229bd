import { createHash } from 'node:crypto';

/** Weight of `member` for `cluster`: the first 64 bits of SHA-256(cluster NUL member). */
function weight(cluster: string, member: string): bigint {
  return createHash('sha256').update(`${cluster}\0${member}`).digest().readBigUInt64BE(0);
}

/**
 * Rendezvous (highest random weight) hashing: the owner of `cluster` is the member with the
 * greatest weight for it. Every replica that sees the same members picks the same owner without
 * talking to the others; when a member joins it takes only the clusters it now weighs most for
 * (about 1/N of them) and when one leaves only its clusters move, each to its runner-up.
 * Undefined when there are no members.
 */
export function ownerOf(cluster: string, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1n;
  for (const member of members) {
    const w = weight(cluster, member);
    if (w > bestWeight || (w === bestWeight && best !== undefined && member < best)) {
      best = member;
      bestWeight = w;
    }
  }
  return best;
}
