export { type TestCertificates, testCertificates } from './certificates.ts';
export { type BusContractTarget, busContractSuite } from './contract-suite.ts';
export { eventually, sleep } from './wait.ts';
