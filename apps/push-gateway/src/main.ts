import { runMain } from '@tideline/runtime';
import { startPushGateway } from './service.ts';

await runMain('push-gateway', startPushGateway);
