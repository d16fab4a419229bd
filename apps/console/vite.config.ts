import { fileURLToPath } from 'node:url';
import { consoleSettings, loadConfig } from '@tideline/config';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

/**
 * Development only: `/dev-config.json` tells the console its gateways, clusters, page size and the
 * development token endpoint (`npm start` runs it; packages/runtime dev-token-endpoint), so the page
 * gets and refreshes its tokens through the SDK's `getToken` with nothing to paste.
 */
function devConfig(config: ReturnType<typeof loadConfig<typeof consoleSettings>>): Plugin {
  return {
    name: 'tideline-dev-config',
    apply: 'serve',
    configureServer(server) {
      server.middlewares.use('/dev-config.json', (_request, response) => {
        response.setHeader('content-type', 'application/json');
        response.setHeader('cache-control', 'no-store');
        response.end(
          JSON.stringify({
            tokenUrl: `http://127.0.0.1:${config.devTokenEndpointPort}/token`,
            gateways: config.consoleGateways,
            clusters: config.consoleClusters,
            pageSize: config.consolePageSize,
            refreshBeforeExpiryMs: config.consoleTokenRefreshBeforeExpiryMs,
            websiteApiUrl: config.consoleWebsiteApiUrl,
            cacheUrl: config.consoleCacheUrl,
            informerUrl: config.consoleInformerUrl,
            operatorRefreshMs: config.consoleOperatorRefreshMs,
          }),
        );
      });
    },
  };
}

export default defineConfig(({ command }) => {
  const config = loadConfig(consoleSettings);
  return {
    plugins: command === 'serve' ? [devConfig(config)] : [],
    // The console runs the SDK from its source (`@tideline/source`: see packages/client/package.json).
    resolve: { conditions: ['@tideline/source', ...defaultClientConditions] },
    server: { host: '127.0.0.1', port: config.consolePort, strictPort: true },
    build: {
      outDir: 'dist',
      emptyOutDir: true,
      // Two pages: the live view and the operator view.
      rollupOptions: {
        input: {
          main: fileURLToPath(new URL('./index.html', import.meta.url)),
          operator: fileURLToPath(new URL('./operator.html', import.meta.url)),
        },
      },
    },
  };
});
