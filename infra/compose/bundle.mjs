// Compiles the TypeScript of every service in the image to plain JavaScript: one ESM file per
// service holding the project's own code (apps/*, packages/*), while third-party packages stay
// imports, resolved at runtime from a production-only node_modules (`npm prune --omit=dev`).
//   node infra/compose/bundle.mjs [outDir] [--node-modules]      (default dist/)
// --node-modules copies into <outDir>/node_modules exactly the installed packages the compiled
// services import, with their dependencies (not the CLIs, bundlers and test tools of the workspace).
// Layout: <outDir>/bin/<service>.mjs, plus the files the code reads relative to its module:
// <outDir>/migrations (packages/db) and <outDir>/lua (packages/stateful).
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const args = process.argv.slice(2);
const out = resolve(args.find((a) => !a.startsWith('--')) ?? join(ROOT, 'dist'));
const withNodeModules = args.includes('--node-modules');

/** The services the image's entrypoint runs, by the name given as its first argument → their entry file. */
const SERVICES = JSON.parse(readFileSync(join(ROOT, 'infra/compose/services.json'), 'utf8'));
/** Files read at runtime through `new URL('../<dir>', import.meta.url)`: copied next to bin/. */
const ASSETS = { migrations: 'packages/db/migrations', lua: 'packages/stateful/lua' };

/** The workspace packages (@tideline/*) are TypeScript sources: compiled in; everything else stays external. */
const thirdPartyExternal = {
  name: 'third-party-external',
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@tideline/') ? undefined : { path: args.path, external: true },
    );
  },
};

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'bin'), { recursive: true });
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: SERVICES,
  outdir: join(out, 'bin'),
  outExtension: { '.js': '.mjs' },
  bundle: true,
  // One self-contained file per service: esbuild's code splitting does not keep ESM evaluation
  // order across chunks (a circular import in packages/config then reads a setting group too early).
  splitting: false,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  sourcemap: 'linked',
  plugins: [thirdPartyExternal],
  logLevel: 'warning',
  metafile: true,
});
for (const [dir, source] of Object.entries(ASSETS))
  cpSync(join(ROOT, source), join(out, dir), { recursive: true });
if (withNodeModules) copyRuntimeDependencies();
writeFileSync(join(out, 'services.json'), `${JSON.stringify(Object.keys(SERVICES), null, 2)}\n`);
const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
console.log(`compiled ${Object.keys(SERVICES).length} services into ${out} (${(bytes / 1e6).toFixed(1)} MB)`);

/** `name` of a bare import (`@scope/pkg/sub` → `@scope/pkg`). */
function packageOf(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** Node's lookup of an installed package from `fromDir` up to the repository root. */
function findPackage(name, fromDir) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === ROOT || dir === dirname(dir)) return undefined;
  }
}

/** Copies the imported packages and their dependencies (optional ones when installed; no optional peers), by their installed paths. */
function copyRuntimeDependencies() {
  const builtins = new Set(builtinModules);
  const wanted = new Set();
  for (const output of Object.values(result.metafile.outputs))
    for (const imported of output.imports)
      if (imported.external && !imported.path.startsWith('node:') && !builtins.has(imported.path))
        wanted.add(packageOf(imported.path));
  const seen = new Set();
  const queue = [...wanted].map((name) => ({ name, from: ROOT, optional: false }));
  while (queue.length > 0) {
    const { name, from, optional } = queue.shift();
    const dir = findPackage(name, from);
    if (!dir) {
      if (optional) continue;
      throw new Error(`${name} (imported from ${relative(ROOT, from) || '.'}) is not installed`);
    }
    if (seen.has(dir)) continue;
    seen.add(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const optionalPeers = manifest.peerDependenciesMeta ?? {};
    for (const dep of Object.keys(manifest.dependencies ?? {}))
      queue.push({ name: dep, from: dir, optional: false });
    for (const dep of Object.keys(manifest.optionalDependencies ?? {}))
      queue.push({ name: dep, from: dir, optional: true });
    // Optional peers (prisma and typescript for @prisma/client) are tools the runtime does not need.
    for (const dep of Object.keys(manifest.peerDependencies ?? {}))
      if (optionalPeers[dep]?.optional !== true) queue.push({ name: dep, from: dir, optional: false });
  }
  for (const dir of seen)
    cpSync(dir, join(out, relative(ROOT, dir)), { recursive: true, dereference: false });
  console.log(`${seen.size} runtime packages for ${wanted.size} imported ones`);
}
