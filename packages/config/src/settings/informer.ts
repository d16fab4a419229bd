import { ConfigError } from '../load.ts';
import { bool, int, list, ms, oneOf, optionalStr, port, seconds, str } from '../setting.ts';

/** Settings of apps/informer. */
export const informerSettings = {
  // --- Replicas sharing the clusters (issue 14: leases, fencing, hand-over) ---
  informerSharding: bool({
    env: 'TIDELINE_INFORMER_SHARDING',
    default: false,
    doc: 'Several informer replicas share the clusters: each cluster is watched and published by exactly one live replica, chosen by rendezvous hashing over the live members, under a lease in Redis (TIDELINE_REDIS_URL, TIDELINE_STATEFUL_NAMESPACE). Off: this informer watches every cluster it knows and must be the only one on its bus prefix.',
  }),
  informerLeaseTtlMs: ms({
    env: 'TIDELINE_INFORMER_LEASE_TTL_MS',
    default: 15_000,
    min: 100,
    doc: 'With sharding: how long a replica stays a member, and keeps the clusters it owns, after its last renewal. A replica that died (kill -9) loses its clusters to the others within this plus one renew interval.',
  }),
  informerLeaseRenewIntervalMs: ms({
    env: 'TIDELINE_INFORMER_LEASE_RENEW_INTERVAL_MS',
    default: 5_000,
    min: 20,
    doc: 'With sharding: how often a replica renews its membership and its cluster leases and re-checks which clusters it owns. At most a third of TIDELINE_INFORMER_LEASE_TTL_MS.',
  }),
  // --- end of the sharding block ---
  port: port({
    env: 'TIDELINE_INFORMER_PORT',
    default: 3003,
    allowZero: true,
    doc: 'HTTP port of informer (0 picks a free port).',
  }),
  host: str({ env: 'TIDELINE_INFORMER_HOST', default: '0.0.0.0', doc: 'Address informer listens on.' }),
  informerClusters: list({
    env: 'TIDELINE_INFORMER_CLUSTERS',
    item: /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?=[^#]+(#.+)?$/,
    itemRule: 'name=/path/to/kubeconfig[#context] entries (name: a DNS-1123 label)',
    default: [],
    doc: 'Clusters watched from the start. More can be registered at runtime through POST /api/v1/clusters/register (scope clusters:admin).',
  }),
  informerApiAllowExecAndFiles: bool({
    env: 'TIDELINE_INFORMER_API_ALLOW_EXEC_AND_FILES',
    default: false,
    doc: "Kubeconfigs registered through the HTTP API may use exec plugins, auth-provider, file references (token-file, client-certificate, client-key, certificate-authority) and kubeconfigPath, which run commands and read files on the informer's host. Off: only inline credentials (token, *-data, username/password). Kubeconfigs of TIDELINE_INFORMER_CLUSTERS (operator configuration) may always use them.",
  }),
  informerApiAllowInsecureServers: bool({
    env: 'TIDELINE_INFORMER_API_ALLOW_INSECURE_SERVERS',
    default: false,
    doc: 'Kubeconfigs registered through the HTTP API may name http:// API servers and set insecure-skip-tls-verify. Off: https:// with certificate verification only.',
  }),
  informerApiServerHosts: list({
    env: 'TIDELINE_INFORMER_API_SERVER_HOSTS',
    item: /^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?$|^\[[0-9a-f:.]+\](:[0-9]{1,5})?$/i,
    itemRule:
      'host[:port] entries: a host name, an IPv4 address, an [IPv6] address, or *.domain (any name under domain); without a port any port matches',
    default: [],
    doc: "API servers that kubeconfigs registered through the HTTP API may name (every cluster entry's server host, and port when given). Required when TIDELINE_ENV is production: an empty list is refused at start, since a kubeconfig sent by a caller (scope clusters:admin) could otherwise make the informer connect to any host it reaches. Empty outside production: any host.",
  }),
  informerResyncIntervalMs: ms({
    env: 'TIDELINE_INFORMER_RESYNC_INTERVAL_MS',
    default: 1_800_000,
    min: 1_000,
    doc: 'Period of the full re-list of every cluster; it publishes only true differences from what was published. Between resyncs the informer only watches.',
  }),
  informerListPageSize: int({
    env: 'TIDELINE_INFORMER_LIST_PAGE_SIZE',
    min: 0,
    max: 100_000,
    default: 500,
    doc: 'Nodes per list page (limit/continue); 0 lists in one call.',
  }),
  informerWatchTimeoutSeconds: seconds({
    env: 'TIDELINE_INFORMER_WATCH_TIMEOUT_SECONDS',
    default: 300,
    min: 1,
    max: 3_600,
    doc: 'Server-side timeout asked for each watch (timeoutSeconds); the API server then ends the watch cleanly and the informer resumes from the last resourceVersion, without a list.',
  }),
  informerWatchIdleTimeoutMs: ms({
    env: 'TIDELINE_INFORMER_WATCH_IDLE_TIMEOUT_MS',
    default: 90_000,
    min: 100,
    doc: "A watch that received no byte for this long is abandoned and resumed (the client library's request timeout; longer than the API server's bookmark period).",
  }),
  informerWatchBookmarks: bool({
    env: 'TIDELINE_INFORMER_WATCH_BOOKMARKS',
    default: true,
    doc: 'Ask the API server for BOOKMARK events (allowWatchBookmarks), which keep the resume point fresh on quiet clusters.',
  }),
  informerWatchdogMs: ms({
    env: 'TIDELINE_INFORMER_WATCHDOG_MS',
    default: 180_000,
    min: 100,
    doc: 'A cluster whose list/watch made no progress (event, bookmark, watch connect, list) for this long is restarted: the cure for silently stalled watches and hung requests.',
  }),
  informerRestartBackoffMs: ms({
    env: 'TIDELINE_INFORMER_RESTART_BACKOFF_MS',
    default: 500,
    min: 1,
    doc: "First delay before restarting a cluster's list/watch after an API server error; doubles per failure up to the maximum.",
  }),
  informerRestartBackoffMaxMs: ms({
    env: 'TIDELINE_INFORMER_RESTART_BACKOFF_MAX_MS',
    default: 30_000,
    min: 1,
    doc: 'Upper bound of the restart delay; the informer retries forever while a cluster is registered.',
  }),
  informerPublishBackoffMs: ms({
    env: 'TIDELINE_INFORMER_PUBLISH_BACKOFF_MS',
    default: 200,
    min: 1,
    doc: 'First delay before publishing a node event again after the bus refused it; doubles up to the maximum. Refused while the bus is disconnected, the event waits for the bus instead and goes again the moment the bus reports itself connected (also looked at this often). Later changes of that cluster wait behind it (order).',
  }),
  informerPublishBackoffMaxMs: ms({
    env: 'TIDELINE_INFORMER_PUBLISH_BACKOFF_MAX_MS',
    default: 10_000,
    min: 1,
    doc: 'Upper bound of the publish retry delay.',
  }),
  informerRecoveryPageSize: int({
    env: 'TIDELINE_INFORMER_RECOVERY_PAGE_SIZE',
    min: 1,
    max: 100_000,
    default: 2_000,
    doc: 'Events read per request while the informer rebuilds, at start, what it published from the nodes topic.',
  }),
  // ---- runtime registrations and in-cluster loading (issue 14, items 4 and 5) ----
  informerRegistrationStore: oneOf({
    env: 'TIDELINE_INFORMER_REGISTRATION_STORE',
    values: ['redis', 'memory'] as const,
    default: 'redis',
    doc: 'Where clusters registered through the HTTP API are kept. `redis` (TIDELINE_REDIS_URL): encrypted with TIDELINE_INFORMER_REGISTRATION_KEY, restored on every start, removed on unregister. `memory`: they live as long as the process and are reported orphaned after a restart.',
  }),
  informerRegistrationKey: optionalStr({
    env: 'TIDELINE_INFORMER_REGISTRATION_KEY',
    secret: true,
    doc: 'AES-256-GCM key (32 bytes, base64 or hex) that encrypts the kubeconfigs of runtime registrations in Redis. Required in production when TIDELINE_INFORMER_REGISTRATION_STORE is redis; development/test fall back to a fixed development key, refused in production.',
  }),
  informerRegistrationPreviousKey: optionalStr({
    env: 'TIDELINE_INFORMER_REGISTRATION_PREVIOUS_KEY',
    secret: true,
    doc: 'The key used before TIDELINE_INFORMER_REGISTRATION_KEY (key rotation): registrations it encrypted are still read, and re-encrypted with the current key at start.',
  }),
  informerInClusterName: optionalStr({
    env: 'TIDELINE_INFORMER_IN_CLUSTER_NAME',
    pattern: /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    patternRule: 'a DNS-1123 label',
    doc: 'Watch the Kubernetes cluster the informer runs in under this name (service-account token and CA, KUBERNETES_SERVICE_HOST/PORT). Unset: off.',
  }),
  informerInClusterServiceAccountDir: str({
    env: 'TIDELINE_INFORMER_IN_CLUSTER_SERVICE_ACCOUNT_DIR',
    default: '/var/run/secrets/kubernetes.io/serviceaccount',
    doc: 'Directory holding the service-account `token` and `ca.crt` for TIDELINE_INFORMER_IN_CLUSTER_NAME (the client reads the token again every minute, so rotated tokens are followed).',
  }),
};

/**
 * Cross rule of the informer with sharding: a lease must survive two missed renewals, or a live
 * replica would lose its clusters between two renewals.
 */
export function renewWithinLeaseTtl(config: {
  informerLeaseTtlMs: number;
  informerLeaseRenewIntervalMs: number;
}): ConfigError | undefined {
  if (config.informerLeaseRenewIntervalMs * 3 <= config.informerLeaseTtlMs) return undefined;
  return new ConfigError(
    'TIDELINE_INFORMER_LEASE_RENEW_INTERVAL_MS',
    `at most a third of TIDELINE_INFORMER_LEASE_TTL_MS (${Math.floor(config.informerLeaseTtlMs / 3)} ms)`,
    String(config.informerLeaseRenewIntervalMs),
  );
}

/**
 * Cross rule of the informer: in production the API servers that runtime registrations may name
 * are listed by the operator. An empty list allows any host, so a caller allowed to register a
 * cluster could make the informer dial whatever it can reach (an SSRF); production refuses it.
 */
export function requireApiServerHostsInProduction(config: {
  environment: string;
  informerApiServerHosts: readonly string[];
}): ConfigError | undefined {
  if (config.environment !== 'production' || config.informerApiServerHosts.length > 0) return undefined;
  return new ConfigError(
    'TIDELINE_INFORMER_API_SERVER_HOSTS',
    'set when TIDELINE_ENV is production: list the host[:port] of every Kubernetes API server that clusters registered through the HTTP API may name (e.g. k8s.example.com:6443,*.clusters.example.com); empty would let a kubeconfig sent by a caller make the informer connect to any host it can reach',
    'nothing: it is required',
  );
}
