import { redactCredentials } from '@tideline/config';

/** How a NATS client proves who it is; at most one of user/password or token. */
export interface NatsCredentials {
  user?: string;
  pass?: string;
  token?: string;
  /** TLS towards the server: required when present (`tls://` URLs set it too). */
  tls?: { caFile?: string };
}

/** What `connect()` of nats.js takes for servers and authentication. */
export interface NatsConnectParts {
  /** The server URLs without userinfo: nats.js does not read credentials from URLs. */
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
  tls?: { caFile?: string };
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Splits credentials out of the server URLs (`nats://user:pass@host`, `nats://token@host`) and
 * merges them with the explicit ones, which win. A `tls://` URL requires TLS.
 */
export function natsConnectParts(
  servers: string | string[],
  credentials: NatsCredentials = {},
): NatsConnectParts {
  const list = typeof servers === 'string' ? [servers] : servers;
  const fromUrl: { user?: string; pass?: string; token?: string } = {};
  let tlsScheme = false;
  const plain = list.map((server) => {
    const withScheme = SCHEME.test(server) ? server : `nats://${server}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch {
      return server;
    }
    if (url.protocol === 'tls:') tlsScheme = true;
    if (url.username !== '' || url.password !== '') {
      const user = decodeURIComponent(url.username);
      const pass = decodeURIComponent(url.password);
      if (url.password !== '') Object.assign(fromUrl, { user, pass });
      else fromUrl.token = user;
      url.username = '';
      url.password = '';
    }
    return url.toString().replace(/\/$/, '');
  });
  const out: NatsConnectParts = { servers: plain };
  if (credentials.token !== undefined) out.token = credentials.token;
  else if (credentials.user !== undefined) {
    out.user = credentials.user;
    if (credentials.pass !== undefined) out.pass = credentials.pass;
  } else if (fromUrl.token !== undefined) out.token = fromUrl.token;
  else if (fromUrl.user !== undefined) {
    out.user = fromUrl.user;
    out.pass = credentials.pass ?? fromUrl.pass ?? '';
  }
  if (credentials.tls) out.tls = credentials.tls;
  else if (tlsScheme) out.tls = {};
  return out;
}

/** The server list (or any text naming servers) as it may be printed: no credentials. */
export function printableServers(servers: string | string[]): string {
  return redactCredentials(typeof servers === 'string' ? servers : servers.join(','));
}
