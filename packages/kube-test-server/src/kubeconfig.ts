export interface KubeconfigOptions {
  cluster: string;
  context: string;
  /** API server URL; `http://` servers get `insecure-skip-tls-verify`, which @kubernetes/client-node requires for plain HTTP. */
  server: string;
  token: string;
  /** PEM certificate of an https:// server, written as `certificate-authority-data`. */
  certificateAuthority?: string;
}

const q = (value: string) => JSON.stringify(value);

/** A kubeconfig with one cluster, one token user and one context (the current one). */
export function kubeconfigYaml(options: KubeconfigOptions): string {
  const user = `${options.cluster}-user`;
  const insecure = options.server.startsWith('http:')
    ? '\n    insecure-skip-tls-verify: true'
    : options.certificateAuthority
      ? `\n    certificate-authority-data: ${q(Buffer.from(options.certificateAuthority).toString('base64'))}`
      : '';
  return `apiVersion: v1
kind: Config
clusters:
- name: ${q(options.cluster)}
  cluster:
    server: ${q(options.server)}${insecure}
users:
- name: ${q(user)}
  user:
    token: ${q(options.token)}
contexts:
- name: ${q(options.context)}
  context:
    cluster: ${q(options.cluster)}
    user: ${q(user)}
current-context: ${q(options.context)}
preferences: {}
`;
}
