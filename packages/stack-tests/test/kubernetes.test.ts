import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  authSettings,
  busSettings,
  type CrossRule,
  cacheSettings,
  commonSettings,
  DEVELOPMENT_JWT_SECRET,
  databaseSettings,
  gatewaySettings,
  heartbeatWithinPodStateTtl,
  informerSettings,
  loadConfig,
  managementSettings,
  redisSettings,
  renewWithinLeaseTtl,
  requireApiServerHostsInProduction,
  requireJwtKey,
  requireServiceTokenKey,
  type SettingsSpec,
  statefulSettings,
  websiteApiSettings,
} from '@tideline/config';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  allContainers,
  containerPortProblems,
  disruptionProblems,
  find,
  IMAGE_SERVICES,
  ingressAllowed,
  isTidelineImage,
  type K8sObject,
  KUSTOMIZATIONS,
  literalEnv,
  modelOf,
  type PodSpec,
  podEnv,
  portOf,
  probeProblems,
  ROOT,
  render,
  runtimeServes,
  SETTINGS,
  schemaProblem,
  secretValues,
  selects,
  servedPorts,
  serviceProbes,
  shutdownTimeoutMs,
  stopProblems,
  TLS_SECRET,
  tlsProblems,
  unknownFields,
  variableNames,
  workloads,
} from './kubernetes-manifests.ts';

/**
 * Settings the manifests set that another branch of this session adds to packages/config (the
 * tracing work, issue 16): until it is merged they are not in the settings list, after the merge
 * they are checked like every other one (this list then changes nothing and can go).
 */
const APPS = ['website-api', 'cache', 'informer', 'push-gateway'];
const NAMESPACE = 'tideline';

const rendered = new Map<string, K8sObject[]>();
let runtimePaths: Set<string>;

beforeAll(async () => {
  for (const kustomization of KUSTOMIZATIONS) rendered.set(kustomization, render(kustomization));
  runtimePaths = await runtimeServes(['/healthz', '/readyz']);
});

