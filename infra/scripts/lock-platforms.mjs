#!/usr/bin/env node
// The npm registry reachable from our machines serves only the linux builds of some native tools
// (biome, turbo): their other platform packages answer 404, so npm leaves them out of
// package-lock.json, and `npm ci` then refuses the lock ("Missing: @biomejs/cli-darwin-arm64@").
// This records each missing optional platform package as an optional lock entry with the os/cpu/libc
// its name declares, so `npm ci` skips it on non-matching platforms everywhere. Run after
// `npm install` changes the lock: `node infra/scripts/lock-platforms.mjs`. Idempotent.
import { readFileSync, writeFileSync } from 'node:fs';

const LOCK = new URL('../../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
const packages = lock.packages;

const OS = {
  darwin: 'darwin',
  linux: 'linux',
  win32: 'win32',
  windows: 'win32',
  android: 'android',
  freebsd: 'freebsd',
};
const CPU = { x64: 'x64', 64: 'x64', arm64: 'arm64', arm: 'arm', ia32: 'ia32' };

/** os/cpu/libc from names like cli-darwin-arm64, cli-linux-x64-musl, darwin-64, windows-arm64. */
function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.map((p) => OS[p]).find(Boolean);
  const cpu = parts.map((p) => CPU[p]).find(Boolean);
  if (!os || !cpu) return undefined;
  return {
    os: [os],
    cpu: [cpu],
    ...(parts.includes('musl') ? { libc: ['musl'] } : os === 'linux' ? { libc: ['glibc'] } : {}),
  };
}

let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  if (!path.startsWith('node_modules/') || !entry.optionalDependencies) continue;
  const base = path.slice(0, path.lastIndexOf('node_modules/'));
  for (const [dep, version] of Object.entries(entry.optionalDependencies)) {
    const target = `${base}node_modules/${dep}`;
    if (packages[target] || packages[`${path}/node_modules/${dep}`]) continue;
    const platform = platformOf(dep);
    if (!platform) continue;
    packages[target] = { version, ...platform, optional: true, ...(entry.dev ? { dev: true } : {}) };
    added++;
  }
}
const sorted = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
lock.packages = sorted;
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(`lock-platforms: ${added} optional platform entr${added === 1 ? 'y' : 'ies'} added\n`);
