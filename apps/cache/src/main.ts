import { runMain } from '@tideline/runtime';
import { startCache } from './service.ts';

await runMain('cache', startCache);
