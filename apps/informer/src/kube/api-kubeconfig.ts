import { load } from 'js-yaml';
import { KubeconfigError } from './kubeconfig-error.ts';

/**
 * What a kubeconfig that arrives over the HTTP API may contain. Such a kubeconfig comes from a
 * caller, not from the operator: by default it may carry only inline credentials, name only
 * https:// servers with certificate verification, and only hosts of the allow-list.
 */
export interface ApiKubeconfigPolicy {
  /** exec plugins, auth-provider, file references and kubeconfigPath (TIDELINE_INFORMER_API_ALLOW_EXEC_AND_FILES). */
  allowExecAndFiles: boolean;
  /** http:// servers and insecure-skip-tls-verify (TIDELINE_INFORMER_API_ALLOW_INSECURE_SERVERS). */
  allowInsecureServers: boolean;
  /** `host[:port]`, `*.domain[:port]` or `[ipv6][:port]` entries; empty: any host (TIDELINE_INFORMER_API_SERVER_HOSTS). */
  serverHosts: readonly string[];
}

/** The setting that lets API registrations run commands and read files; named in refusals. */
export const ALLOW_EXEC_AND_FILES_ENV = 'TIDELINE_INFORMER_API_ALLOW_EXEC_AND_FILES';
const ALLOW_INSECURE_ENV = 'TIDELINE_INFORMER_API_ALLOW_INSECURE_SERVERS';
const SERVER_HOSTS_ENV = 'TIDELINE_INFORMER_API_SERVER_HOSTS';

type Mapping = Record<string, unknown>;

/** Fields copied as they are (after a type check), per entry kind. */
type FieldKind = 'string' | 'base64' | 'boolean' | 'mapping' | 'ignored';

const LOCAL_ONLY = `; not accepted over the API unless the operator sets ${ALLOW_EXEC_AND_FILES_ENV}`;
const EXEC_REFUSAL = `an exec plugin runs a command on the informer's host${LOCAL_ONLY}`;
const AUTH_PROVIDER_REFUSAL = `an auth provider runs commands or reads files on the informer's host${LOCAL_ONLY}`;
const fileRefusal = (inline: string) =>
  `a file reference reads the informer's filesystem; send the content inline (${inline})${LOCAL_ONLY}`;

interface Section {
  /** Inline fields: always accepted. */
  inline: Record<string, FieldKind>;
  /** Fields that run commands or read files: accepted only with allowExecAndFiles; the refusal text. */
  local: Record<string, { kind: FieldKind; refusal: string }>;
  /** Fields never accepted over the API, with the reason. */
  refused: Record<string, string>;
}

const CLUSTER: Section = {
  inline: {
    server: 'string',
    'certificate-authority-data': 'base64',
    'insecure-skip-tls-verify': 'boolean',
    'tls-server-name': 'string',
    'disable-compression': 'ignored',
    extensions: 'ignored',
  },
  local: {
    'certificate-authority': { kind: 'string', refusal: fileRefusal('certificate-authority-data') },
  },
  refused: {
    'proxy-url': 'a proxy is not accepted over the API',
  },
};

const USER: Section = {
  inline: {
    token: 'string',
    'client-certificate-data': 'base64',
    'client-key-data': 'base64',
    username: 'string',
    password: 'string',
    extensions: 'ignored',
  },
  local: {
    exec: { kind: 'mapping', refusal: EXEC_REFUSAL },
    'auth-provider': { kind: 'mapping', refusal: AUTH_PROVIDER_REFUSAL },
    'token-file': { kind: 'string', refusal: fileRefusal('token') },
    'client-certificate': { kind: 'string', refusal: fileRefusal('client-certificate-data') },
    'client-key': { kind: 'string', refusal: fileRefusal('client-key-data') },
  },
  refused: {
    // Not a kubeconfig user field (the auth-provider's config has one); refused by name, not as unknown.
    tokenFile: fileRefusal('token'),
    as: 'impersonation is not accepted over the API',
    'as-uid': 'impersonation is not accepted over the API',
    'as-groups': 'impersonation is not accepted over the API',
    'as-user-extra': 'impersonation is not accepted over the API',
  },
};

const CONTEXT: Section = {
  inline: { cluster: 'string', user: 'string', namespace: 'string', extensions: 'ignored' },
  local: {},
  refused: {},
};

const TOP_LEVEL = new Set([
  'apiVersion',
  'kind',
  'clusters',
  'users',
  'contexts',
  'current-context',
  'preferences',
  'extensions',
]);

const BASE64 = /^[A-Za-z0-9+/=\s]*$/;

