/**
 * `npm start`: the whole Tideline stack on this machine against local PostgreSQL, Redis and NATS
 * (brought up by infra/scripts/bootstrap.sh, which `npm start` runs first). Runs the same topology as docker-compose.yml as local
 * processes, every one listening on 127.0.0.1 only (stack-env.ts), and stops them in reverse order
 * on Ctrl-C, SIGTERM or SIGHUP, or when the npm that started it is gone.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signToken } from '@tideline/auth';
import {
  authSettings,
  commonSettings,
  consoleSettings,
  informerSettings,
  loadConfigOrExit,
} from '@tideline/config';
import { type DevTokenEndpoint, DevTokenEndpointRefused, startDevTokenEndpoint } from '@tideline/runtime';
import {
  configFileSettings,
  LISTEN_HOST_SETTINGS,
  LOOPBACK_HOST,
  STACK_SERVICES,
  type StackService,
  stackEnvironment,
  usesDevelopmentKey,
} from './stack-env.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const runDir = join(root, 'infra', '.run');
mkdirSync(runDir, { recursive: true });

const env = stackEnvironment(process.env, configFileSettings(process.env['TIDELINE_CONFIG_FILE']));
const usingDevelopmentKey = usesDevelopmentKey(process.env);

/** How long a service may take to answer its readiness URL before the stack gives up. */
const READY_TIMEOUT_MS = 60_000;
const READY_POLL_INTERVAL_MS = 250;
/** How long a service may take to stop after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 10_000;
/**
 * How often the stack checks that the npm that started it is still there: a SIGHUP or SIGKILL
 * to npm is not passed on, and would otherwise leave every service running.
 */
const PARENT_CHECK_INTERVAL_MS = 1_000;

const COLORS = [36, 35, 33, 32, 34, 91, 96, 93];
const children: { name: string; child: ChildProcess }[] = [];
let tokenEndpoint: DevTokenEndpoint | undefined;
/** Set once stopping begins; never settles (stopping ends in process.exit). */
let stopping: Promise<never> | undefined;

function run(name: string, service: StackService, extraEnv: NodeJS.ProcessEnv = {}): void {
  // A signal during start-up: the services started so far are being stopped, start no more.
  if (stopping) return;
  const color = COLORS[children.length % COLORS.length];
  const child = spawn(process.execPath, ['--import', 'tsx', ...STACK_SERVICES[service].argv], {
    cwd: root,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `\x1b[${color}m${name.padEnd(15)}\x1b[0m│ `;
  const forward = (stream: NodeJS.WritableStream) => (chunk: Buffer) => {
    for (const line of String(chunk).split('\n')) if (line) stream.write(prefix + line + '\n');
  };
  child.stdout?.on('data', forward(process.stdout));
  child.stderr?.on('data', forward(process.stderr));
  child.on('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`${prefix}exited (${signal ?? code}); stopping the stack\n`);
      void stop(1);
    }
  });
  children.push({ name, child });
}

async function waitReady(name: string, url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (stopping) await stopping;
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, READY_POLL_INTERVAL_MS));
  }
  throw new Error(`${name} was not ready at ${url} after ${READY_TIMEOUT_MS} ms`);
}

/** Stops the services in reverse order, then exits; a second call waits for the first. */
function stop(code: number): Promise<never> {
  stopping ??= stopServices(code);
  return stopping;
}

async function stopServices(code: number): Promise<never> {
  await tokenEndpoint?.close();
  for (const { child } of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill('SIGTERM');
    await new Promise((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(undefined);
      }, STOP_TIMEOUT_MS);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
  }
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(0));
// A failure while starting (a service never ready, the token endpoint failing) stops the services
// started so far instead of leaving them running.
process.on('uncaughtException', (error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  void stop(1);
});
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) void stop(0);
}, PARENT_CHECK_INTERVAL_MS).unref();

