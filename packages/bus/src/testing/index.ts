export { type BusContractTarget, busContractSuite } from './contract-suite.ts';
export { eventually, sleep } from './wait.ts';
