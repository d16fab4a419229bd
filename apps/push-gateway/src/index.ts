export { startPushGateway } from './service.ts';
