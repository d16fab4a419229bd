import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One package of a v3 lockfile (`packages` entry), as far as this module reads it. */
interface LockEntry {
  version?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}

interface Lockfile {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
}

/** A package the app installs from a local tarball (what `npm pack` wrote next to its package.json). */
export interface LocalTarball {
  name: string;
  /** The tarball's file name in the app's directory. */
  file: string;
  /** The packed package.json (its dependencies and peers go into the lockfile). */
  manifest: {
    version: string;
    license?: string;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  };
  /** Its bytes, for the lockfile's integrity. */
  bytes: Buffer;
}

export interface OfflineLockOptions {
  /** The repository whose package-lock.json (and so npm's cache, filled by its `npm ci`) holds the packages. */
  repoRoot: string;
  /** The app's package.json fields. */
  name: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  /** Packages installed from tarballs in the app's directory (resolved from there, not the repository). */
  tarballs: LocalTarball[];
}

/** The version of `name` the repository installs at its top level (what an app pinned for {@link offlineLockfile} names). */
export function installedVersion(repoRoot: string, name: string): string {
  return (
    JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
}

/** Where `dep` is found from lockfile path `from` (node's lookup: the nearest node_modules up the tree). */
function resolveFrom(packages: Record<string, LockEntry>, from: string, dep: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base === '' ? `node_modules/${dep}` : `${base}/node_modules/${dep}`;
    if (packages[candidate]) return candidate;
    if (base === '') return undefined;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut === -1 ? '' : base.slice(0, cut);
  }
}

/**
 * A package-lock.json for a small app outside the repository that pins every package to the entry
 * the repository's own lockfile has for it, so `npm ci --offline` installs it from npm's cache (which
 * the repository's `npm ci` filled) without asking the registry anything: no network, no packument
 * fetches that can stall, the same bytes the repository tested. Each direct dependency must be the
 * version the repository installs at its top level; the closure follows dependencies, optional
 * dependencies (npm skips the other platforms' ones) and required peers. Throws naming any package
 * the repository's lockfile does not have, or has in another version.
 */
export function offlineLockfile(options: OfflineLockOptions): Lockfile {
  const root = JSON.parse(readFileSync(join(options.repoRoot, 'package-lock.json'), 'utf8')) as Lockfile;
  if (root.lockfileVersion !== 3)
    throw new Error(`package-lock.json is version ${root.lockfileVersion}, not 3`);
  const repo = root.packages;
  const out: Record<string, LockEntry> = {
    '': { name: options.name, dependencies: options.dependencies, devDependencies: options.devDependencies },
  };
  const pending: string[] = [];
  const take = (from: string, dep: string, range: string, optional: boolean) => {
    const path = resolveFrom(repo, from, dep);
    if (!path || repo[path]?.link) {
      if (optional) return;
      throw new Error(`${dep}@${range} (needed by ${from || 'the app'}) is not installed by the repository`);
    }
    if (out[path]) return;
    out[path] = repo[path]!;
    pending.push(path);
  };
  const needs = (from: string, entry: LockEntry) => {
    for (const [dep, range] of Object.entries(entry.dependencies ?? {})) take(from, dep, range, false);
    for (const [dep, range] of Object.entries(entry.optionalDependencies ?? {})) take(from, dep, range, true);
    for (const [dep, range] of Object.entries(entry.peerDependencies ?? {}))
      if (!entry.peerDependenciesMeta?.[dep]?.optional) take(from, dep, range, false);
  };

  const local = new Map(options.tarballs.map((t) => [t.name, t]));
  for (const [dep, range] of Object.entries({ ...options.dependencies, ...options.devDependencies })) {
    const tarball = local.get(dep);
    if (tarball) continue;
    const path = `node_modules/${dep}`;
    const entry = repo[path];
    if (!entry || entry.link || entry.version !== range)
      throw new Error(
        `${dep}@${range}: the repository installs ${entry?.version ?? (entry?.link ? 'a workspace link' : 'nothing')} at its top level; pin the app to that version`,
      );
    take('', dep, range, false);
  }
  for (const tarball of options.tarballs) {
    const path = `node_modules/${tarball.name}`;
    const { manifest } = tarball;
    out[path] = {
      version: manifest.version,
      resolved: `file:${tarball.file}`,
      integrity: `sha512-${createHash('sha512').update(tarball.bytes).digest('base64')}`,
      ...(manifest.license ? { license: manifest.license } : {}),
      ...(manifest.dependencies ? { dependencies: manifest.dependencies } : {}),
      ...(manifest.peerDependencies ? { peerDependencies: manifest.peerDependencies } : {}),
      ...(manifest.peerDependenciesMeta ? { peerDependenciesMeta: manifest.peerDependenciesMeta } : {}),
    };
    // Its dependencies are found where the app's top level has them (nothing is nested under it).
    needs('', { ...manifest, peerDependencies: manifest.peerDependencies ?? {} });
  }
  for (let path = pending.shift(); path !== undefined; path = pending.shift()) needs(path, repo[path]!);
  return {
    name: options.name,
    lockfileVersion: 3,
    requires: true,
    packages: Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b))),
  } as Lockfile;
}