function isMapping(value: unknown): value is Mapping {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

/** A field name as it appears in a path: plain keys as they are, anything odd quoted and cut. */
function keyInPath(key: string): string {
  return /^[A-Za-z0-9_-]{1,64}$/.test(key) ? key : JSON.stringify(key.slice(0, 64));
}

function refuse(path: string, message: string): never {
  throw new KubeconfigError(`kubeconfig ${path}: ${message}`, `kubeconfig.${path}`);
}

/**
 * Parses a kubeconfig given as text (YAML or JSON) without the Kubernetes client, checks it
 * against the policy and returns a kubeconfig document that holds only the checked fields of the
 * selected context, its cluster and its user. Nothing is read, run or contacted here: the
 * Kubernetes client only ever sees what this returns.
 * @throws KubeconfigError VALIDATION_FAILED naming the offending field
 */
export function checkApiKubeconfig(
  text: string,
  context: string | undefined,
  policy: ApiKubeconfigPolicy,
): Mapping {
  let doc: unknown;
  try {
    // No aliases: a kubeconfig has no use for them, and they are how YAML bombs grow.
    doc = load(text, { maxAliases: 0 });
  } catch (error) {
    const mark = (error as { mark?: { line?: number; column?: number } }).mark;
    const where =
      typeof mark?.line === 'number' && typeof mark.column === 'number'
        ? ` (line ${mark.line + 1}, column ${mark.column + 1})`
        : '';
    // The parser's message quotes the source; only the position is reported.
    throw new KubeconfigError(`the kubeconfig is not valid YAML or JSON${where}`);
  }
  if (!isMapping(doc)) throw new KubeconfigError('the kubeconfig is not a mapping');
  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL.has(key)) refuse(keyInPath(key), 'not a supported kubeconfig field');
  }
  if (doc.apiVersion !== undefined && doc.apiVersion !== 'v1') refuse('apiVersion', 'must be v1');
  if (doc.kind !== undefined && doc.kind !== 'Config') refuse('kind', 'must be Config');

  const clusters = entries(doc, 'clusters', 'cluster', CLUSTER, policy);
  const users = entries(doc, 'users', 'user', USER, policy);
  const contexts = entries(doc, 'contexts', 'context', CONTEXT, policy);
  for (const [i, c] of clusters.entries()) checkServer(c.body, `clusters[${i}].cluster`, policy);

  const current = doc['current-context'];
  if (current !== undefined && current !== null && typeof current !== 'string')
    refuse('current-context', 'must be a string');
  const selected = context ?? (typeof current === 'string' && current !== '' ? current : undefined);
  if (selected === undefined)
    throw new KubeconfigError('the kubeconfig names no current context; give `context`');
  const ctxIndex = contexts.findIndex((c) => c.name === selected);
  if (ctxIndex < 0) {
    if (context !== undefined)
      throw new KubeconfigError(`the kubeconfig has no context ${JSON.stringify(context)}`, 'context');
    refuse('current-context', 'names no context of the kubeconfig');
  }
  const ctx = contexts[ctxIndex]!;
  const clusterName = ctx.body.cluster;
  if (typeof clusterName !== 'string' || clusterName === '')
    refuse(`contexts[${ctxIndex}].context.cluster`, 'is missing');
  const cluster = clusters.find((c) => c.name === clusterName);
  if (!cluster) refuse(`contexts[${ctxIndex}].context.cluster`, 'names no cluster of the kubeconfig');
  const userName = ctx.body.user;
  const user =
    typeof userName === 'string' && userName !== '' ? users.find((u) => u.name === userName) : undefined;
  if (userName !== undefined && userName !== '' && !user)
    refuse(`contexts[${ctxIndex}].context.user`, 'names no user of the kubeconfig');

  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster.name, cluster: cluster.body }],
    users: user ? [{ name: user.name, user: user.body }] : [],
    contexts: [{ name: ctx.name, context: ctx.body }],
    'current-context': ctx.name,
  };
}

interface Entry {
  name: string;
  /** The checked fields only. */
  body: Mapping;
}

/** Checks every entry of a list (`clusters`, `users`, `contexts`), selected or not. */
function entries(
  doc: Mapping,
  list: 'clusters' | 'users' | 'contexts',
  inner: 'cluster' | 'user' | 'context',
  section: Section,
  policy: ApiKubeconfigPolicy,
): Entry[] {
  const value = doc[list];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) refuse(list, 'must be a list');
  const names = new Set<string>();
  return value.map((item: unknown, i) => {
    const at = `${list}[${i}]`;
    if (!isMapping(item)) refuse(at, 'must be a mapping');
    for (const key of Object.keys(item)) {
      if (key !== 'name' && key !== inner)
        refuse(`${at}.${keyInPath(key)}`, 'not a supported kubeconfig field');
    }
    const name = item.name;
    if (typeof name !== 'string' || name === '') refuse(`${at}.name`, 'must be a non-empty string');
    if (names.has(name)) refuse(`${at}.name`, 'is not unique');
    names.add(name);
    const body = item[inner] ?? {};
    if (!isMapping(body)) refuse(`${at}.${inner}`, 'must be a mapping');
    return { name, body: checkFields(body, `${at}.${inner}`, section, policy) };
  });
}

