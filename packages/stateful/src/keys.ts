/**
 * The key layout. Every key carries a hash tag (`{…}`) so that each script touches a single
 * Redis Cluster slot: all links of one uid live together, as do all pods of one service and the
 * workload states of one namespace. Ids are validated to contain neither `{`, `}` nor `|`.
 *
 * | key | type | fields → value |
 * |---|---|---|
 * | `tl:{<ns>:svc:<service>}:pods` | hash | podId → `state|deadlineMs` |
 * | `tl:{<ns>}:workloads` | hash | service → state |
 * | `tl:{<ns>:uid:<uid>}:links` | hash | service → `podId|persistMs|deadlineMs` |
 *
 * `deadlineMs` is 0 for entries without expiry, else a Unix time in milliseconds of the Redis clock.
 */
export const keys = {
  servicePods: (ns: string, service: string) => `tl:{${ns}:svc:${service}}:pods`,
  workloads: (ns: string) => `tl:{${ns}}:workloads`,
  links: (ns: string, uid: string) => `tl:{${ns}:uid:${uid}}:links`,
};
