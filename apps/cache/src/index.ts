export { type RunningCache, startCache } from './service.ts';
