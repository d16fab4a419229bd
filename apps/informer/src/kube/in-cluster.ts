import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '@tideline/config';
import { KubeconfigError } from './kubeconfig-error.ts';
import { errnoCode } from './safe-error.ts';

/** Where Kubernetes mounts a pod's service account (and where `loadFromCluster` looks, after its prefix). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface InClusterOptions {
  /** Directory holding `token` and `ca.crt`. */
  serviceAccountDir: string;
}

/**
 * The kubeconfig of the cluster the informer runs in, loaded by `@kubernetes/client-node`'s
 * `loadFromCluster`: server `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`, the
 * service-account CA verifying it, the service-account token as bearer (the client reads it
 * again every minute, so rotated tokens are followed). A directory elsewhere than the standard
 * path is given to the library as the prefix its paths are appended to when it ends with the
 * standard path, and otherwise loaded the same way with the files of that directory.
 * Throws KubeconfigError naming what is missing (never a file's content).
 */
export async function loadInClusterConfig(options: InClusterOptions): Promise<KubeConfig> {
  // Read from process.env, as the library does.
  const host = process.env['KUBERNETES_SERVICE_HOST'];
  const port = process.env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port)
    throw new KubeconfigError(
      'in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (is the informer running in a pod?)',
    );
  const dir = options.serviceAccountDir.replace(/\/+$/, '');
  for (const file of ['token', 'ca.crt']) {
    try {
      await access(join(dir, file), constants.R_OK);
    } catch (error) {
      throw new KubeconfigError(`in-cluster: cannot read ${join(dir, file)}: ${errnoCode(error) ?? 'error'}`);
    }
  }
  const config = new KubeConfig();
  if (dir.endsWith(SERVICE_ACCOUNT_DIR)) {
    config.loadFromCluster(dir.slice(0, dir.length - SERVICE_ACCOUNT_DIR.length));
  } else {
    const scheme = ['80', '8080', '8001'].includes(port) ? 'http' : 'https';
    const server = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
    config.loadFromClusterAndUser(
      { name: 'inCluster', server, caFile: join(dir, 'ca.crt'), skipTLSVerify: false },
      {
        name: 'inClusterUser',
        authProvider: { name: 'tokenFile', config: { tokenFile: join(dir, 'token') } },
      },
    );
  }
  return config;
}

/** Cross rule: the in-cluster name is not also a TIDELINE_INFORMER_CLUSTERS entry. */
export function inClusterNameRule(config: {
  informerInClusterName: string | undefined;
  informerClusters: readonly string[];
}): ConfigError | undefined {
  const name = config.informerInClusterName;
  if (name === undefined || !config.informerClusters.some((entry) => entry.startsWith(`${name}=`)))
    return undefined;
  return new ConfigError(
    'TIDELINE_INFORMER_IN_CLUSTER_NAME',
    'a name no TIDELINE_INFORMER_CLUSTERS entry has',
    JSON.stringify(name),
  );
}
