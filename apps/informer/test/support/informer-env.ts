import { type TestCluster, testServiceEnv } from '@tideline/test-support';

export interface TestInformerOptions {
  prefix: string;
  clusters?: readonly TestCluster[];
  /** Further TIDELINE_* variables (they win over the test defaults). */
  env?: Record<string, string>;
}

/**
 * The environment of an informer under test: the common test environment under its own bus
 * prefix, a free port, short backoffs and a watchdog suited to tests. The Kubernetes API test
 * servers speak plain HTTP, so API registrations may name http:// servers here
 * (TIDELINE_INFORMER_API_ALLOW_INSECURE_SERVERS, off by default).
 */
export function testInformerEnv(options: TestInformerOptions): Record<string, string> {
  return {
    ...testServiceEnv(options.prefix),
    TIDELINE_INFORMER_PORT: '0',
    TIDELINE_INFORMER_HOST: '127.0.0.1',
    TIDELINE_INFORMER_CLUSTERS: (options.clusters ?? []).map((c) => c.entry).join(','),
    TIDELINE_INFORMER_RESTART_BACKOFF_MS: '50',
    TIDELINE_INFORMER_RESTART_BACKOFF_MAX_MS: '500',
    TIDELINE_INFORMER_PUBLISH_BACKOFF_MS: '50',
    TIDELINE_INFORMER_PUBLISH_BACKOFF_MAX_MS: '500',
    TIDELINE_INFORMER_WATCHDOG_MS: '10000',
    TIDELINE_INFORMER_WATCH_IDLE_TIMEOUT_MS: '30000',
    TIDELINE_INFORMER_API_ALLOW_INSECURE_SERVERS: 'true',
    ...options.env,
  };
}
