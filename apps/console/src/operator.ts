import type {
  ClusterStatuses,
  ClusterSummaries,
  DeadLettersAnswer,
  GatewayOperatorAnswer,
  OPERATOR_API,
  RelayOperatorAnswer,
} from '@tideline/contracts';
import { loadSettings, tokenFetcher } from './settings.ts';

/*
 * The operator view: each gateway, the relay, the informer's and the cache's clusters and the dead
 * letters, reloaded every `operatorRefreshMs` from the services' operator endpoints (scope
 * `operator:read`). A refusal is shown as the error body the service answered, with its request id.
 */

/** The operator paths (values of OPERATOR_API; the console imports only types from contracts). */
const PATHS = {
  gateway: '/api/v1/operator/gateway',
  relay: '/api/v1/operator/relay',
  informerClusters: '/api/v1/operator/informer/clusters',
  cacheClusters: '/api/v1/operator/cache/clusters',
  deadLetters: '/api/v1/operator/dead-letters',
} as const satisfies Partial<Record<keyof typeof OPERATOR_API, string>>;

/** Reload interval when neither the URL nor the development config says (TIDELINE_CONSOLE_OPERATOR_REFRESH_MS's default). */
const DEFAULT_REFRESH_MS = 2_000;
/** Fetch a fresh token when the current one expires within this (TIDELINE_CONSOLE_TOKEN_REFRESH_BEFORE_EXPIRY_MS's default). */
const DEFAULT_REFRESH_BEFORE_EXPIRY_MS = 60_000;

const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;

/** A refused call, as the page shows it: `<source>: <status> <code>: <message> (request <id>)`. */
class Refusal extends Error {}

function cell(text: string | number | undefined, field?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text === undefined ? '' : String(text);
  if (field) td.dataset['field'] = field;
  return td;
}

function fill(tbody: HTMLElement, rows: { key: string; cells: HTMLTableCellElement[] }[]): void {
  tbody.replaceChildren(
    ...rows.map(({ key, cells }) => {
      const tr = document.createElement('tr');
      tr.dataset['key'] = key;
      tr.append(...cells);
      return tr;
    }),
  );
}

function age(iso: string | undefined, now: number): string {
  if (!iso) return '?';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return seconds < 120
    ? `${seconds}s`
    : seconds < 7_200
      ? `${Math.round(seconds / 60)}m`
      : `${Math.round(seconds / 3_600)}h`;
}

