export { startPushGateway } from './gateway.ts';
