// Compiles the TypeScript of every service in the image to plain JavaScript: one ESM file per
// service holding the project's own code (apps/*, packages/*), while third-party packages stay
// imports, resolved at runtime from a production-only node_modules (`npm prune --omit=dev`).
//   node infra/compose/bundle.mjs [outDir]        (default dist/)
// Layout: <outDir>/bin/<service>.mjs, plus the files the code reads relative to its module:
// <outDir>/migrations (packages/db) and <outDir>/lua (packages/stateful).
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const out = resolve(process.argv[2] ?? join(ROOT, 'dist'));

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
writeFileSync(join(out, 'services.json'), `${JSON.stringify(Object.keys(SERVICES), null, 2)}\n`);
const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
console.log(`compiled ${Object.keys(SERVICES).length} services into ${out} (${(bytes / 1e6).toFixed(1)} MB)`);
