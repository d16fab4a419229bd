import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeconfigYaml } from '@tideline/kube-test-server';
import { describe, expect, it } from 'vitest';
import { KubeconfigError, loadKubeConfig, parseClusterEntries } from './kubeconfig.ts';

const yaml = (server: string, context = 'ctx') =>
  kubeconfigYaml({ cluster: 'c', context, server, token: 't' });

describe('kubeconfig', () => {
  it('entries - name=path[#context]', () => {
    expect(parseClusterEntries(['a=/etc/kube/a.yaml', 'b=/k/b.yaml#prod-admin'])).toEqual([
      { name: 'a', path: '/etc/kube/a.yaml' },
      { name: 'b', path: '/k/b.yaml', context: 'prod-admin' },
    ]);
  });

  it('load - selects the context and requires a server; unreadable or foreign files are refused', async () => {
    const config = await loadKubeConfig({ text: yaml('http://127.0.0.1:1234') });
    expect(config.getCurrentCluster()?.server).toBe('http://127.0.0.1:1234');
    expect(
      (
        await loadKubeConfig({ text: yaml('http://127.0.0.1:1', 'other'), context: 'other' })
      ).getCurrentContext(),
    ).toBe('other');
    await expect(loadKubeConfig({ text: yaml('http://x', 'ctx'), context: 'missing' })).rejects.toThrow(
      KubeconfigError,
    );
    await expect(loadKubeConfig({ text: 'apiVersion: v1\nkind: Config\n' })).rejects.toThrow(
      /no cluster with a server/,
    );
    await expect(loadKubeConfig({ text: '::: not yaml [' })).rejects.toThrow(KubeconfigError);
    await expect(loadKubeConfig({ path: '/nonexistent/kubeconfig' })).rejects.toThrow(
      /cannot read kubeconfig/,
    );
  });

  it('operator kubeconfig - a file that is not a kubeconfig is reported without quoting its content', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tideline-kubeconfig-'));
    try {
      const path = join(dir, 'secret.yaml');
      writeFileSync(path, 'password: SECRET-VALUE\n  broken: [indent\n');
      const error = await loadKubeConfig({ path }).catch((e: unknown) => e as KubeconfigError);
      expect(error).toBeInstanceOf(KubeconfigError);
      expect((error as KubeconfigError).message).toMatch(
        /^not a kubeconfig: invalid YAML \(line \d+, column \d+\)$/,
      );
      writeFileSync(path, '!secret-tag SECRET-VALUE');
      expect(((await loadKubeConfig({ path }).catch((e: unknown) => e)) as Error).message).not.toContain(
        'SECRET',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
