import { runMain } from '@tideline/runtime';
import { startInformer } from './service.ts';

await runMain('informer', startInformer);
