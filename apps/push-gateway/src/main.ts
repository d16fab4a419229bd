import { runMain } from '@tideline/runtime';
import { startPushGateway } from './gateway.ts';

await runMain('push-gateway', startPushGateway);
