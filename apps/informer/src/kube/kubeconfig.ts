import { constants } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { KUBECONFIG_MAX_BYTES } from '@tideline/contracts';
import { ALLOW_EXEC_AND_FILES_ENV, type ApiKubeconfigPolicy, checkApiKubeconfig } from './api-kubeconfig.ts';
import { KubeconfigError } from './kubeconfig-error.ts';
import { describeKubeError, errnoCode } from './safe-error.ts';

export { KubeconfigError } from './kubeconfig-error.ts';

/** Where a cluster's kubeconfig comes from. */
export type KubeconfigSource =
  | { path: string; context?: string | undefined }
  | { text: string; context?: string | undefined };

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

/**
 * Loads a kubeconfig of the operator's configuration (TIDELINE_INFORMER_CLUSTERS) as kubectl
 * would: exec plugins, auth providers and file references work. Errors name the path and say
 * what went wrong (errno code, YAML position), never what the file contains.
 */
export async function loadKubeConfig(source: KubeconfigSource): Promise<KubeConfig> {
  let text: string;
  if ('path' in source) {
    try {
      text = await readFile(source.path, 'utf8');
    } catch (error) {
      throw new KubeconfigError(`cannot read kubeconfig ${source.path}: ${errnoCode(error) ?? 'error'}`);
    }
  } else {
    text = source.text;
  }
  const config = new KubeConfig();
  try {
    config.loadFromString(text);
  } catch (error) {
    throw new KubeconfigError(`not a kubeconfig: ${loadFailure(error)}`);
  }
  return selectContext(config, source.context);
}

const PATH_REFUSED = `kubeconfigPath is not accepted over the API: send the kubeconfig itself as \`kubeconfig\` (the operator may allow paths with ${ALLOW_EXEC_AND_FILES_ENV})`;
/** One answer for a missing, unreadable, oversized or unusable file: the caller learns nothing about the filesystem. */
const PATH_UNUSABLE = 'kubeconfigPath does not name a kubeconfig the informer can use';

/**
 * Loads a kubeconfig that arrived over the HTTP API. The text is parsed and checked against the
 * policy here, before the Kubernetes client sees anything (its loader reads token files at once;
 * exec plugins and file references act on every request), and the client is given only the
 * checked fields of the selected context. `kubeconfigPath` is refused unless the policy allows
 * exec and files; then every failure to use the file gives the same answer.
 */
export async function loadApiKubeConfig(
  source: KubeconfigSource,
  policy: ApiKubeconfigPolicy,
): Promise<KubeConfig> {
  return (await loadApiKubeConfigText(source, policy)).config;
}

/** {@link loadApiKubeConfig}, also returning the kubeconfig text that was checked (it is what a registration stores). */
export async function loadApiKubeConfigText(
  source: KubeconfigSource,
  policy: ApiKubeconfigPolicy,
): Promise<{ config: KubeConfig; text: string }> {
  if ('text' in source)
    return {
      config: toKubeConfig(checkApiKubeconfig(source.text, source.context, policy), source.context),
      text: source.text,
    };
  if (!policy.allowExecAndFiles) throw new KubeconfigError(PATH_REFUSED, 'kubeconfigPath');
  try {
    const text = await readBoundedFile(source.path);
    return { config: toKubeConfig(checkApiKubeconfig(text, source.context, policy), source.context), text };
  } catch {
    throw new KubeconfigError(PATH_UNUSABLE, 'kubeconfigPath');
  }
}

/** A regular file of at most KUBECONFIG_MAX_BYTES, opened without blocking (a FIFO never hangs the request). */
async function readBoundedFile(path: string): Promise<string> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = await handle.stat();
    if (!stat.isFile() || stat.size > KUBECONFIG_MAX_BYTES)
      throw new Error('not a regular file of bounded size');
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

function toKubeConfig(doc: Record<string, unknown>, context: string | undefined): KubeConfig {
  const config = new KubeConfig();
  try {
    // Only checked fields, as JSON (a subset of YAML): the client's loader parses exactly them.
    config.loadFromString(JSON.stringify(doc));
  } catch (error) {
    throw new KubeconfigError(`the kubeconfig could not be loaded: ${describeKubeError(error)}`);
  }
  return selectContext(config, context);
}

function selectContext(config: KubeConfig, context: string | undefined): KubeConfig {
  if (context) {
    if (!config.getContextObject(context))
      throw new KubeconfigError(`the kubeconfig has no context ${JSON.stringify(context)}`, 'context');
    config.setCurrentContext(context);
  }
  const cluster = config.getCurrentCluster();
  if (!cluster?.server)
    throw new KubeconfigError("the kubeconfig's current context names no cluster with a server");
  return config;
}

/** Why the client's loader refused a kubeconfig, without quoting it: its own fixed messages about missing fields, else a YAML position or an errno code. */
function loadFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  if (/^(clusters|users|contexts)\[\d+\]\.[a-z.]+ is missing$/.test(message)) return message;
  const mark = (error as { mark?: { line?: unknown; column?: unknown } } | undefined)?.mark;
  if (typeof mark?.line === 'number' && typeof mark.column === 'number')
    return `invalid YAML (line ${mark.line + 1}, column ${mark.column + 1})`;
  return describeKubeError(error);
}
