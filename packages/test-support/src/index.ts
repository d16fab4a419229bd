export { eventually, sleep } from '@tideline/bus/testing';
export { freePort, waitForPort } from './ports.ts';
export { ADMIN_DATABASE_URL, TestDatabase } from './postgres.ts';
export { FaultProxy } from './proxy.ts';
export { DisposableServer } from './servers.ts';
export { TEST_JWT, testToken } from './tokens.ts';