const sh = (command: string, args: string[]) => {
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed`);
};

sh('npm', ['run', '--silent', 'db:migrate']);

const clusters: string[] = [];
if (!env['TIDELINE_INFORMER_CLUSTERS']) {
  const kubeconfig = join(runDir, 'demo-kubeconfig.yaml');
  run('kube-demo', 'kube-demo', {
    TIDELINE_KUBE_DEMO_KUBECONFIG: kubeconfig,
  });
  env['TIDELINE_INFORMER_CLUSTERS'] = `demo=${kubeconfig}`;
  clusters.push('demo');
  console.log(
    'no cluster configured (TIDELINE_INFORMER_CLUSTERS): running a demo cluster with simulated nodes',
  );
} else {
  for (const entry of env['TIDELINE_INFORMER_CLUSTERS'].split(','))
    clusters.push(entry.split('=')[0]!.trim());
}

run('website-api', 'website-api');
run('cache', 'cache');
await waitReady('website-api', 'http://127.0.0.1:3001/readyz');
await waitReady('cache', 'http://127.0.0.1:3002/readyz');
run('informer', 'informer');
const gatewayEnv = {
  TIDELINE_GATEWAY_WEBSITE_API_URL: 'http://127.0.0.1:3001',
  TIDELINE_GATEWAY_CACHE_URL: 'http://127.0.0.1:3002',
};
run('push-gateway-1', 'push-gateway', {
  ...gatewayEnv,
  TIDELINE_INSTANCE_ID: 'push-gateway-1',
});
run('push-gateway-2', 'push-gateway', {
  ...gatewayEnv,
  TIDELINE_INSTANCE_ID: 'push-gateway-2',
  TIDELINE_GATEWAY_PORT: '3010',
});
await waitReady('push-gateway-1', 'http://127.0.0.1:3000/readyz');
await waitReady('push-gateway-2', 'http://127.0.0.1:3010/readyz');
// Ready once every cluster is listed and watched: the demo cluster answers too.
const { port: informerPort } = loadConfigOrExit({ port: informerSettings.port }, { env });
await waitReady('informer', `http://127.0.0.1:${informerPort}/readyz`);

// The console gets short-lived tokens through the SDK's getToken from a development token
// endpoint (127.0.0.1 only; it refuses to start outside TIDELINE_ENV=development/test).
const { environment } = commonSettings;
const { jwtIssuer, jwtAudience, jwtDevScopes } = authSettings;
const consoleEnv = {
  TIDELINE_CONSOLE_GATEWAYS:
    env['TIDELINE_CONSOLE_GATEWAYS'] ?? 'http://127.0.0.1:3000,http://127.0.0.1:3010',
  TIDELINE_CONSOLE_CLUSTERS: env['TIDELINE_CONSOLE_CLUSTERS'] ?? clusters.join(','),
};
const devConfig = loadConfigOrExit(
  { environment, jwtIssuer, jwtAudience, jwtDevScopes, ...consoleSettings },
  { env: { ...env, ...consoleEnv } },
);
const consoleOrigins = env['TIDELINE_DEV_TOKEN_ENDPOINT_ALLOWED_ORIGINS']
  ? devConfig.devTokenEndpointAllowedOrigins
  : [`http://127.0.0.1:${devConfig.consolePort}`, `http://localhost:${devConfig.consolePort}`];
if (env['TIDELINE_JWT_SECRET']) {
  tokenEndpoint = await startDevTokenEndpoint({
    environment: devConfig.environment,
    secret: env['TIDELINE_JWT_SECRET'],
    issuer: devConfig.jwtIssuer,
    audience: devConfig.jwtAudience,
    // The console's operator view (/operator.html) reads the operator endpoints: development only.
    scopes: [...new Set([...devConfig.jwtDevScopes, 'operator:read'])],
    ttlSeconds: devConfig.devTokenEndpointTtlSeconds,
    port: devConfig.devTokenEndpointPort,
    allowedOrigins: consoleOrigins,
  }).catch((error: unknown) => {
    if (!(error instanceof DevTokenEndpointRefused)) throw error;
    console.log(`${error.message}: open the console with #token=<a token>`);
    return undefined;
  });
} else {
  console.log(
    'no TIDELINE_JWT_SECRET (public-key tokens): open the console with #token=<a token of your identity provider>',
  );
}
run('console', 'console', {
  ...consoleEnv,
  TIDELINE_DEV_TOKEN_ENDPOINT_PORT: String(devConfig.devTokenEndpointPort),
});
await waitReady('console', `http://127.0.0.1:${devConfig.consolePort}/`);

// Addresses the operator chose (environment or config file) are theirs to answer for.
const chosenHosts = LISTEN_HOST_SETTINGS.map((setting) => setting.env).filter(
  (name) => env[name] !== LOOPBACK_HOST,
);
const listening =
  chosenHosts.length === 0
    ? `Every service listens on ${LOOPBACK_HOST} only.`
    : `Listening where you set ${chosenHosts.join(', ')}; everything else on ${LOOPBACK_HOST} only.`;
const token = signToken({
  secret: env['TIDELINE_JWT_SECRET']!,
  sub: 'developer',
  scopes: ['websites:read', 'websites:write', 'nodes:read', 'clusters:admin', 'operator:read'],
  issuer: env['TIDELINE_JWT_ISSUER'] ?? 'tideline',
  audience: env['TIDELINE_JWT_AUDIENCE'] ?? 'tideline',
  expiresInSeconds: 86_400,
});
console.log(`
Tideline is running.
  console        http://127.0.0.1:${devConfig.consolePort}${tokenEndpoint ? `   (tokens from ${tokenEndpoint.url}, ${devConfig.devTokenEndpointTtlSeconds} s each, refreshed)` : ''}
  operator view  http://127.0.0.1:${devConfig.consolePort}/operator.html
  push-gateways  http://127.0.0.1:3000  http://127.0.0.1:3010   (Socket.IO at /socket.io/)
  website-api    http://127.0.0.1:3001   cache http://127.0.0.1:3002   informer http://127.0.0.1:${informerPort}
${usingDevelopmentKey ? '  NOTE: tokens are signed with the DEVELOPMENT key (TIDELINE_JWT_SECRET unset); never use it in production.\n' : ''}
  A token for curl (24 h):
  export TOKEN=${token}
  curl -H "authorization: Bearer $TOKEN" http://127.0.0.1:3001/api/v1/websites

  ${listening} Ctrl-C stops them all.
`);
