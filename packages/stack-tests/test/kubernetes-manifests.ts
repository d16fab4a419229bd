import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as kubernetesClient from '@kubernetes/client-node';
import {
  cacheSettings,
  commonSettings,
  gatewaySettings,
  informerSettings,
  managementSettings,
  type Setting,
  settingGroups,
  websiteApiSettings,
} from '@tideline/config';
import { createHttpServer, createLogger, createMetrics, Readiness } from '@tideline/runtime';
import { loadAll } from 'js-yaml';
import * as models from 'kubernetes-models';

/**
 * Reading deploy/kubernetes the way a cluster would: rendered by `kubectl kustomize`, validated
 * against the Kubernetes API schemas (kubernetes-models), and checked against what the services
 * really serve and read (the settings of packages/config, the health routes of packages/runtime).
 */

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const KUSTOMIZATIONS = ['base', 'overlays/development', 'overlays/production'] as const;
const RENDER_TIMEOUT_MS = 60_000;

/** A rendered Kubernetes object; only the fields the checks read are typed. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: the shape depends on the kind; the schema validation checks it
  spec?: any;
  data?: Record<string, string>;
  rules?: { apiGroups?: string[]; resources?: string[]; verbs?: string[] }[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string };
  };
}

export interface Probe {
  httpGet?: { path?: string; port: number | string };
  exec?: unknown;
  tcpSocket?: unknown;
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
  };
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: unknown; httpGet?: unknown } };
}

export interface PodSpec {
  initContainers?: Container[];
  containers: Container[];
  topologySpreadConstraints?: {
    maxSkew: number;
    topologyKey: string;
    whenUnsatisfiable: string;
    labelSelector?: LabelSelector;
  }[];
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
}

/** The command `kubectl kustomize` in one place, with the message a missing kubectl must give. */
export function render(kustomization: string): K8sObject[] {
  const result = spawnSync('kubectl', ['kustomize', `deploy/kubernetes/${kustomization}`], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: RENDER_TIMEOUT_MS,
  });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(
      'kubectl is not on PATH: the Kubernetes manifests cannot be rendered. Install it with `bash infra/scripts/ensure-kubectl.sh` (npm test and .ci/run do).',
    );
  }
  if (result.status !== 0) {
    throw new Error(
      `kubectl kustomize deploy/kubernetes/${kustomization} failed: ${result.stderr || result.error}`,
    );
  }
  return (loadAll(result.stdout) as (K8sObject | null)[]).filter((o): o is K8sObject => o !== null);
}

function groupNamespace(group: string): string {
  const [first = '', ...rest] = group.split('.');
  return first + rest.map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('');
}

type ModelClass = new (data: unknown) => { validate(): void };

/** The kubernetes-models class of an apiVersion/kind, or undefined when the API has no such kind. */
export function modelOf(apiVersion: string, kind: string): ModelClass | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const all = models as unknown as Record<string, Record<string, Record<string, ModelClass>>>;
  const versions =
    group === ''
      ? { [version!]: all['v1'] as unknown as Record<string, ModelClass> }
      : all[groupNamespace(group!)];
  return versions?.[version!]?.[kind];
}

/**
 * The object as the API server decodes it: kustomize wraps long base64 values of a Secret's `data`
 * over several lines, which the server's base64 decoder skips (as JSON's []byte does).
 */
function forApiServer(object: K8sObject): K8sObject {
  if (object.kind !== 'Secret' || !object.data) return object;
  const data = Object.fromEntries(
    Object.entries(object.data).map(([key, value]) => [key, value.replace(/\s+/g, '')]),
  );
  return { ...object, data };
}

/** Validates one object against its Kubernetes API schema; the problem, or undefined. */
export function schemaProblem(object: K8sObject): string | undefined {
  const Model = modelOf(object.apiVersion, object.kind);
  const name = `${object.kind}/${object.metadata?.name}`;
  if (!Model) return `${name}: no kind ${object.kind} in ${object.apiVersion}`;
  try {
    new Model(forApiServer(object)).validate();
    return undefined;
  } catch (error) {
    return `${name}: ${(error as Error).message}`;
  }
}

type AttributeTypeMap = { name: string; baseName: string; type: string }[];
const clientModels = kubernetesClient as unknown as Record<
  string,
  { getAttributeTypeMap?: () => AttributeTypeMap }
>;

/**
 * Fields the Kubernetes API does not know, as `kubectl apply --validate=strict` reports them (the
 * schema validation above lets unknown fields pass; a misspelt `readinesProbe` would be dropped by
 * the API server without a word). The field lists are those of the API's own models in
 * @kubernetes/client-node.
 */
