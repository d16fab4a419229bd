import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../load.ts';
import { commonSettings } from './common.ts';
import { informerSettings, requireApiServerHostsInProduction } from './informer.ts';

const spec = { ...commonSettings, ...informerSettings };
const load = (env: Record<string, string>) => loadConfig(spec, { env }, [requireApiServerHostsInProduction]);

describe('requireApiServerHostsInProduction', () => {
  it('a kubeconfig cannot make the production informer dial a host the operator did not list: an empty allow-list is refused at start', () => {
    const envs: Record<string, string>[] = [
      { TIDELINE_ENV: 'production' },
      {},
      { TIDELINE_INFORMER_API_SERVER_HOSTS: ' , ' },
    ];
    for (const env of envs) {
      let error: unknown;
      try {
        load(env);
      } catch (caught) {
        error = caught;
      }
      expect(error, JSON.stringify(env)).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe('TIDELINE_INFORMER_API_SERVER_HOSTS');
      expect((error as ConfigError).message).toMatch(
        /^TIDELINE_INFORMER_API_SERVER_HOSTS: must be set when TIDELINE_ENV is production: list the host\[:port\] of every Kubernetes API server/,
      );
    }
  });

  it('allow-list - production with the listed API servers starts; development and test keep "empty: any host"', () => {
    expect(
      load({
        TIDELINE_ENV: 'production',
        TIDELINE_INFORMER_API_SERVER_HOSTS: 'k8s.example.com:6443,*.clusters.example.com',
      }).informerApiServerHosts,
    ).toEqual(['k8s.example.com:6443', '*.clusters.example.com']);
    expect(load({ TIDELINE_ENV: 'development' }).informerApiServerHosts).toEqual([]);
    expect(load({ TIDELINE_ENV: 'test' }).informerApiServerHosts).toEqual([]);
  });

  it('allow-list - a bare `*` (any host) is no entry: it is refused, not read as a wildcard', () => {
    expect(() => load({ TIDELINE_ENV: 'production', TIDELINE_INFORMER_API_SERVER_HOSTS: '*' })).toThrow(
      /^TIDELINE_INFORMER_API_SERVER_HOSTS: must be a comma-separated list of host\[:port\] entries/,
    );
  });
});