function checkFields(body: Mapping, at: string, section: Section, policy: ApiKubeconfigPolicy): Mapping {
  const out: Mapping = {};
  for (const [key, value] of Object.entries(body)) {
    const path = `${at}.${keyInPath(key)}`;
    let kind: FieldKind;
    if (Object.hasOwn(section.inline, key)) {
      kind = section.inline[key]!;
    } else if (Object.hasOwn(section.local, key)) {
      const local = section.local[key]!;
      if (!policy.allowExecAndFiles) refuse(localPath(path, key, value), local.refusal);
      kind = local.kind;
    } else if (Object.hasOwn(section.refused, key)) {
      refuse(path, section.refused[key]!);
    } else {
      refuse(path, 'not a supported kubeconfig field');
    }
    if (kind === 'ignored' || value === null || value === undefined) continue;
    if (kind === 'boolean' && typeof value !== 'boolean') refuse(path, 'must be true or false');
    if ((kind === 'string' || kind === 'base64') && typeof value !== 'string')
      refuse(path, 'must be a string');
    if (kind === 'base64' && !BASE64.test(value as string)) refuse(path, 'must be base64');
    if (kind === 'mapping' && !isMapping(value)) refuse(path, 'must be a mapping');
    out[key] = value;
  }
  return out;
}

/** The auth provider that reads a token file is named by that field. */
function localPath(path: string, key: string, value: unknown): string {
  if (key === 'auth-provider' && isMapping(value) && isMapping(value.config) && 'tokenFile' in value.config)
    return `${path}.config.tokenFile`;
  return path;
}

function checkServer(cluster: Mapping, at: string, policy: ApiKubeconfigPolicy): void {
  const path = `${at}.server`;
  const server = cluster.server;
  if (typeof server !== 'string' || server === '') refuse(path, 'is missing');
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    refuse(path, 'is not a URL');
  }
  const insecure = cluster['insecure-skip-tls-verify'] === true;
  if (url.protocol === 'http:') {
    if (!policy.allowInsecureServers)
      refuse(path, `must be an https:// URL (http:// only when the operator sets ${ALLOW_INSECURE_ENV})`);
    if (!insecure) refuse(path, 'an http:// server needs insecure-skip-tls-verify: true');
  } else if (url.protocol !== 'https:') {
    refuse(path, 'must be an https:// URL');
  } else if (insecure && !policy.allowInsecureServers) {
    refuse(
      `${at}.insecure-skip-tls-verify`,
      `skipping certificate verification is not accepted over the API unless the operator sets ${ALLOW_INSECURE_ENV}`,
    );
  }
  if (url.username !== '' || url.password !== '') refuse(path, 'must not carry credentials');
  if (url.search !== '' || url.hash !== '') refuse(path, 'must not carry a query or a fragment');
  if (url.hostname === '') refuse(path, 'names no host');
  if (!hostAllowed(url, policy.serverHosts))
    refuse(path, `the host is not in the operator's list of API servers (${SERVER_HOSTS_ENV})`);
}

/**
 * Whether a server URL's host (and port) is allowed: an empty list allows any; an entry without a
 * port matches any port; `*.example.com` matches every name under example.com (not example.com
 * itself). Hosts are compared as URLs spell them (lower case, IPv4 dotted, IPv6 compressed).
 */
export function hostAllowed(url: URL, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return true;
  const host = url.hostname;
  const port = url.port || (url.protocol === 'http:' ? '80' : '443');
  return patterns.some((pattern) => {
    const want = parseHostPattern(pattern);
    if (!want || (want.port !== undefined && want.port !== port)) return false;
    if (want.wildcard) return host.endsWith(`.${want.host}`);
    return host === want.host;
  });
}

function parseHostPattern(pattern: string): { host: string; port?: string; wildcard: boolean } | undefined {
  const wildcard = pattern.startsWith('*.');
  const rest = wildcard ? pattern.slice(2) : pattern;
  const match = /^(\[[^\]]+\]|[^:]+)(?::([0-9]{1,5}))?$/.exec(rest);
  if (!match) return undefined;
  let host: string;
  try {
    host = new URL(`http://${match[1]}`).hostname;
  } catch {
    return undefined;
  }
  return match[2] === undefined ? { host, wildcard } : { host, port: String(Number(match[2])), wildcard };
}
