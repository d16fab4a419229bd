import { readFile } from 'node:fs/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { TidelineError } from '@tideline/contracts';

/** Where a cluster's kubeconfig comes from. */
export type KubeconfigSource =
  | { path: string; context?: string | undefined }
  | { text: string; context?: string | undefined };

/**
 * The kubeconfig cannot be used: unreadable, not a kubeconfig, unknown context, or no server.
 * VALIDATION_FAILED, naming the field `kubeconfig`.
 */
export class KubeconfigError extends TidelineError {
  override readonly name = 'KubeconfigError';
  constructor(message: string) {
    super('VALIDATION_FAILED', message, { fields: [{ path: 'kubeconfig', message }] });
  }
}

/** Parses `TIDELINE_INFORMER_CLUSTERS` entries: `name=/path/to/kubeconfig[#context]`. */
export function parseClusterEntries(
  entries: readonly string[],
): { name: string; path: string; context?: string }[] {
  return entries.map((entry) => {
    const eq = entry.indexOf('=');
    const name = entry.slice(0, eq);
    const rest = entry.slice(eq + 1);
    const hash = rest.lastIndexOf('#');
    return hash >= 0
      ? { name, path: rest.slice(0, hash), context: rest.slice(hash + 1) }
      : { name, path: rest };
  });
}

/** Loads a kubeconfig and selects its context; checks that the context names a cluster with a server. */
export async function loadKubeConfig(source: KubeconfigSource): Promise<KubeConfig> {
  let text: string;
  if ('path' in source) {
    try {
      text = await readFile(source.path, 'utf8');
    } catch (error) {
      throw new KubeconfigError(`cannot read kubeconfig ${source.path}: ${(error as Error).message}`);
    }
  } else {
    text = source.text;
  }
  const config = new KubeConfig();
  try {
    config.loadFromString(text);
  } catch (error) {
    throw new KubeconfigError(`not a kubeconfig: ${(error as Error).message.split('\n')[0]}`);
  }
  if (source.context) {
    if (!config.getContextObject(source.context))
      throw new KubeconfigError(`the kubeconfig has no context ${JSON.stringify(source.context)}`);
    config.setCurrentContext(source.context);
  }
  const cluster = config.getCurrentCluster();
  if (!cluster?.server)
    throw new KubeconfigError("the kubeconfig's current context names no cluster with a server");
  return config;
}
