import { runMain } from '@tideline/runtime';
import { startWebsiteApi } from './app.ts';

await runMain('website-api', startWebsiteApi);
