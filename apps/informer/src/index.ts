export { toNodeView } from './domain/node-view.ts';
export { type RunningInformer, startInformer } from './service.ts';
