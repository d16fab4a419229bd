/**
 * What `npm start` (start-stack.ts) runs and the environment it gives each process. Apart from
 * start-stack.ts, which starts the stack when it is imported, so a test can check it.
 */
import {
  cacheSettings,
  DEVELOPMENT_JWT_SECRET,
  gatewaySettings,
  informerSettings,
  kubeDemoSettings,
  managementSettings,
  readConfigFile,
  type Setting,
  websiteApiSettings,
} from '@tideline/config';

/** The interface every listener of the development stack binds to. */
export const LOOPBACK_HOST = '127.0.0.1';

/**
 * Every service start-stack.ts can run: the arguments after `node --import tsx` (relative to the
 * repository root) and the setting of the address it listens on. The console's Vite server has
 * none: apps/console/vite.config.ts fixes its address to 127.0.0.1.
 */
export const STACK_SERVICES = {
  'kube-demo': { argv: ['packages/kube-test-server/src/demo.ts'], host: kubeDemoSettings.kubeDemoHost },
  'website-api': { argv: ['apps/website-api/src/main.ts'], host: websiteApiSettings.host },
  cache: { argv: ['apps/cache/src/main.ts'], host: cacheSettings.host },
  informer: { argv: ['apps/informer/src/main.ts'], host: informerSettings.host },
  'push-gateway': { argv: ['apps/push-gateway/src/main.ts'], host: gatewaySettings.host },
  console: { argv: ['node_modules/vite/bin/vite.js', 'apps/console'], host: undefined },
} satisfies Record<string, { argv: string[]; host: Setting<string> | undefined }>;

export type StackService = keyof typeof STACK_SERVICES;

/**
 * The address settings start-stack.ts pins to loopback: each service's public listener, plus
 * the management listener every service opens when TIDELINE_MANAGEMENT_PORT is set. Several
 * services default to 0.0.0.0 (right in a container), but the stack signs tokens with the
 * published development key: on the network, anyone could sign a `websites:write` token.
 */
export const LISTEN_HOST_SETTINGS: readonly Setting<string>[] = [
  ...Object.values(STACK_SERVICES).flatMap((service) => (service.host ? [service.host] : [])),
  managementSettings.managementHost,
];

/** True when the stack would sign its tokens with the published development key. */
export function usesDevelopmentKey(parent: NodeJS.ProcessEnv): boolean {
  return !parent['TIDELINE_JWT_SECRET'] && !parent['TIDELINE_JWT_PUBLIC_KEY'];
}

/**
 * The environment of the stack's processes: the operator's environment, in development, with the
 * development key when no key is given, and every listener on loopback unless the operator chose
 * an address (in the environment or in the TIDELINE_CONFIG_FILE, named by `fileSettings`).
 */
export function stackEnvironment(
  parent: NodeJS.ProcessEnv,
  fileSettings: ReadonlySet<string> = new Set(),
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...parent, TIDELINE_ENV: parent['TIDELINE_ENV'] ?? 'development' };
  if (usesDevelopmentKey(parent)) env['TIDELINE_JWT_SECRET'] = DEVELOPMENT_JWT_SECRET;
  for (const setting of LISTEN_HOST_SETTINGS) {
    const chosen = parent[setting.env] !== undefined && parent[setting.env] !== '';
    if (!chosen && !fileSettings.has(setting.env)) env[setting.env] = LOOPBACK_HOST;
  }
  return env;
}

/**
 * The variables the TIDELINE_CONFIG_FILE sets. An unreadable or invalid file names none: the
 * services then refuse it with the one-line error of packages/config.
 */
export function configFileSettings(path: string | undefined): ReadonlySet<string> {
  if (!path) return new Set();
  try {
    return new Set(Object.keys(readConfigFile(path)));
  } catch {
    return new Set();
  }
}
