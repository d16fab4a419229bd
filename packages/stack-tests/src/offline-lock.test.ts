import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installedVersion, offlineLockfile } from './offline-lock.ts';
import { REPO_ROOT } from './process.ts';

const installed = (name: string): string => installedVersion(REPO_ROOT, name);

describe('offlineLockfile (the clean app of the SDK test, installed from npm cache alone)', () => {
  it('pins the closure to the repository lockfile: dependencies, this platform binding, a local tarball', () => {
    const bytes = Buffer.from('not really a tarball');
    const lock = offlineLockfile({
      repoRoot: REPO_ROOT,
      name: 'app',
      dependencies: { '@tideline/client': 'file:client.tgz' },
      devDependencies: { vite: installed('vite') },
      tarballs: [
        {
          name: '@tideline/client',
          file: 'client.tgz',
          manifest: { version: '0.1.0', dependencies: { 'socket.io-client': '^4.8.4' } },
          bytes,
        },
      ],
    });
    const repo = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, unknown>;
    };
    expect(lock.packages['']).toEqual({
      name: 'app',
      dependencies: { '@tideline/client': 'file:client.tgz' },
      devDependencies: { vite: installed('vite') },
    });
    // vite's own dependencies, one level down, and an optional platform binding, as the repo has them.
    for (const path of ['node_modules/vite', 'node_modules/rolldown', 'node_modules/socket.io-client'])
      expect(lock.packages[path]).toEqual(repo.packages[path]);
    expect(Object.keys(lock.packages)).toContain('node_modules/@rolldown/binding-linux-x64-gnu');
    // Nothing the app does not need (the repository's own tools).
    expect(Object.keys(lock.packages)).not.toContain('node_modules/vitest');
    expect(lock.packages['node_modules/@tideline/client']).toMatchObject({
      version: '0.1.0',
      resolved: 'file:client.tgz',
      integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
    });
  });

  it('refuses a version the repository does not install, naming the one it does', () => {
    expect(() =>
      offlineLockfile({
        repoRoot: REPO_ROOT,
        name: 'app',
        dependencies: {},
        devDependencies: { vite: '1.0.0' },
        tarballs: [],
      }),
    ).toThrow(`vite@1.0.0: the repository installs ${installed('vite')} at its top level`);
  });
});
