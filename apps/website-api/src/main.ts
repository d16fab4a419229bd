import { runMain } from '@tideline/runtime';
import { startWebsiteApi } from './service.ts';

await runMain('website-api', startWebsiteApi);
