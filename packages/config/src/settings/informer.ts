import { port, str } from '../setting.ts';

/** Settings of apps/informer. */
export const informerSettings = {
  port: port({
    env: 'TIDELINE_INFORMER_PORT',
    default: 3003,
    allowZero: true,
    doc: 'HTTP port of informer (0 picks a free port).',
  }),
  host: str({ env: 'TIDELINE_INFORMER_HOST', default: '0.0.0.0', doc: 'Address informer listens on.' }),
};
