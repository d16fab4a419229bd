import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEVELOPMENT_JWT_SECRET,
  gatewaySettings,
  loadConfig,
  managementSettings,
  type Setting,
  websiteApiSettings,
} from '@tideline/config';
import { describe, expect, it } from 'vitest';
import consoleViteConfig from '../../../apps/console/vite.config.ts';
import {
  configFileSettings,
  LISTEN_HOST_SETTINGS,
  LOOPBACK_HOST,
  STACK_SERVICES,
  stackEnvironment,
} from '../../../infra/scripts/stack-env.ts';

/** The address a service reads from `env`, exactly as it does when it starts. */
const hostIn = (env: NodeJS.ProcessEnv, setting: Setting<string>) =>
  loadConfig({ host: setting }, { env }).host;

describe('npm start (infra/scripts/start-stack.ts): the environment of the services it runs', () => {
  it('a host on the network cannot reach the development stack: every service npm start runs listens on loopback only', async () => {
    // The stack signs tokens with the published development key: a listener on 0.0.0.0 would let
    // anyone on the network sign a `websites:write` or `clusters:admin` token and write.
    const env = stackEnvironment({});
    expect(env['TIDELINE_JWT_SECRET']).toBe(DEVELOPMENT_JWT_SECRET);
    for (const [service, { host }] of Object.entries(STACK_SERVICES)) {
      if (host) expect({ service, host: hostIn(env, host) }).toEqual({ service, host: LOOPBACK_HOST });
    }
    // Every service's management listener (when TIDELINE_MANAGEMENT_PORT is set) too.
    expect(hostIn(env, managementSettings.managementHost)).toBe(LOOPBACK_HOST);
    // The console's Vite server takes no address setting: its config fixes it.
    expect(Object.entries(STACK_SERVICES).filter(([, { host }]) => !host)).toEqual([
      ['console', expect.anything()],
    ]);
    const consoleConfig = await consoleViteConfig({ command: 'serve', mode: 'development' });
    expect(consoleConfig.server?.host).toBe(LOOPBACK_HOST);
  });

  it('keeps the address the operator chose in the environment; an empty value is no choice', () => {
    const env = stackEnvironment({ TIDELINE_GATEWAY_HOST: '0.0.0.0', TIDELINE_WEBSITE_API_HOST: '' });
    expect(hostIn(env, gatewaySettings.host)).toBe('0.0.0.0');
    expect(hostIn(env, websiteApiSettings.host)).toBe(LOOPBACK_HOST);
    const others = LISTEN_HOST_SETTINGS.filter((setting) => setting !== gatewaySettings.host);
    for (const setting of others) expect(hostIn(env, setting)).toBe(LOOPBACK_HOST);
  });

  it('keeps the address the operator chose in TIDELINE_CONFIG_FILE', () => {
    const directory = mkdtempSync(join(tmpdir(), 'tideline-stack-env-'));
    try {
      const file = join(directory, 'config.json');
      writeFileSync(file, JSON.stringify({ TIDELINE_GATEWAY_HOST: '0.0.0.0' }));
      const parent = { TIDELINE_CONFIG_FILE: file };
      const env = stackEnvironment(parent, configFileSettings(file));
      expect(hostIn(env, gatewaySettings.host)).toBe('0.0.0.0');
      expect(hostIn(env, websiteApiSettings.host)).toBe(LOOPBACK_HOST);
      // An unreadable file names nothing: the services refuse it themselves.
      expect(configFileSettings(join(directory, 'missing.json')).size).toBe(0);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('signs with the development key only when the operator gives no key', () => {
    expect(stackEnvironment({ TIDELINE_JWT_PUBLIC_KEY: 'a key' })['TIDELINE_JWT_SECRET']).toBeUndefined();
    expect(stackEnvironment({ TIDELINE_JWT_SECRET: 'mine' })['TIDELINE_JWT_SECRET']).toBe('mine');
    expect(stackEnvironment({})['TIDELINE_ENV']).toBe('development');
  });
});
