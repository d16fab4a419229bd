export { kubeconfigYaml } from './kubeconfig.ts';
export { applyCondition, applyHeartbeat, makeNode } from './node-object.ts';
export { KubeTestServer, type KubeTestServerOptions } from './server.ts';
export { selfSignedCertificate } from './tls.ts';