describe('kubernetes manifests - render and schema', () => {
  it.each(KUSTOMIZATIONS)('kubernetes - %s renders with kubectl kustomize', (kustomization) => {
    const objects = rendered.get(kustomization)!;
    expect(objects.length).toBeGreaterThan(10);
    for (const object of objects) expect(object.metadata.name).toBeTruthy();
  });

  it.each(KUSTOMIZATIONS)(
    'kubernetes - every object of %s validates against the Kubernetes API schema',
    (k) => {
      const problems = rendered
        .get(k)!
        .map(schemaProblem)
        .filter((p) => p !== undefined);
      expect(problems).toEqual([]);
    },
  );

  it.each(KUSTOMIZATIONS)('kubernetes - %s has no field the Kubernetes API does not know (strict)', (k) => {
    expect(rendered.get(k)!.flatMap(unknownFields)).toEqual([]);
  });

  it('kubernetes - a misspelt field is caught (negative control)', () => {
    const deployment = structuredClone(find(rendered.get('overlays/development')!, 'Deployment', 'informer'));
    const container = deployment.spec.template.spec.containers[0];
    container.readinesProbe = container.readinessProbe;
    delete container.readinessProbe;
    expect(unknownFields(deployment)).toEqual([
      'Deployment/informer.spec.template.spec.containers[0].readinesProbe: unknown field',
    ]);
  });

  it('kubernetes - the schema check refuses an invalid object and an unknown kind (negative control)', () => {
    const deployment = structuredClone(
      find(rendered.get('overlays/production')!, 'Deployment', 'push-gateway'),
    );
    deployment.spec.template.spec.terminationGracePeriodSeconds = 'thirty';
    expect(schemaProblem(deployment)).toMatch(/terminationGracePeriodSeconds must be integer/);
    expect(modelOf('apps/v1', 'Deploymnet')).toBeUndefined();
    expect(schemaProblem({ apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x' } })).toMatch(
      /no kind/,
    );
  });

  it('kubernetes - every namespaced object lands in the tideline namespace', () => {
    for (const [, objects] of rendered)
      for (const o of objects)
        if (!['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind))
          expect(`${o.kind}/${o.metadata.name} ${o.metadata.namespace}`).toBe(
            `${o.kind}/${o.metadata.name} ${NAMESPACE}`,
          );
  });
});

describe('kubernetes manifests - probes', () => {
  it('kubernetes - the runtime serves the probe paths', () => {
    expect([...runtimePaths].sort()).toEqual(['/healthz', '/readyz']);
  });

  it.each(KUSTOMIZATIONS)(
    'kubernetes - %s: every service has startup, liveness and readiness probes on a path and port it serves',
    (k) => {
      const objects = rendered.get(k)!;
      expect(new Set(serviceProbes(objects).map((p) => p.service))).toEqual(new Set(APPS));
      expect(probeProblems(objects, runtimePaths)).toEqual([]);
      expect(containerPortProblems(objects)).toEqual([]);
    },
  );

  it('kubernetes - a probe on a port the service does not listen on is caught (negative control)', () => {
    const objects = structuredClone(rendered.get('overlays/production')!);
    const gateway = find(objects, 'Deployment', 'push-gateway').spec.template.spec as PodSpec;
    gateway.containers[0]!.readinessProbe!.httpGet!.port = 3999;
    expect(probeProblems(objects, runtimePaths)).toEqual([
      expect.stringMatching(
        /push-gateway readinessProbe: port 3999 .*not one the service listens on \(3000, 9090\)/,
      ),
    ]);
  });

  it('kubernetes - a probe port that follows the container port but not the service setting is caught (negative control)', () => {
    const objects = structuredClone(rendered.get('overlays/production')!);
    const api = find(objects, 'Deployment', 'website-api').spec.template.spec as PodSpec;
    api.containers[0]!.ports!.find((p) => p.name === 'http')!.containerPort = 8080;
    const problems = [...probeProblems(objects, runtimePaths), ...containerPortProblems(objects)];
    expect(problems).toContainEqual(expect.stringMatching(/website-api .*startupProbe: port http \(8080\)/));
    expect(problems).toContainEqual(expect.stringMatching(/containerPort http=8080/));
  });

  it('kubernetes - a probe on a path the service does not serve is caught (negative control)', () => {
    const objects = structuredClone(rendered.get('overlays/development')!);
    const cache = find(objects, 'Deployment', 'cache').spec.template.spec as PodSpec;
    cache.containers[0]!.livenessProbe!.httpGet!.path = '/health';
    expect(probeProblems(objects, runtimePaths)).toEqual([
      expect.stringMatching(/cache livenessProbe: path \/health, expected \/healthz/),
      expect.stringMatching(/cache livenessProbe: path \/health is not served/),
    ]);
  });

  it.each(KUSTOMIZATIONS)('kubernetes - %s: Prometheus is pointed at the port that serves /metrics', (k) => {
    const objects = rendered.get(k)!;
    for (const app of APPS) {
      const deployment = find(objects, 'Deployment', app);
      const container = (deployment.spec.template.spec as PodSpec).containers[0]!;
      const annotations = deployment.spec.template.metadata.annotations as Record<string, string>;
      expect(annotations['prometheus.io/path'], app).toBe('/metrics');
      expect(Number(annotations['prometheus.io/port']), app).toBe(
        servedPorts(app, literalEnv(objects, container)).management,
      );
    }
  });

  it.each(KUSTOMIZATIONS)(
    'kubernetes - %s: terminationGracePeriodSeconds is above the shutdown timeout of every service',
    (k) => {
      const objects = rendered.get(k)!;
      for (const { object, pod } of workloads(objects)) {
        if (object.kind === 'Job') continue;
        for (const container of pod.containers) {
          if (!isTidelineImage(container.image)) continue;
          const graceMs = (pod.terminationGracePeriodSeconds ?? 30) * 1_000;
          expect(graceMs, object.metadata.name).toBeGreaterThan(
            shutdownTimeoutMs(literalEnv(objects, container)),
          );
        }
      }
    },
  );

  it.each(KUSTOMIZATIONS)(
    'kubernetes - %s: every HTTP service pauses in preStop, and pause plus drain end within the grace period',
    (k) => {
      const objects = rendered.get(k)!;
      const http = workloads(objects).filter(({ pod }) =>
        pod.containers.some((c) => isTidelineImage(c.image) && APPS.includes(c.args?.[0] ?? '')),
      );
      expect(http.map((w) => w.object.metadata.name).sort()).toEqual([...APPS].sort());
      expect(stopProblems(objects)).toEqual([]);
    },
  );

  it('kubernetes - a missing preStop pause, or one the grace period cannot hold, is caught (negative control)', () => {
    const objects = structuredClone(rendered.get('overlays/production')!);
    const cache = find(objects, 'Deployment', 'cache').spec.template.spec as PodSpec;
    delete cache.containers[0]!.lifecycle;
    const gateway = find(objects, 'Deployment', 'push-gateway').spec.template.spec as PodSpec;
    gateway.terminationGracePeriodSeconds = 20;
    expect(stopProblems(objects)).toEqual([
      'Deployment/cache cache: no preStop sleep',
      expect.stringMatching(/push-gateway: preStop 10 s \+ drain 15000 ms does not end within .* 20000 ms/),
    ]);
  });

  it.each(KUSTOMIZATIONS)(
    'kubernetes - %s: the cache rebuilds behind its readiness probe, not its startup budget (it answers /healthz meanwhile)',
    (k) => {
      const container = (find(rendered.get(k)!, 'Deployment', 'cache').spec.template.spec as PodSpec)
        .containers[0]!;
      expect(container.startupProbe?.httpGet?.path).toBe('/healthz');
      expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    },
  );
});

describe('kubernetes manifests - settings and image', () => {
  it.each(KUSTOMIZATIONS)(
    'kubernetes - %s: every TIDELINE_* variable is a setting of packages/config',
    (k) => {
      const objects = rendered.get(k)!;
      const unknown: string[] = [];
      for (const { object, pod } of workloads(objects))
        for (const container of pod.containers)
          for (const name of variableNames(objects, container))
            if (name.startsWith('TIDELINE_') && !SETTINGS.has(name))
              unknown.push(`${object.metadata.name}: ${name}`);
      for (const secret of objects.filter(
        (o) => o.kind === 'Secret' && o.metadata.name.startsWith('tideline-secrets'),
      ))
        for (const name of Object.keys(secret.data ?? {}))
          if (!SETTINGS.has(name)) unknown.push(`Secret: ${name}`);
      expect(unknown).toEqual([]);
    },
  );

  it('kubernetes - a misspelt variable is caught (negative control)', () => {
    const objects = structuredClone(rendered.get('overlays/production')!);
    const pod = find(objects, 'Deployment', 'cache').spec.template.spec as PodSpec;
    pod.containers[0]!.env!.push({ name: 'TIDELINE_CACHE_PROT', value: '3002' });
    const names = variableNames(objects, pod.containers[0]!).filter(
      (n) => n.startsWith('TIDELINE_') && !SETTINGS.has(n),
    );
    expect(names).toContain('TIDELINE_CACHE_PROT');
  });

  it.each(KUSTOMIZATIONS)('kubernetes - %s: every literal value passes the rule of its setting', (k) => {
    const objects = rendered.get(k)!;
    const invalid: string[] = [];
    for (const { object, pod } of workloads(objects))
      for (const container of pod.containers)
        for (const [name, value] of literalEnv(objects, container)) {
          const setting = SETTINGS.get(name);
          if (setting && !setting.schema.safeParse(value).success)
            invalid.push(`${object.metadata.name}: ${name}=${value} (${setting.rule})`);
        }
    for (const secret of objects.filter(
      (o) => o.kind === 'Secret' && o.metadata.name.startsWith('tideline-secrets'),
    ))
      for (const [name, encoded] of Object.entries(secret.data ?? {})) {
        const setting = SETTINGS.get(name);
        if (setting && !setting.schema.safeParse(Buffer.from(encoded, 'base64').toString('utf8')).success)
          invalid.push(`Secret: ${name} (${setting.rule})`);
      }
    expect(invalid).toEqual([]);
  });

  it('kubernetes - OpenTelemetry is configured from a ConfigMap and off by default', () => {
    for (const [, objects] of rendered) {
      const otel = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('tideline-otel'));
      expect(otel?.data).toMatchObject({
        TIDELINE_OTEL_ENABLED: 'false',
        TIDELINE_OTEL_EXPORTER_OTLP_ENDPOINT: expect.stringMatching(/^https?:\/\//),
      });
      for (const { pod } of workloads(objects).filter((w) => w.object.kind === 'Deployment'))
        expect(pod.containers[0]!.envFrom).toContainEqual({ configMapRef: { name: otel!.metadata.name } });
    }
  });

  it('kubernetes - the OpenTelemetry values pass their settings', () => {
    const otel = rendered.get('base')!.find((o) => o.metadata.name.startsWith('tideline-otel'))!;
    for (const [name, value] of Object.entries(otel.data ?? {}))
      expect(SETTINGS.get(name)!.schema.safeParse(value).success, name).toBe(true);
  });

  it.each(KUSTOMIZATIONS)('kubernetes - %s: every Tideline container runs one service of the image', (k) => {
    const objects = rendered.get(k)!;
    const run = workloads(objects).flatMap(({ pod }) =>
      allContainers(pod)
        .filter((c) => isTidelineImage(c.image))
        .map((c) => c.args ?? []),
    );
    for (const args of run) {
      expect(args).toHaveLength(1);
      expect(IMAGE_SERVICES).toContain(args[0]);
    }
    expect(run.map((a) => a[0]).sort()).toEqual([...APPS, 'migrate'].sort());
  });

  it('kubernetes - every website-api pod migrates in an init container before the service starts', () => {
    for (const [, objects] of rendered) {
      expect(objects.filter((o) => o.kind === 'Job')).toEqual([]);
      const api = find(objects, 'Deployment', 'website-api').spec.template.spec as PodSpec;
      const service = api.containers[0]!;
      expect(api.initContainers?.map((c) => c.name)).toEqual(['migrate']);
      const migrate = api.initContainers![0]!;
      expect(migrate.image).toBe(service.image);
      expect(migrate.args).toEqual(['migrate']);
      expect(migrate.env).toContainEqual(service.env!.find((e) => e.name === 'TIDELINE_DATABASE_URL'));
      expect(migrate.envFrom).toContainEqual(
        service.envFrom!.find((e) => e.configMapRef?.name.startsWith('tideline-config')),
      );
      expect(literalEnv(objects, service).get('TIDELINE_WEBSITE_API_MIGRATE_ON_START')).toBe('false');
    }
  });

  it('kubernetes - production runs an explicit release of the image, not latest', () => {
    const images = workloads(rendered.get('overlays/production')!).flatMap(({ pod }) =>
      allContainers(pod).map((c) => c.image),
    );
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) {
      expect(isTidelineImage(image), image).toBe(true);
      const tag = /:([^/:@]+)$/.exec(image)?.[1];
      expect(tag, image).toBeDefined();
      expect(tag, image).not.toBe('latest');
    }
  });

  it('kubernetes - each process is named by its pod (TIDELINE_INSTANCE_ID)', () => {
    for (const [, objects] of rendered)
      for (const { object, pod } of workloads(objects).filter((w) => w.object.kind === 'Deployment'))
        expect(pod.containers[0]!.env, object.metadata.name).toContainEqual({
          name: 'TIDELINE_INSTANCE_ID',
          valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
        });
  });

  it('kubernetes - replicated informers share the clusters (TIDELINE_INFORMER_SHARDING) and watch the cluster they run in', () => {
    for (const [, objects] of rendered) {
      const informer = find(objects, 'Deployment', 'informer');
      expect(informer.spec.replicas).toBeGreaterThan(1);
      const env = literalEnv(objects, (informer.spec.template.spec as PodSpec).containers[0]!);
      expect(env.get('TIDELINE_INFORMER_SHARDING')).toBe('true');
      expect(env.get('TIDELINE_INFORMER_IN_CLUSTER_NAME')).toMatch(/^[a-z0-9-]+$/);
    }
  });
});

/**
 * What each service loads at start: the settings groups of its apps/<service>/src/config.ts and
 * its cross rules that @tideline/config exports (the informer's registration-key and in-cluster
 * name rules live in its app and are not run here). A pod configured as the manifests say must
 * pass them.
 */
const shared = {
  ...commonSettings,
  ...managementSettings,
  ...authSettings,
  ...busSettings,
  ...redisSettings,
};
// biome-ignore lint/suspicious/noExplicitAny: each rule reads its own fields of the loaded config
const START: Record<string, { spec: SettingsSpec; rules: CrossRule<any>[] }> = {
  'website-api': { spec: { ...shared, ...databaseSettings, ...websiteApiSettings }, rules: [requireJwtKey] },
  cache: { spec: { ...shared, ...statefulSettings, ...cacheSettings }, rules: [requireJwtKey] },
  informer: {
    spec: { ...shared, ...statefulSettings, ...informerSettings },
    rules: [requireJwtKey, renewWithinLeaseTtl, requireApiServerHostsInProduction],
  },
  'push-gateway': {
    spec: { ...shared, ...statefulSettings, ...gatewaySettings },
    rules: [requireJwtKey, requireServiceTokenKey, heartbeatWithinPodStateTtl],
  },
};

/** The Secret an operator creates for production, with the required keys of secret.example.env. */
const productionSecret = () => ({
  TIDELINE_JWT_SECRET: randomBytes(32).toString('base64'),
  TIDELINE_DATABASE_URL: 'postgresql://tideline:secret@postgres.example.com:5432/tideline',
  TIDELINE_REDIS_URL: 'rediss://redis.example.com:6379',
  TIDELINE_NATS_URL: 'tls://nats.example.com:4222',
  TIDELINE_INFORMER_REGISTRATION_KEY: randomBytes(32).toString('base64'),
});

const secretOf = (k: string): Record<string, string> =>
  k === 'overlays/development'
    ? secretValues(
        rendered.get(k)!.find((o) => o.kind === 'Secret' && o.metadata.name.startsWith('tideline-secrets'))!,
      )
    : productionSecret();

function loadAs(k: string, app: string, secret: Record<string, string>) {
  const objects = rendered.get(k)!;
  const container = (find(objects, 'Deployment', app).spec.template.spec as PodSpec).containers[0]!;
  return loadConfig(START[app]!.spec, { env: podEnv(objects, container, secret) }, START[app]!.rules);
}

describe('kubernetes manifests - configuration at start', () => {
  it.each(KUSTOMIZATIONS)(
    "kubernetes - %s: each service's pod configuration passes its start-up rules",
    (k) => {
      for (const app of APPS) expect(() => loadAs(k, app, secretOf(k)), app).not.toThrow();
      const objects = rendered.get(k)!;
      const migrate = (find(objects, 'Deployment', 'website-api').spec.template.spec as PodSpec)
        .initContainers![0]!;
      expect(loadConfig(databaseSettings, { env: podEnv(objects, migrate, secretOf(k)) })).toMatchObject({
        databaseUrl: secretOf(k)['TIDELINE_DATABASE_URL'],
      });
      expect(loadAs(k, 'push-gateway', secretOf(k))).toMatchObject({
        managementPort: 9090,
        websiteApiUrl: 'http://website-api:9090',
        cacheUrl: 'http://cache:9090',
      });
    },
  );

  it('kubernetes - production without a JWT key in its Secret does not start (negative control)', () => {
    const { TIDELINE_JWT_SECRET: _dropped, ...withoutKey } = productionSecret();
    expect(() => loadAs('overlays/production', 'website-api', withoutKey)).toThrow(/TIDELINE_JWT_SECRET/);
    expect(() =>
      loadAs('overlays/production', 'cache', {
        ...productionSecret(),
        TIDELINE_JWT_SECRET: DEVELOPMENT_JWT_SECRET,
      }),
    ).toThrow(/not the published development key/);
  });

  it('kubernetes - a required Secret key missing stops the pod (negative control)', () => {
    const { TIDELINE_DATABASE_URL: _dropped, ...withoutDatabase } = productionSecret();
    expect(() => loadAs('overlays/production', 'website-api', withoutDatabase)).toThrow(
      /TIDELINE_DATABASE_URL is missing/,
    );
  });
});

describe('kubernetes manifests - security', () => {
  it.each(KUSTOMIZATIONS)(
    'kubernetes - %s: the namespace enforces the restricted Pod Security Standard',
    (k) => {
      expect(find(rendered.get(k)!, 'Namespace', NAMESPACE).metadata.labels).toMatchObject({
        'pod-security.kubernetes.io/enforce': 'restricted',
      });
    },
  );

  it.each(KUSTOMIZATIONS)(
    'kubernetes - %s: every pod runs non-root, read-only, without capabilities',
    (k) => {
      for (const { object, pod } of workloads(rendered.get(k)!)) {
        expect(pod.securityContext, object.metadata.name).toMatchObject({
          runAsNonRoot: true,
          seccompProfile: { type: 'RuntimeDefault' },
        });
        for (const container of allContainers(pod)) {
          expect(container.securityContext, `${object.metadata.name}/${container.name}`).toMatchObject({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          });
          expect(container.resources?.requests, container.name).toMatchObject({
            cpu: expect.any(String),
            memory: expect.any(String),
          });
          expect(container.resources?.limits?.['memory'], container.name).toBeDefined();
        }
      }
    },
  );

  it('kubernetes - only the informer may read the Kubernetes API, and only nodes (get, list, watch)', () => {
    for (const [, objects] of rendered) {
      const roles = objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
      expect(roles.map((r) => r.metadata.name)).toEqual(['tideline-informer-nodes']);
      expect(roles[0]!.rules).toEqual([
        { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
      ]);
      const bindings = objects.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding');
      expect(bindings.map((b) => [b.roleRef, b.subjects])).toEqual([
        [
          { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'tideline-informer-nodes' },
          [{ kind: 'ServiceAccount', name: 'tideline-informer', namespace: NAMESPACE }],
        ],
      ]);
      for (const { object, pod } of workloads(objects)) {
        if (object.metadata.name === 'informer') expect(pod.serviceAccountName).toBe('tideline-informer');
        else expect(pod.automountServiceAccountToken, object.metadata.name).toBe(false);
      }
    }
  });

  it('kubernetes - the development key is only in the development overlay (production refuses to start without a key of its own)', () => {
    const text = (k: string) => JSON.stringify(rendered.get(k));
    const encoded = Buffer.from(DEVELOPMENT_JWT_SECRET).toString('base64');
    for (const k of ['base', 'overlays/production']) {
      expect(text(k)).not.toContain(DEVELOPMENT_JWT_SECRET);
      expect(text(k)).not.toContain(encoded);
      expect(rendered.get(k)!.filter((o) => o.kind === 'Secret')).toEqual([]);
      const config = rendered.get(k)!.find((o) => o.metadata.name.startsWith('tideline-config'))!;
      expect(config.data?.['TIDELINE_ENV']).toBe('production');
    }
    const dev = rendered.get('overlays/development')!;
    const secret = dev.find((o) => o.kind === 'Secret' && o.metadata.name.startsWith('tideline-secrets'))!;
    expect(Buffer.from(secret.data!['TIDELINE_JWT_SECRET']!, 'base64').toString()).toBe(
      DEVELOPMENT_JWT_SECRET,
    );
    expect(dev.find((o) => o.metadata.name.startsWith('tideline-config'))!.data?.['TIDELINE_ENV']).toBe(
      'development',
    );
  });

  it('kubernetes - the production Secret keys are documented in secret.example.env', () => {
    const documented = new Set(
      readFileSync(`${ROOT}deploy/kubernetes/overlays/production/secret.example.env`, 'utf8')
        .split('\n')
        .map((line) => /^#? ?(TIDELINE_[A-Z0-9_]+)=/.exec(line)?.[1])
        .filter((name) => name !== undefined),
    );
    const objects = rendered.get('overlays/production')!;
    const referenced = new Set(
      workloads(objects).flatMap(({ pod }) =>
        allContainers(pod).flatMap((c) =>
          (c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef] : [])),
        ),
      ),
    );
    for (const ref of referenced) {
      expect(ref.name).toBe('tideline-secrets');
      expect(documented, ref.key).toContain(ref.key);
    }
    for (const name of documented) expect(SETTINGS.has(name), name).toBe(true);
  });
});

describe('kubernetes manifests - network', () => {
  const intruder = { pod: { 'app.kubernetes.io/name': 'intruder' } };
  const otherNamespace = { namespace: { 'kubernetes.io/metadata.name': 'elsewhere' } };
  const gateway = {
    pod: { 'app.kubernetes.io/name': 'tideline', 'app.kubernetes.io/component': 'push-gateway' },
  };
  const monitoring = {
    namespace: { 'kubernetes.io/metadata.name': 'monitoring', 'tideline.io/monitoring': 'true' },
  };

  it.each(KUSTOMIZATIONS)(
    'kubernetes - %s: /internal/* (the management port) is closed to other pods and namespaces',
    (k) => {
      const objects = rendered.get(k)!;
      for (const app of APPS) {
        const management = portOf(objects, app, 'management');
        for (const from of [intruder, otherNamespace])
          expect(
            ingressAllowed(objects, { from, to: management, namespace: NAMESPACE }),
            `${app} from ${JSON.stringify(from)}`,
          ).toBe(false);
        expect(ingressAllowed(objects, { from: monitoring, to: management, namespace: NAMESPACE }), app).toBe(
          true,
        );
      }
      for (const app of ['website-api', 'cache'])
        expect(
          ingressAllowed(objects, {
            from: gateway,
            to: portOf(objects, app, 'management'),
            namespace: NAMESPACE,
          }),
        ).toBe(true);
      for (const app of ['informer', 'push-gateway'])
        expect(
          ingressAllowed(objects, {
            from: gateway,
            to: portOf(objects, app, 'management'),
            namespace: NAMESPACE,
          }),
        ).toBe(false);
    },
  );

  it('kubernetes - without the policies the management port would be open (negative control)', () => {
    const objects = rendered.get('overlays/production')!.filter((o) => o.kind !== 'NetworkPolicy');
    expect(
      ingressAllowed(objects, {
        from: intruder,
        to: portOf(objects, 'cache', 'management'),
        namespace: NAMESPACE,
      }),
    ).toBe(true);
  });

  it.each(KUSTOMIZATIONS)('kubernetes - %s: the public ports are open', (k) => {
    const objects = rendered.get(k)!;
    for (const app of APPS)
      expect(
        ingressAllowed(objects, {
          from: otherNamespace,
          to: portOf(objects, app, 'http'),
          namespace: NAMESPACE,
        }),
      ).toBe(true);
  });

  it('kubernetes - development: the in-cluster infrastructure answers only the services that use it', () => {
    const objects = rendered.get('overlays/development')!;
    const api = {
      pod: { 'app.kubernetes.io/name': 'tideline', 'app.kubernetes.io/component': 'website-api' },
    };
    const postgres = portOf(objects, 'postgres', 'postgres');
    const allowed = (from: Parameters<typeof ingressAllowed>[1]['from'], to: ReturnType<typeof portOf>) =>
      ingressAllowed(objects, { from, to, namespace: NAMESPACE });
    expect(allowed(api, postgres)).toBe(true);
    expect([
      allowed(gateway, postgres),
      allowed(intruder, postgres),
      allowed(otherNamespace, postgres),
    ]).toEqual([false, false, false]);
    for (const [workload, port] of [
      ['redis', 'redis'],
      ['nats', 'client'],
    ] as const) {
      const target = portOf(objects, workload, port);
      expect(
        [allowed(gateway, target), allowed(intruder, target), allowed(otherNamespace, target)],
        workload,
      ).toEqual([true, false, false]);
    }
    expect(allowed(gateway, portOf(objects, 'nats', 'monitoring'))).toBe(false);
  });

  it.each(KUSTOMIZATIONS)(
    'kubernetes - %s: every Service selects the pods of one workload, with its target ports',
    (k) => {
      const objects = rendered.get(k)!;
      for (const service of objects.filter((o) => o.kind === 'Service')) {
        const pods = workloads(objects).filter((w) =>
          selects({ matchLabels: service.spec.selector }, w.labels),
        );
        expect(pods.map((w) => w.object.metadata.name)).toEqual([service.metadata.name]);
        for (const { pod } of pods)
          for (const { targetPort } of service.spec.ports as { targetPort: string | number }[])
            expect(
              pod.containers
                .flatMap((c) => c.ports ?? [])
                .some((p) => p.name === targetPort || p.containerPort === targetPort),
              `${service.metadata.name} ${targetPort}`,
            ).toBe(true);
      }
    },
  );

  it.each(KUSTOMIZATIONS)(
    'kubernetes - %s: the Ingresses reach only public ports; the gateways with cookie affinity',
    (k) => {
      const objects = rendered.get(k)!;
      const ingresses = objects.filter((o) => o.kind === 'Ingress');
      const backends = ingresses.flatMap((i) =>
        (
          i.spec.rules as {
            http: {
              paths: {
                path: string;
                backend: { service: { name: string; port: { name?: string; number?: number } } };
              }[];
            };
          }[]
        )
          .flatMap((rule) => rule.http.paths)
          .map((path) => ({ ingress: i.metadata.name, path: path.path, ...path.backend.service })),
      );
      for (const backend of backends) {
        const service = find(objects, 'Service', backend.name);
        const port = (service.spec.ports as { name: string; port: number; targetPort: string }[]).find(
          (p) => p.name === backend.port.name || p.port === backend.port.number,
        );
        expect(port?.targetPort, `${backend.ingress} ${backend.path}`).toBe('http');
        expect(backend.path.startsWith('/internal')).toBe(false);
      }
      expect(backends).toContainEqual(
        expect.objectContaining({ ingress: 'push-gateway', path: '/socket.io/', name: 'push-gateway' }),
      );
      expect(find(objects, 'Ingress', 'push-gateway').metadata.annotations).toMatchObject({
        'nginx.ingress.kubernetes.io/affinity': 'cookie',
      });
    },
  );

  it.each(KUSTOMIZATIONS)('kubernetes - %s: the gateways autoscale and a drain keeps one running', (k) => {
    const objects = rendered.get(k)!;
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'push-gateway');
    const target = find(objects, hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name);
    expect(target.spec.replicas).toBeUndefined();
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    const pdb = find(objects, 'PodDisruptionBudget', 'push-gateway');
    expect(selects(pdb.spec.selector, target.spec.template.metadata.labels)).toBe(true);
    expect(pdb.spec.maxUnavailable).toBeLessThan(hpa.spec.minReplicas);
  });

  it.each(KUSTOMIZATIONS)(
    'kubernetes - %s: every replicated Deployment has a PodDisruptionBudget and spreads over nodes',
    (k) => {
      const objects = rendered.get(k)!;
      for (const name of ['website-api', 'cache', 'informer'])
        expect(find(objects, 'Deployment', name).spec.replicas, name).toBeGreaterThan(1);
      expect(disruptionProblems(objects)).toEqual([]);
    },
  );

  it('kubernetes - a replicated Deployment without a budget or a spread is caught (negative control)', () => {
    const objects = structuredClone(rendered.get('overlays/production')!).filter(
      (o) => !(o.kind === 'PodDisruptionBudget' && o.metadata.name === 'cache'),
    );
    delete (find(objects, 'Deployment', 'website-api').spec.template.spec as PodSpec)
      .topologySpreadConstraints;
    expect(disruptionProblems(objects)).toEqual([
      'Deployment/cache: no PodDisruptionBudget selects its pods',
      'Deployment/website-api: its replicas are not spread over nodes',
    ]);
  });

  it('kubernetes - production: every Ingress host is served over TLS only', () => {
    const objects = rendered.get('overlays/production')!;
    expect(objects.filter((o) => o.kind === 'Ingress').map((o) => o.metadata.name)).toEqual([
      'push-gateway',
      'website-api',
    ]);
    expect(tlsProblems(objects)).toEqual([]);
  });

  it('kubernetes - an Ingress host without its certificate, or plain HTTP left open, is caught (negative control)', () => {
    const objects = structuredClone(rendered.get('overlays/production')!);
    find(objects, 'Ingress', 'website-api').spec.rules[0].host = 'api.example.com';
    delete find(objects, 'Ingress', 'push-gateway').metadata.annotations![
      'nginx.ingress.kubernetes.io/force-ssl-redirect'
    ];
    expect(tlsProblems(objects)).toEqual([
      'Ingress/push-gateway: plain HTTP is not redirected to HTTPS',
      `Ingress/website-api: host api.example.com has no certificate (Secret ${TLS_SECRET})`,
    ]);
    // The base (and development) stay plain HTTP: the check does see that.
    expect(tlsProblems(rendered.get('base')!)).toContainEqual(expect.stringMatching(/has no certificate/));
  });
});
