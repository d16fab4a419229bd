import { defineConfig } from 'tsdown';

/** Runtime imports the published JavaScript may keep; anything else is bundled or refused. */
const EXTERNAL = ['socket.io-client', 'react'];
/** The private workspace package whose code and types are bundled into the build. */
const CONTRACTS = /[\\/]packages[\\/]contracts[\\/]src[\\/]/;

/**
 * The published build: ESM for browsers and bundlers, with bundled type declarations.
 * `@tideline/contracts` is a private workspace package, so its code and types are bundled in;
 * socket.io-client stays a dependency and react an optional peer. The declarations refer to
 * zod's types (the wire shapes are zod schemas), so zod is a dependency for types only: the
 * JavaScript does not import it (test/package.test.ts checks the built imports).
 * No source maps: the output is plain, readable ESM (not minified).
 */
export default defineConfig({
  entry: { index: 'src/index.ts', react: 'src/react.ts' },
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  outDir: 'dist',
  clean: true,
  sourcemap: false,
  tsconfig: 'tsconfig.build.json',
  // The contracts' zod schemas are module-level calls with no effect beyond their value: with the
  // contracts' modules (and external packages, whose imports are kept when used) side-effect free
  // and `z…` calls pure, the schemas the client does not use are dropped and only plain code
  // (e.g. `sequenceStep`) reaches the bundle.
  treeshake: {
    moduleSideEffects: (id: string, external: boolean) => !external && !CONTRACTS.test(id),
    manualPureFunctions: ['z'],
  },
  // eager: declarations of the bundled contracts come from one whole-program emit.
  dts: { tsc: { eager: true } },
  deps: {
    neverBundle: [...EXTERNAL, 'zod'],
    alwaysBundle: ['@tideline/contracts'],
    dts: { alwaysBundle: ['@tideline/contracts'], neverBundle: [...EXTERNAL, 'zod'] },
  },
});
