import { randomBytes } from 'node:crypto';
import { ConfigError, commonSettings, loadConfig } from '@tideline/config';
import { describe, expect, it } from 'vitest';
import { rules, settings } from './config.ts';
import { checkApiKubeconfig } from './kube/api-kubeconfig.ts';
import { KubeconfigError } from './kube/kubeconfig-error.ts';

const load = (env: Record<string, string>) => loadConfig({ ...commonSettings, ...settings }, { env }, rules);

/** Production as the operator configures it, except for the API server allow-list. */
const production = () => ({
  TIDELINE_ENV: 'production',
  TIDELINE_JWT_SECRET: randomBytes(32).toString('base64'),
  TIDELINE_INFORMER_REGISTRATION_KEY: randomBytes(32).toString('base64'),
});

const kubeconfig = (server: string) => `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: ${server}
users:
- name: u
  user:
    token: inline-token
contexts:
- name: ctx
  context:
    cluster: c
    user: u
current-context: ctx
`;

describe('informer configuration', () => {
  it('a kubeconfig cannot make the production informer dial a host the operator did not list', () => {
    // Without a list the informer does not start at all (an empty list would allow any host)…
    let error: unknown;
    try {
      load(production());
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('TIDELINE_INFORMER_API_SERVER_HOSTS');
    // …and with one, the policy the service builds from it refuses any other server.
    const config = load({ ...production(), TIDELINE_INFORMER_API_SERVER_HOSTS: 'k8s.example.com:6443' });
    const policy = {
      allowExecAndFiles: config.informerApiAllowExecAndFiles,
      allowInsecureServers: config.informerApiAllowInsecureServers,
      serverHosts: config.informerApiServerHosts,
    };
    expect(() =>
      checkApiKubeconfig(kubeconfig('https://k8s.example.com:6443'), undefined, policy),
    ).not.toThrow();
    for (const server of [
      'https://169.254.169.254',
      'https://kubernetes.default.svc',
      'https://k8s.example.com:8443',
    ])
      expect(() => checkApiKubeconfig(kubeconfig(server), undefined, policy), server).toThrow(
        KubeconfigError,
      );
  });

  it('development and test keep accepting any API server host (nothing to list on a laptop)', () => {
    expect(load({ TIDELINE_ENV: 'development' }).informerApiServerHosts).toEqual([]);
    expect(load({ TIDELINE_ENV: 'test' }).informerApiServerHosts).toEqual([]);
  });
});
