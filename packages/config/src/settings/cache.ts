import { port, str } from '../setting.ts';

/** Settings of apps/cache. */
export const cacheSettings = {
  port: port({
    env: 'TIDELINE_CACHE_PORT',
    default: 3002,
    allowZero: true,
    doc: 'HTTP port of cache (0 picks a free port).',
  }),
  host: str({ env: 'TIDELINE_CACHE_HOST', default: '0.0.0.0', doc: 'Address cache listens on.' }),
};
