import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, commonSettings, loadConfig } from '@tideline/config';
import { afterEach, describe, expect, it } from 'vitest';
import { rules, settings } from '../config.ts';
import { loadInClusterConfig } from './in-cluster.ts';
import { KubeconfigError } from './kubeconfig-error.ts';

const saved = { host: process.env['KUBERNETES_SERVICE_HOST'], port: process.env['KUBERNETES_SERVICE_PORT'] };
const dirs: string[] = [];
afterEach(() => {
  for (const [name, value] of [
    ['KUBERNETES_SERVICE_HOST', saved.host],
    ['KUBERNETES_SERVICE_PORT', saved.port],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tideline-sa-unit-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

async function refusal(dir: string): Promise<KubeconfigError> {
  const error = await loadInClusterConfig({ serviceAccountDir: dir }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KubeconfigError);
  return error as KubeconfigError;
}

describe('loadInClusterConfig', () => {
  it('in-cluster - outside a pod (no KUBERNETES_SERVICE_HOST) it says so instead of guessing a server', async () => {
    delete process.env['KUBERNETES_SERVICE_HOST'];
    delete process.env['KUBERNETES_SERVICE_PORT'];
    const error = await refusal(dirWith({ token: 'secret-token', 'ca.crt': 'ca' }));
    expect(error.message).toMatch(/KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set/);
  });

  it('in-cluster - a missing token file is named with its errno code, never with file contents', async () => {
    process.env['KUBERNETES_SERVICE_HOST'] = '10.0.0.1';
    process.env['KUBERNETES_SERVICE_PORT'] = '443';
    const dir = dirWith({ 'ca.crt': 'ca-content-SECRET' });
    const error = await refusal(dir);
    expect(error.message).toBe(`in-cluster: cannot read ${join(dir, 'token')}: ENOENT`);
  });

  it('in-cluster - https to the service address, the CA file verifying it and the token file as bearer', async () => {
    process.env['KUBERNETES_SERVICE_HOST'] = 'fd00::1';
    process.env['KUBERNETES_SERVICE_PORT'] = '6443';
    const dir = dirWith({ token: 't', 'ca.crt': 'c' });
    const config = await loadInClusterConfig({ serviceAccountDir: dir });
    expect(config.getCurrentCluster()).toMatchObject({
      server: 'https://[fd00::1]:6443',
      caFile: join(dir, 'ca.crt'),
      skipTLSVerify: false,
    });
    expect(config.getCurrentUser()?.authProvider).toEqual({
      name: 'tokenFile',
      config: { tokenFile: join(dir, 'token') },
    });
  });

  it('config - an in-cluster name that is also a configured cluster is refused at start', () => {
    const env = {
      TIDELINE_ENV: 'test',
      TIDELINE_INFORMER_CLUSTERS: 'home=/etc/kube/home.yaml',
      TIDELINE_INFORMER_IN_CLUSTER_NAME: 'home',
    };
    expect(() => loadConfig({ ...commonSettings, ...settings }, { env }, rules)).toThrow(ConfigError);
    expect(() => loadConfig({ ...commonSettings, ...settings }, { env }, rules)).toThrow(
      'TIDELINE_INFORMER_IN_CLUSTER_NAME: must be a name no TIDELINE_INFORMER_CLUSTERS entry has (got "home")',
    );
  });
});
