import { port, str } from '../setting.ts';

/** Settings of apps/website-api. */
export const websiteApiSettings = {
  port: port({
    env: 'TIDELINE_WEBSITE_API_PORT',
    default: 3001,
    allowZero: true,
    doc: 'HTTP port of website-api (0 picks a free port).',
  }),
  host: str({ env: 'TIDELINE_WEBSITE_API_HOST', default: '0.0.0.0', doc: 'Address website-api listens on.' }),
};
