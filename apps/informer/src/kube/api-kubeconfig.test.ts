import { describe, expect, it } from 'vitest';
import { type ApiKubeconfigPolicy, checkApiKubeconfig, hostAllowed } from './api-kubeconfig.ts';
import { KubeconfigError } from './kubeconfig-error.ts';

const strict: ApiKubeconfigPolicy = {
  allowExecAndFiles: false,
  allowInsecureServers: false,
  serverHosts: [],
};

function kubeconfig(options: { server?: string; cluster?: string; user?: string; extra?: string } = {}) {
  return `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: ${options.server ?? 'https://k8s.example.com:6443'}
${options.cluster ?? ''}users:
- name: u
  user:
${options.user ?? '    token: inline-token\n'}contexts:
- name: ctx
  context:
    cluster: c
    user: u
current-context: ctx
${options.extra ?? ''}`;
}

/** The field a refusal names, and its message. */
function refusal(text: string, policy: ApiKubeconfigPolicy = strict, context?: string) {
  try {
    checkApiKubeconfig(text, context, policy);
  } catch (error) {
    expect(error).toBeInstanceOf(KubeconfigError);
    const e = error as KubeconfigError;
    expect(e.code).toBe('VALIDATION_FAILED');
    return { field: e.fields?.[0]?.path, message: e.message };
  }
  throw new Error('accepted');
}