async function main(): Promise<void> {
  const settings = await loadSettings(window.location);
  const refreshMs = settings.operatorRefreshMs ?? DEFAULT_REFRESH_MS;
  const refreshBefore = settings.refreshBeforeExpiryMs ?? DEFAULT_REFRESH_BEFORE_EXPIRY_MS;
  const fetchToken = settings.tokenUrl ? tokenFetcher(settings.tokenUrl) : undefined;
  let token = settings.token;
  let expiresAt = Number.POSITIVE_INFINITY;
  const bearer = async (): Promise<string> => {
    if (fetchToken && (token === undefined || expiresAt - Date.now() < refreshBefore)) {
      token = await fetchToken();
      const exp = (
        JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: number }
      ).exp;
      expiresAt = exp === undefined ? Number.POSITIVE_INFINITY : exp * 1000;
    }
    if (!token) throw new Error('no token: open the page with #tokenUrl=… or #token=…');
    return token;
  };

  const get = async <T>(source: string, url: string): Promise<T> => {
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${await bearer()}` },
      cache: 'no-store',
    });
    const body = (await response.json().catch(() => undefined)) as
      | { error?: { code?: string; message?: string; requestId?: string } }
      | undefined;
    if (!response.ok) {
      const e = body?.error;
      throw new Refusal(
        `${source}: ${response.status} ${e?.code ?? 'ERROR'}: ${e?.message ?? response.statusText}` +
          (e?.requestId ? ` (request ${e.requestId})` : ''),
      );
    }
    return body as T;
  };

  const refresh = async () => {
    const errors: string[] = [];
    const attempt = async <T>(work: () => Promise<T>, show: (value: T) => void) => {
      try {
        show(await work());
      } catch (error) {
        errors.push(error instanceof Error ? error.message : String(error));
      }
    };
    const now = Date.now();
    // Each gateway is asked on its own: one refusing or down does not hide the others.
    const answered = new Map<string, GatewayOperatorAnswer>();
    const jobs: Promise<void>[] = [
      Promise.all(
        settings.gateways.map((url) =>
          attempt(
            () => get<GatewayOperatorAnswer>(`gateway ${url}`, `${url}${PATHS.gateway}`),
            (answer) => void answered.set(url, answer),
          ),
        ),
      ).then(() =>
        fill(
          $('#op-gateways tbody'),
          settings.gateways
            .filter((url) => answered.has(url))
            .map((url) => ({ url, data: answered.get(url)!.data }))
            .map(({ url, data }) => ({
              key: url,
              cells: [
                cell(url, 'url'),
                cell(data.instanceId, 'instanceId'),
                cell(data.sockets, 'sockets'),
                cell(data.rooms.map((r) => `${r.room} (${r.members})`).join(', '), 'rooms'),
                cell(data.slowConsumerDisconnects, 'slowConsumerDisconnects'),
              ],
            })),
        ),
      ),
    ];
    if (settings.websiteApiUrl)
      jobs.push(
        attempt(
          () => get<RelayOperatorAnswer>('website-api', `${settings.websiteApiUrl}${PATHS.relay}`),
          ({ data }) =>
            fill($('#op-relay tbody'), [
              {
                key: data.topic,
                cells: [
                  cell(data.topic, 'topic'),
                  cell(data.lastEventId, 'lastEventId'),
                  cell(data.publishedId, 'publishedId'),
                  cell(data.lag, 'lag'),
                  cell(data.lagSeconds.toFixed(1), 'lagSeconds'),
                  cell(data.owner, 'owner'),
                  cell(data.leaseExpiresAt, 'leaseExpiresAt'),
                ],
              },
            ]),
        ),
      );
    if (settings.informerUrl)
      jobs.push(
        attempt(
          () => get<ClusterStatuses>('informer', `${settings.informerUrl}${PATHS.informerClusters}`),
          ({ data }) =>
            fill(
              $('#op-informer tbody'),
              data.map((c) => ({
                key: c.name,
                cells: [
                  cell(c.name, 'name'),
                  cell(c.state, 'state'),
                  cell(c.owner, 'owner'),
                  cell(c.lastEventId, 'lastEventId'),
                  cell(c.leaseExpiresAt, 'leaseExpiresAt'),
                  cell(c.nodes, 'nodes'),
                  cell(c.lastError, 'lastError'),
                ],
              })),
            ),
        ),
      );
    if (settings.cacheUrl) {
      jobs.push(
        attempt(
          () => get<ClusterSummaries>('cache', `${settings.cacheUrl}${PATHS.cacheClusters}`),
          ({ data }) =>
            fill(
              $('#op-cache tbody'),
              data.map((c) => ({
                key: c.cluster,
                cells: [
                  cell(c.cluster, 'cluster'),
                  cell(c.nodes, 'nodes'),
                  cell(c.ready, 'ready'),
                  cell(c.notReady, 'notReady'),
                  cell(c.unschedulable, 'unschedulable'),
                  cell(c.lastEventId, 'lastEventId'),
                ],
              })),
            ),
        ),
        attempt(
          // The newest page: during a flood of dead letters, what is failing now.
          () =>
            get<DeadLettersAnswer>('dead letters', `${settings.cacheUrl}${PATHS.deadLetters}?order=newest`),
          ({ data, total }) => {
            const shown = data.length < total ? `the newest ${data.length} of ${total}` : `${total}`;
            $('#op-dead-letters-meta').textContent = `${shown} · redrive with npm run dlq -- redrive`;
            fill(
              $('#op-dead-letters tbody'),
              data.map((l) => ({
                key: String(l.id),
                cells: [
                  cell(l.id, 'id'),
                  cell(l.topic, 'topic'),
                  cell(l.subject, 'subject'),
                  cell(l.group, 'group'),
                  cell(l.reason, 'reason'),
                  cell(age(l.deadLetteredAt, now), 'age'),
                  cell(l.redriven ? 'yes' : 'no', 'redriven'),
                ],
              })),
            );
          },
        ),
      );
    }
    await Promise.all(jobs);
    $('#op-errors').replaceChildren(
      ...errors.map((text) => {
        const li = document.createElement('li');
        li.textContent = text;
        return li;
      }),
    );
    const status = $('#op-status');
    status.dataset['status'] = errors.length === 0 ? 'live' : 'offline';
    status.textContent = errors.length === 0 ? 'live' : `${errors.length} source(s) refused or unreachable`;
    $('#op-updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  };

  const loop = async () => {
    await refresh();
    setTimeout(() => void loop(), refreshMs);
  };
  await loop();
}

main().catch((error: unknown) => {
  const li = document.createElement('li');
  li.textContent = String(error);
  document.querySelector('#op-errors')?.replaceChildren(li);
});
