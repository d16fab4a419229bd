import { signToken } from '@tideline/auth';
import { DEVELOPMENT_JWT_SECRET } from '@tideline/config';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

/**
 * Development only: `/dev-config.json` hands the console its gateways and a development token
 * (signed with the development key) so `npm start` opens a working page with nothing to paste.
 */
function devConfig(): Plugin {
  return {
    name: 'tideline-dev-config',
    apply: 'serve',
    configureServer(server) {
      server.middlewares.use('/dev-config.json', (_request, response) => {
        const env = process.env;
        const token = signToken({
          secret: env['TIDELINE_JWT_SECRET'] ?? DEVELOPMENT_JWT_SECRET,
          sub: 'console',
          scopes: ['websites:read', 'nodes:read'],
          issuer: env['TIDELINE_JWT_ISSUER'] ?? 'tideline',
          audience: env['TIDELINE_JWT_AUDIENCE'] ?? 'tideline',
          expiresInSeconds: Number(env['TIDELINE_CONSOLE_TOKEN_TTL_SECONDS'] ?? 3600),
        });
        response.setHeader('content-type', 'application/json');
        response.end(
          JSON.stringify({
            token,
            gateways: (env['TIDELINE_CONSOLE_GATEWAYS'] ?? 'http://127.0.0.1:3000').split(','),
            clusters: (env['TIDELINE_CONSOLE_CLUSTERS'] ?? 'demo').split(','),
          }),
        );
      });
    },
  };
}

export default defineConfig({
  plugins: [devConfig()],
  // The console runs the SDK from its source (`@tideline/source`: see packages/client/package.json).
  resolve: { conditions: ['@tideline/source', ...defaultClientConditions] },
  server: { host: '127.0.0.1', port: Number(process.env['TIDELINE_CONSOLE_PORT'] ?? 5173), strictPort: true },
  build: { outDir: 'dist', emptyOutDir: true },
});
