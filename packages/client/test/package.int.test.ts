import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The published package as a consumer gets it: the tsdown build in dist/ and the file list of
 * `npm pack`. Integration project: the build takes a while on a busy machine.
 */
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(PACKAGE_DIR, 'dist');
const BUILD_TIMEOUT_MS = 240_000;
const OUTPUT_BYTES = 16 * 1024 * 1024;
/** Packages the built JavaScript may import: its dependency and its optional peer. */
const RUNTIME_IMPORTS = ['socket.io-client', 'react'];

const exec = promisify(execFile);
const npm = (args: string[]) =>
  exec('npm', args, { cwd: PACKAGE_DIR, timeout: BUILD_TIMEOUT_MS, maxBuffer: OUTPUT_BYTES });

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  sideEffects?: boolean;
  engines?: Record<string, string>;
  files?: string[];
  exports: Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}
const manifest = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as Manifest;

/** Every module specifier a built file imports: static, side-effect-only, re-exports and dynamic. */
function specifiersOf(code: string): string[] {
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\sfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((match) => match[1]!));
}
const packageOf = (specifier: string) =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
const builtFiles = (suffix: string) =>
  readdirSync(DIST)
    .filter((file) => file.endsWith(suffix))
    .map((file) => ({ file, code: readFileSync(join(DIST, file), 'utf8') }));

describe('@tideline/client as published', () => {
  let packed: string[];

  beforeAll(async () => {
    await npm(['run', 'build']);
    // The build above is what `prepack` would run again; --ignore-scripts keeps one build.
    const { stdout } = await npm(['pack', '--dry-run', '--json', '--ignore-scripts']);
    const [result] = JSON.parse(stdout) as { files: { path: string }[] }[];
    packed = result!.files.map((file) => file.path).sort();
  }, BUILD_TIMEOUT_MS);

  it('tarball - ships only the build, its README and manifest: no tests, sources, source maps or build configs', () => {
    for (const required of [
      'README.md',
      'package.json',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/react.js',
      'dist/react.d.ts',
    ])
      expect(packed).toContain(required);
    const unexpected = packed.filter(
      (path) => !/^dist\/[\w.-]+\.(js|d\.ts)$/.test(path) && path !== 'README.md' && path !== 'package.json',
    );
    expect(unexpected).toEqual([]);
    expect(packed.filter((path) => /\.map$|\.test\.|^src\/|^test\/|tsconfig|tsdown/.test(path))).toEqual([]);
  });

  it('bundle - a browser can load it: no Node built-in is imported and nothing is require()d', () => {
    const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
    const files = builtFiles('.js');
    expect(files.map((f) => f.file)).toEqual(expect.arrayContaining(['index.js', 'react.js']));
    for (const { file, code } of files) {
      const specifiers = specifiersOf(code);
      expect(
        specifiers.filter((s) => s.startsWith('node:') || builtins.has(s)),
        file,
      ).toEqual([]);
      expect(code, file).not.toMatch(/\brequire\s*\(/);
      expect(code, file).not.toMatch(/\bprocess\.(env|versions|platform)\b/);
    }
  });

  it('bundle - imports only what the manifest declares: no unpublished workspace package, no zod at run time', () => {
    const declared = new Set([
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {}),
    ]);
    for (const { file, code } of builtFiles('.js')) {
      const packages = specifiersOf(code)
        .filter((s) => !s.startsWith('.'))
        .map(packageOf);
      for (const name of packages) {
        expect(RUNTIME_IMPORTS, `${file} imports ${name}`).toContain(name);
        expect(declared.has(name), `${file} imports ${name}, which package.json does not declare`).toBe(true);
      }
      expect(code, file).not.toMatch(/@tideline\//);
    }
    // The declarations may name zod (its inferred wire types): then zod must be a dependency.
    for (const { file, code } of builtFiles('.d.ts')) {
      for (const name of specifiersOf(code)
        .filter((s) => !s.startsWith('.'))
        .map(packageOf)) {
        expect(name, file).not.toMatch(/^@tideline\//);
        expect(declared.has(name), `${file} refers to ${name}, which package.json does not declare`).toBe(
          true,
        );
      }
    }
  });

  it('manifest - publishable: public, versioned, licensed, side-effect free, every export a built file with types', () => {
    expect(manifest.private).toBe(false);
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(manifest.license).toBeTruthy();
    expect(manifest.sideEffects).toBe(false);
    expect(manifest.engines?.['node']).toBeTruthy();
    expect(manifest.files).toEqual(['dist']);
    expect(Object.keys(manifest.dependencies ?? {}).filter((name) => name.startsWith('@tideline/'))).toEqual(
      [],
    );
    expect(manifest.peerDependenciesMeta?.['react']?.optional).toBe(true);
    expect(Object.keys(manifest.exports).sort()).toEqual(['.', './package.json', './react']);
    for (const entry of ['.', './react']) {
      const target = manifest.exports[entry] as Record<string, string>;
      for (const condition of ['types', 'import', 'default']) {
        const file = target[condition]!;
        expect(file, `${entry} ${condition}`).toMatch(/^\.\/dist\//);
        expect(existsSync(join(PACKAGE_DIR, file)), `${entry} ${condition}: ${file}`).toBe(true);
        expect(packed).toContain(file.slice(2));
      }
    }
  });
});