describe('API kubeconfig policy', () => {
  it('inline - token, *-data and username/password pass; only the selected context, its cluster and user are kept', () => {
    const doc = checkApiKubeconfig(
      kubeconfig({
        cluster: '    certificate-authority-data: QUJD\n    tls-server-name: api\n',
        user: '    client-certificate-data: QUJD\n    client-key-data: REVG\n    username: a\n    password: b\n',
        extra: 'preferences: {}\n',
      }),
      undefined,
      strict,
    );
    expect(doc).toEqual({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'c',
          cluster: {
            server: 'https://k8s.example.com:6443',
            'certificate-authority-data': 'QUJD',
            'tls-server-name': 'api',
          },
        },
      ],
      users: [
        {
          name: 'u',
          user: {
            'client-certificate-data': 'QUJD',
            'client-key-data': 'REVG',
            username: 'a',
            password: 'b',
          },
        },
      ],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'ctx',
    });
  });

  it('exec - an exec plugin is refused, naming users[0].user.exec', () => {
    expect(
      refusal(
        kubeconfig({
          user: '    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: sh\n',
        }),
      ),
    ).toEqual({
      field: 'kubeconfig.users[0].user.exec',
      message: expect.stringContaining('users[0].user.exec: an exec plugin runs a command'),
    });
  });

  it('file references - token-file, client-certificate, client-key, certificate-authority and an auth provider are refused by name', () => {
    expect(refusal(kubeconfig({ user: '    token-file: /var/run/secrets/token\n' })).field).toBe(
      'kubeconfig.users[0].user.token-file',
    );
    expect(refusal(kubeconfig({ user: '    client-certificate: /etc/cert.pem\n' })).field).toBe(
      'kubeconfig.users[0].user.client-certificate',
    );
    expect(refusal(kubeconfig({ user: '    client-key: /etc/key.pem\n' })).field).toBe(
      'kubeconfig.users[0].user.client-key',
    );
    expect(refusal(kubeconfig({ cluster: '    certificate-authority: /etc/ca.pem\n' })).field).toBe(
      'kubeconfig.clusters[0].cluster.certificate-authority',
    );
    expect(refusal(kubeconfig({ user: '    auth-provider:\n      name: gcp\n' })).field).toBe(
      'kubeconfig.users[0].user.auth-provider',
    );
    expect(
      refusal(
        kubeconfig({ user: '    auth-provider:\n      name: x\n      config:\n        tokenFile: /t\n' }),
      ).field,
    ).toBe('kubeconfig.users[0].user.auth-provider.config.tokenFile');
    expect(refusal(kubeconfig({ user: '    tokenFile: /t\n' })).field).toBe(
      'kubeconfig.users[0].user.tokenFile',
    );
  });

  it('file references - a user the context does not select is checked too (the client reads every token file on load)', () => {
    const text = kubeconfig().replace(
      'users:\n',
      'users:\n- name: other\n  user:\n    token-file: /etc/shadow\n',
    );
    expect(refusal(text).field).toBe('kubeconfig.users[0].user.token-file');
  });

  it('exec and files - allowed only when the operator allows them', () => {
    const text = kubeconfig({ user: '    exec:\n      command: aws\n    client-key: /k.pem\n' });
    const doc = checkApiKubeconfig(text, undefined, { ...strict, allowExecAndFiles: true });
    expect((doc.users as { user: unknown }[])[0]!.user).toEqual({
      exec: { command: 'aws' },
      'client-key': '/k.pem',
    });
  });

  it('servers - only https; http and insecure-skip-tls-verify only when allowed; no credentials, query or odd scheme', () => {
    const field = 'kubeconfig.clusters[0].cluster.server';
    expect(
      refusal(
        kubeconfig({ server: 'http://k8s.example.com', cluster: '    insecure-skip-tls-verify: true\n' }),
      ).field,
    ).toBe(field);
    for (const server of [
      'file:///etc/passwd',
      'ftp://h',
      'unix:/var/run/x.sock',
      'https://user:pw@h',
      'https://h/?a=1',
      'not a url',
    ])
      expect(refusal(kubeconfig({ server: JSON.stringify(server) })).field).toBe(field);
    expect(refusal(kubeconfig({ cluster: '    insecure-skip-tls-verify: true\n' })).field).toBe(
      'kubeconfig.clusters[0].cluster.insecure-skip-tls-verify',
    );
    const insecure = { ...strict, allowInsecureServers: true };
    expect(() =>
      checkApiKubeconfig(
        kubeconfig({ server: 'http://127.0.0.1:8080', cluster: '    insecure-skip-tls-verify: true\n' }),
        undefined,
        insecure,
      ),
    ).not.toThrow();
    expect(refusal(kubeconfig({ server: 'http://127.0.0.1:8080' }), insecure).field).toBe(field);
    expect(refusal(kubeconfig({ cluster: '    proxy-url: socks5://evil:1080\n' })).field).toBe(
      'kubeconfig.clusters[0].cluster.proxy-url',
    );
  });

  it('allow-list - a server host outside the list is refused naming server; host, *.domain, [ipv6] and ports match', () => {
    const hosts = ['k8s.example.com:6443', '*.prod.example.com', '10.0.0.1', '[::1]:443'];
    const allowed = (url: string) => hostAllowed(new URL(url), hosts);
    expect(allowed('https://k8s.example.com:6443')).toBe(true);
    expect(allowed('https://K8S.example.com:6443/prefix')).toBe(true);
    expect(allowed('https://k8s.example.com')).toBe(false);
    expect(allowed('https://a.prod.example.com:1234')).toBe(true);
    expect(allowed('https://prod.example.com')).toBe(false);
    expect(allowed('https://evilprod.example.com')).toBe(false);
    expect(allowed('https://10.0.0.1:6443')).toBe(true);
    expect(allowed('https://0x0a.0.0.1')).toBe(true);
    expect(allowed('https://[0:0::1]')).toBe(true);
    expect(allowed('https://k8s.example.com.evil.org:6443')).toBe(false);
    expect(hostAllowed(new URL('https://anything'), [])).toBe(true);
    expect(refusal(kubeconfig({ server: 'https://evil.org' }), { ...strict, serverHosts: hosts })).toEqual({
      field: 'kubeconfig.clusters[0].cluster.server',
      message: expect.stringContaining('TIDELINE_INFORMER_API_SERVER_HOSTS'),
    });
  });

  it('weird input - unknown fields, aliases, non-mappings and broken YAML are refused without quoting the input', () => {
    expect(refusal(kubeconfig({ extra: 'surprise: 1\n' })).field).toBe('kubeconfig.surprise');
    expect(refusal(kubeconfig({ user: '    token: t\n    as: admin\n' })).field).toBe(
      'kubeconfig.users[0].user.as',
    );
    expect(refusal(kubeconfig({ user: '    token: 12345\n' })).field).toBe('kubeconfig.users[0].user.token');
    const bomb = 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\n';
    expect(refusal(bomb).message).toMatch(/not valid YAML or JSON \(line \d+, column \d+\)/);
    const broken = refusal('token: SECRET-VALUE\n  bad: [indent');
    expect(broken.message).not.toContain('SECRET');
    expect(refusal('!foo SECRET-TAG').message).not.toContain('SECRET');
    expect(refusal('- a\n- b').message).toContain('not a mapping');
    expect(refusal(kubeconfig(), strict, 'missing')).toMatchObject({ field: 'context' });
    expect(refusal(kubeconfig().replace('current-context: ctx\n', '')).message).toContain(
      'no current context',
    );
  });
});
