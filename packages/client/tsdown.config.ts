import { defineConfig } from 'tsdown';

/** Runtime imports the published JavaScript may keep; anything else is bundled or refused. */
const EXTERNAL = ['socket.io-client', 'react'];
/** The private workspace packages whose code and types are bundled into the build. */
const BUNDLED = /[\\/]packages[\\/](contracts|config)[\\/]src[\\/]/;

/**
 * The published build: ESM for browsers and bundlers, with bundled type declarations.
 * `@tideline/contracts` and `@tideline/config/client-defaults` (the SDK's defaults) are private
 * workspace code, so their code and types are bundled in;
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
    moduleSideEffects: (id: string, external: boolean) => !external && !BUNDLED.test(id),
    manualPureFunctions: ['z'],
  },
  // eager: declarations of the bundled contracts come from one whole-program emit.
  dts: { tsc: { eager: true } },
  deps: {
    neverBundle: [...EXTERNAL, 'zod'],
    alwaysBundle: ['@tideline/contracts', '@tideline/config'],
    dts: { alwaysBundle: ['@tideline/contracts', '@tideline/config'], neverBundle: [...EXTERNAL, 'zod'] },
  },
});
