/**
 * The key layout. Every key carries a hash tag (`{…}`): all links of one uid live together, as do
 * all pods of one service and the workload states of one namespace, so each script but one touches
 * a single Redis Cluster slot. The exception is `link_compute` (computeLinkedPodIfAbsent), which
 * picks among a service's pods and links one uid or a batch of them in one atomic step. Ids are validated to contain neither `{`, `}` nor `|`.
 *
 * | key | type | fields → value |
 * |---|---|---|
 * | `tl:{<ns>:svc:<service>}:pods` | hash | podId → `state|deadlineMs` |
 * | `tl:{<ns>}:workloads` | hash | service → state |
 * | `tl:{<ns>:uid:<uid>}:links` | hash | service → `podId|persistMs|deadlineMs` or `podId|persistMs|leaseMs|deadlineMs` |
 * | `tl:{<ns>:uid:<uid>}:conns` | hash | connectionId → `podId|deadlineMs` |
 *
 * `deadlineMs` is 0 for entries without expiry, else a Unix time in milliseconds of the Redis clock.
 * A link with `leaseMs` > 0 is live until its deadline, which its pod's heartbeat keeps pushing
 * out; connection entries are always leased. The links and connections of a uid share a slot.
 */
export const keys = {
  servicePods: (ns: string, service: string) => `tl:{${ns}:svc:${service}}:pods`,
  workloads: (ns: string) => `tl:{${ns}}:workloads`,
  links: (ns: string, uid: string) => `tl:{${ns}:uid:${uid}}:links`,
  connections: (ns: string, uid: string) => `tl:{${ns}:uid:${uid}}:conns`,
};