export function unknownFields(object: K8sObject): string[] {
  const [group, version] = object.apiVersion.includes('/')
    ? object.apiVersion.split('/')
    : ['', object.apiVersion];
  const type = `${version!.charAt(0).toUpperCase()}${version!.slice(1)}${object.kind}`;
  if (!clientModels[type]?.getAttributeTypeMap)
    return [`${object.kind}: no model ${type} for ${group}/${version}`];
  const problems: string[] = [];
  walkFields(object, type, `${object.kind}/${object.metadata.name}`, problems);
  return problems;
}

function walkFields(value: unknown, type: string, path: string, problems: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value))
      for (const [i, item] of value.entries()) walkFields(item, array[1]!, `${path}[${i}]`, problems);
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value === 'object')
      for (const [key, item] of Object.entries(value)) walkFields(item, map[1]!, `${path}.${key}`, problems);
    return;
  }
  const attributes = clientModels[type]?.getAttributeTypeMap?.();
  if (!attributes || typeof value !== 'object' || Array.isArray(value)) return;
  const known = new Map(attributes.map((a) => [a.baseName, a.type]));
  for (const [key, item] of Object.entries(value)) {
    const fieldType = known.get(key);
    if (fieldType === undefined) problems.push(`${path}.${key}: unknown field`);
    else walkFields(item, fieldType, `${path}.${key}`, problems);
  }
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name} in the rendered manifests`);
  return found;
}

/** Deployments, StatefulSets and Jobs with their pod specs. */
export function workloads(
  objects: K8sObject[],
): { object: K8sObject; pod: PodSpec; labels: Record<string, string> }[] {
  return objects
    .filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind))
    .map((object) => ({
      object,
      pod: object.spec.template.spec as PodSpec,
      labels: (object.spec.template.metadata?.labels ?? {}) as Record<string, string>,
    }));
}

/** The init containers, then the containers of a pod (the restricted Pod Security Standard covers both). */
export function allContainers(pod: PodSpec): Container[] {
  return [...(pod.initContainers ?? []), ...pod.containers];
}

/** Every setting of packages/config by its variable. */
export const SETTINGS: ReadonlyMap<string, Setting<unknown>> = new Map(
  Object.values(settingGroups).flatMap((spec) =>
    Object.values(spec).map((setting) => [setting.env, setting] as const),
  ),
);

/** The arguments the image's ENTRYPOINT takes (the compose helper's image contract). */
export const IMAGE = 'tideline/tideline';
export const IMAGE_SERVICES = ['website-api', 'cache', 'informer', 'push-gateway', 'migrate'] as const;

/** The public-port setting of each long-running service. */
export const PUBLIC_PORT: Record<string, Setting<number>> = {
  'website-api': websiteApiSettings.port,
  cache: cacheSettings.port,
  informer: informerSettings.port,
  'push-gateway': gatewaySettings.port,
};

export function isTidelineImage(image: string): boolean {
  const withoutTag = image.replace(/[:@][^/]*$/, '');
  return withoutTag === IMAGE || withoutTag.endsWith(`/${IMAGE}`);
}

/** The environment a container starts with: its ConfigMaps (envFrom), then its own `env` literals. */
export function literalEnv(objects: K8sObject[], container: Container): Map<string, string> {
  const env = new Map<string, string>();
  for (const source of container.envFrom ?? []) {
    if (!source.configMapRef) continue;
    for (const [name, value] of Object.entries(
      find(objects, 'ConfigMap', source.configMapRef.name).data ?? {},
    ))
      env.set(name, value);
  }
  for (const variable of container.env ?? [])
    if (variable.value !== undefined) env.set(variable.name, variable.value);
  return env;
}

/** Every variable a container is given, literal or not (envFrom ConfigMaps and Secrets, env). */
export function variableNames(objects: K8sObject[], container: Container): string[] {
  const names = new Set<string>();
  for (const source of container.envFrom ?? []) {
    const ref = source.configMapRef ?? source.secretRef;
    const kind = source.configMapRef ? 'ConfigMap' : 'Secret';
    const object = ref && objects.find((o) => o.kind === kind && o.metadata.name === ref.name);
    for (const name of Object.keys(object?.data ?? {})) names.add(name);
  }
  for (const variable of container.env ?? []) names.add(variable.name);
  return [...names];
}

function settingValue(env: Map<string, string>, setting: Setting<unknown>): unknown {
  const raw = env.get(setting.env);
  if (raw === undefined) return setting.default;
  const parsed = setting.schema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

/** The ports a Tideline service listens on, from its settings as the manifest sets them. */
export function servedPorts(
  service: string,
  env: Map<string, string>,
): { public: number; management?: number } {
  const publicPort = settingValue(env, PUBLIC_PORT[service]!) as number;
  const management = settingValue(env, managementSettings.managementPort as Setting<unknown>) as
    | number
    | undefined;
  return management === undefined ? { public: publicPort } : { public: publicPort, management };
}

/** The drain budget of a graceful stop as the manifest sets it (else the setting's default). */
export function shutdownTimeoutMs(env: Map<string, string>): number {
  return settingValue(env, commonSettings.shutdownTimeoutMs as Setting<unknown>) as number;
}

/**
 * GET paths the runtime answers with 200 on every service (the probes' targets), asked of a real
 * packages/runtime HTTP server in-process: a route the runtime does not serve answers 404.
 */
export async function runtimeServes(paths: string[]): Promise<Set<string>> {
  const readiness = new Readiness(1_000);
  const http = createHttpServer({
    logger: createLogger({ service: 'kubernetes-manifests', level: 'silent' }),
    metrics: createMetrics('kubernetes-manifests'),
    readiness,
    bodyLimitBytes: 1_024,
  });
  readiness.markStarted();
  const served = new Set<string>();
  try {
    for (const path of paths) {
      const answer = await http.inject({ method: 'GET', url: path });
      if (answer.statusCode === 200) served.add(path);
    }
  } finally {
    await http.close();
  }
  return served;
}

const PROBES = ['startupProbe', 'livenessProbe', 'readinessProbe'] as const;
/** The endpoint each probe must ask (issue 15): alive for startup and liveness, ready for readiness. */
const PROBE_PATH: Record<(typeof PROBES)[number], string> = {
  startupProbe: '/healthz',
  livenessProbe: '/healthz',
  readinessProbe: '/readyz',
};

/** Every probe of a Tideline service's containers, with the port it resolves to. */
export function serviceProbes(objects: K8sObject[]) {
  const probes: {
    where: string;
    service: string;
    kind: (typeof PROBES)[number];
    probe: Probe | undefined;
    port: number | undefined;
    served: { public: number; management?: number };
  }[] = [];
  for (const { object, pod } of workloads(objects)) {
    for (const container of pod.containers) {
      const service = container.args?.[0];
      if (!isTidelineImage(container.image) || service === undefined || !(service in PUBLIC_PORT)) continue;
      const served = servedPorts(service, literalEnv(objects, container));
      for (const kind of PROBES) {
        const probe = container[kind];
        const port = probe?.httpGet?.port;
        const resolved =
          typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort;
        probes.push({
          where: `${object.kind}/${object.metadata.name} ${container.name} ${kind}`,
          service,
          kind,
          probe,
          port: resolved,
          served,
        });
      }
    }
  }
  return probes;
}

/**
 * What is wrong with the probes of the Tideline services: a probe missing or not HTTP, a path
 * other than the one its kind asks or one the runtime does not serve, a port the service does not
 * listen on (derived from its port settings as the manifest sets them).
 */
export function probeProblems(objects: K8sObject[], served: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  for (const { where, kind, probe, port, served: ports } of serviceProbes(objects)) {
    const httpGet = probe?.httpGet;
    if (!httpGet) {
      problems.push(`${where}: no HTTP probe`);
      continue;
    }
    const path = (httpGet.path ?? '/').split('?', 1)[0]!;
    if (path !== PROBE_PATH[kind]) problems.push(`${where}: path ${path}, expected ${PROBE_PATH[kind]}`);
    if (!served.has(path)) problems.push(`${where}: path ${path} is not served by the service runtime`);
    const listening = [ports.public, ...(ports.management === undefined ? [] : [ports.management])];
    if (port === undefined || !listening.includes(port))
      problems.push(
        `${where}: port ${String(httpGet.port)} (${String(port)}) is not one the service listens on (${listening.join(', ')})`,
      );
  }
  return problems;
}

/** The container ports a Tideline service declares must be the ones it listens on. */
export function containerPortProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const { object, pod } of workloads(objects)) {
    for (const container of pod.containers) {
      const service = container.args?.[0];
      if (!isTidelineImage(container.image) || service === undefined || !(service in PUBLIC_PORT)) continue;
      const served = servedPorts(service, literalEnv(objects, container));
      const expected: Record<string, number | undefined> = {
        http: served.public,
        management: served.management,
      };
      for (const port of container.ports ?? []) {
        if (port.name === undefined || !(port.name in expected) || expected[port.name] !== port.containerPort)
          problems.push(
            `${object.kind}/${object.metadata.name}: containerPort ${port.name}=${port.containerPort}, the service listens on ${JSON.stringify(expected)}`,
          );
      }
    }
  }
  return problems;
}

// ---- label selectors and NetworkPolicies --------------------------------------------------------

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
}

export function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = key in labels;
    if (operator === 'In' && !(has && values.includes(labels[key]!))) return false;
    if (operator === 'NotIn' && has && values.includes(labels[key]!)) return false;
    if (operator === 'Exists' && !has) return false;
    if (operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** A client of a pod: another pod of the namespace (its labels) or a pod of another namespace. */
export type Peer = { pod: Record<string, string> } | { namespace: Record<string, string> };
/** A pod's port, by number and by the name its container gives it. */
export interface Target {
  labels: Record<string, string>;
  port: number;
  portName?: string;
}

interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: unknown;
}

function peerMatches(peer: PolicyPeer, from: Peer, namespaceLabels: Record<string, string>): boolean {
  if (peer.ipBlock) return false;
  const podLabels = 'pod' in from ? from.pod : undefined;
  const fromNamespace = 'pod' in from ? namespaceLabels : from.namespace;
  if (peer.namespaceSelector === undefined)
    return podLabels !== undefined && selects(peer.podSelector, podLabels);
  if (!selects(peer.namespaceSelector, fromNamespace)) return false;
  // With a namespace selector, a pod selector narrows the pods of the selected namespaces; a pod of
  // another namespace has labels this model does not know, so it matches only without one.
  return peer.podSelector === undefined || (podLabels !== undefined && selects(peer.podSelector, podLabels));
}

/**
 * Whether the NetworkPolicies let `from` open a connection to `target` (the semantics of
 * networking.k8s.io/v1 Ingress rules: a pod no policy selects accepts everything; a selected pod
 * accepts what at least one rule of one selecting policy allows).
 */
export function ingressAllowed(
  objects: K8sObject[],
  { from, to, namespace }: { from: Peer; to: Target; namespace: string },
): boolean {
  const namespaceLabels = { 'kubernetes.io/metadata.name': namespace };
  const policies = objects.filter(
    (o) =>
      o.kind === 'NetworkPolicy' &&
      selects(o.spec.podSelector, to.labels) &&
      ((o.spec.policyTypes as string[] | undefined)?.includes('Ingress') ?? true),
  );
  if (policies.length === 0) return true;
  return policies.some((policy) =>
    ((policy.spec.ingress ?? []) as { from?: PolicyPeer[]; ports?: { port?: number | string }[] }[]).some(
      (rule) => {
        const portOk =
          !rule.ports?.length ||
          rule.ports.some((p) => p.port === undefined || p.port === to.port || p.port === to.portName);
        const fromOk =
          !rule.from?.length || rule.from.some((peer) => peerMatches(peer, from, namespaceLabels));
        return portOk && fromOk;
      },
    ),
  );
}

/** The pod labels and named port of a workload's container port. */
export function portOf(objects: K8sObject[], workload: string, portName: string): Target {
  const found = workloads(objects).find((w) => w.object.metadata.name === workload);
  if (!found) throw new Error(`no workload ${workload}`);
  for (const container of found.pod.containers) {
    const port = container.ports?.find((p) => p.name === portName);
    if (port) return { labels: found.labels, port: port.containerPort, portName };
  }
  throw new Error(`${workload} has no port named ${portName}`);
}

// ---- the configuration a pod starts with ---------------------------------------------------------

/** The pod name a `fieldRef: metadata.name` resolves to in these checks. */
export const POD_NAME = 'push-gateway-7c9d8f6b5-x2k4q';

/**
 * The environment of a container as the kubelet builds it: ConfigMaps (envFrom), then `env`
 * (literals, Secret keys from `secret`, the pod name). A Secret key the container requires but
 * `secret` lacks throws, as the kubelet refuses to start such a container.
 */
export function podEnv(
  objects: K8sObject[],
  container: Container,
  secret: Record<string, string>,
): Record<string, string> {
  const env = Object.fromEntries(literalEnv(objects, container));
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    if (from?.fieldRef?.fieldPath === 'metadata.name') env[variable.name] = POD_NAME;
    if (from?.secretKeyRef) {
      const value = secret[from.secretKeyRef.key];
      if (value !== undefined) env[variable.name] = value;
      else if (!from.secretKeyRef.optional)
        throw new Error(`${container.name}: Secret key ${from.secretKeyRef.key} is missing`);
    }
  }
  return env;
}

/** The values of a generated Secret (base64 `data`). */
export function secretValues(secret: K8sObject): Record<string, string> {
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([key, value]) => [
      key,
      Buffer.from(value, 'base64').toString('utf8'),
    ]),
  );
}

// ---- stopping, disruptions, TLS ------------------------------------------------------------------

/** The Deployments whose Tideline container serves HTTP (a public port), with that container. */
function httpDeployments(objects: K8sObject[]) {
  return workloads(objects).flatMap(({ object, pod, labels }) => {
    if (object.kind !== 'Deployment') return [];
    const container = pod.containers.find(
      (c) => isTidelineImage(c.image) && c.args?.[0] !== undefined && c.args[0] in PUBLIC_PORT,
    );
    return container ? [{ object, pod, labels, container }] : [];
  });
}

/**
 * What is wrong with how an HTTP service stops: no preStop `sleep` pause (the pod would answer 503
 * while Services and the ingress controller still route to it), or a pause plus drain
 * (TIDELINE_SHUTDOWN_TIMEOUT_MS as the manifest sets it) that does not end within
 * terminationGracePeriodSeconds (the kubelet would kill the drain).
 */
export function stopProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const { object, pod, container } of httpDeployments(objects)) {
    const where = `Deployment/${object.metadata.name} ${container.name}`;
    const pause = container.lifecycle?.preStop?.sleep?.seconds;
    if (pause === undefined || pause <= 0) {
      problems.push(`${where}: no preStop sleep`);
      continue;
    }
    const graceMs = (pod.terminationGracePeriodSeconds ?? 30) * 1_000;
    const drainMs = shutdownTimeoutMs(literalEnv(objects, container));
    if (pause * 1_000 + drainMs >= graceMs)
      problems.push(
        `${where}: preStop ${pause} s + drain ${drainMs} ms does not end within the grace period ${graceMs} ms`,
      );
  }
  return problems;
}

/**
 * What is wrong with the availability of the Deployments run by more than one pod (replicas, or an
 * HPA's minReplicas): no PodDisruptionBudget selecting their pods that leaves one running through
 * a drain, or no spread of the replicas over nodes (kubernetes.io/hostname).
 */
export function disruptionProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const budgets = objects.filter((o) => o.kind === 'PodDisruptionBudget');
  for (const { object, pod, labels } of workloads(objects)) {
    if (object.kind !== 'Deployment') continue;
    const hpa = objects.find(
      (o) =>
        o.kind === 'HorizontalPodAutoscaler' &&
        o.spec.scaleTargetRef.kind === 'Deployment' &&
        o.spec.scaleTargetRef.name === object.metadata.name,
    );
    const replicas = (hpa?.spec.minReplicas ?? object.spec.replicas ?? 1) as number;
    if (replicas < 2) continue;
    const where = `Deployment/${object.metadata.name}`;
    const budget = budgets.find((b) => selects(b.spec.selector, labels));
    if (!budget) problems.push(`${where}: no PodDisruptionBudget selects its pods`);
    else if (!(typeof budget.spec.maxUnavailable === 'number' && budget.spec.maxUnavailable < replicas))
      problems.push(
        `${where}: PodDisruptionBudget/${budget.metadata.name} does not keep one of ${replicas} replicas running`,
      );
    const spread = (pod.topologySpreadConstraints ?? []).some(
      (c) => c.topologyKey === 'kubernetes.io/hostname' && selects(c.labelSelector, labels),
    );
    if (!spread) problems.push(`${where}: its replicas are not spread over nodes`);
  }
  return problems;
}

export const TLS_SECRET = 'tideline-tls';

/**
 * What is wrong with the TLS of the Ingresses: a host without a certificate (the `tls:` entry of
 * the Secret TLS_SECRET), or plain HTTP not redirected to HTTPS.
 */
export function tlsProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const ingress of objects.filter((o) => o.kind === 'Ingress')) {
    const where = `Ingress/${ingress.metadata.name}`;
    const tls = (ingress.spec.tls ?? []) as { hosts?: string[]; secretName?: string }[];
    for (const { host } of ingress.spec.rules as { host?: string }[]) {
      if (!tls.some((t) => t.secretName === TLS_SECRET && host !== undefined && t.hosts?.includes(host)))
        problems.push(`${where}: host ${String(host)} has no certificate (Secret ${TLS_SECRET})`);
    }
    if (ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/force-ssl-redirect'] !== 'true')
      problems.push(`${where}: plain HTTP is not redirected to HTTPS`);
  }
  return problems;
}
