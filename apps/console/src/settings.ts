/** Where the console finds its gateways, token and clusters, and how it shows them. */
export interface ConsoleSettings {
  gateways: string[];
  /** A fixed token (it is not refreshed: the page stops working when it expires)… */
  token?: string | undefined;
  /** …or, preferred, a token endpoint answering `{ token }`, asked at connect and before expiry. */
  tokenUrl?: string | undefined;
  clusters: string[];
  /** Websites per page of the table. */
  pageSize: number;
  /** Ask for a fresh token this long before the current one expires. */
  refreshBeforeExpiryMs?: number | undefined;
  /** The operator view: where website-api, the cache and the informer answer, and how often it reloads. */
  websiteApiUrl?: string | undefined;
  cacheUrl?: string | undefined;
  informerUrl?: string | undefined;
  operatorRefreshMs?: number | undefined;
}

/** Websites per page when neither the URL nor the development config says (TIDELINE_CONSOLE_PAGE_SIZE's default). */
export const DEFAULT_PAGE_SIZE = 50;

const positive = (raw: string | null): number | undefined => {
  if (raw === null) return undefined;
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : undefined;
};

/**
 * Settings come from the URL fragment (`#tokenUrl=…` or `#token=…`, `&gateways=…&clusters=a,b&pageSize=50`,
 * for the operator view `&websiteApi=…&cache=…&informer=…&refreshMs=…`;
 * nothing reaches a server log) or, in development, from `/dev-config.json` served by the Vite dev
 * server (`npm start`), which points at the development token endpoint.
 */
export async function loadSettings(location: Location): Promise<ConsoleSettings> {
  const hash = new URLSearchParams(location.hash.slice(1));
  const token = hash.get('token') ?? undefined;
  const tokenUrl = hash.get('tokenUrl') ?? undefined;
  let base: Partial<ConsoleSettings> = {};
  if (!token && !tokenUrl) {
    const response = await fetch('/dev-config.json');
    if (!response.ok)
      throw new Error('no token: open the console with #tokenUrl=… or #token=…, or run it with `npm start`');
    base = (await response.json()) as Partial<ConsoleSettings>;
  }
  const list = (name: string) => hash.get(name)?.split(',').filter(Boolean);
  return {
    token,
    tokenUrl: tokenUrl ?? base.tokenUrl,
    gateways: list('gateways') ?? base.gateways ?? [location.origin],
    clusters: list('clusters') ?? base.clusters ?? [],
    pageSize: positive(hash.get('pageSize')) ?? base.pageSize ?? DEFAULT_PAGE_SIZE,
    refreshBeforeExpiryMs: positive(hash.get('refreshBeforeExpiryMs')) ?? base.refreshBeforeExpiryMs,
    websiteApiUrl: hash.get('websiteApi') ?? base.websiteApiUrl,
    cacheUrl: hash.get('cache') ?? base.cacheUrl,
    informerUrl: hash.get('informer') ?? base.informerUrl,
    operatorRefreshMs: positive(hash.get('refreshMs')) ?? base.operatorRefreshMs,
  };
}

/** Asks the token endpoint for a token (the SDK calls it at connect and before expiry). */
export function tokenFetcher(url: string): () => Promise<string> {
  return async () => {
    const response = await fetch(url, { cache: 'no-store' });
    if (!response.ok) throw new Error(`token endpoint answered ${response.status}`);
    const { token } = (await response.json()) as { token?: unknown };
    if (typeof token !== 'string' || !token) throw new Error('token endpoint answered no token');
    return token;
  };
}
