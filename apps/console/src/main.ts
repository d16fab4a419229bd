import { type ConnectOptions, connect, type LiveCollection, type TidelineClient } from '@tideline/client';
import type { NodeView, WebsiteItem } from '@tideline/contracts';
import { showNodeDetails } from './details.ts';
import { changedFields, changedNodeFields, LiveTable, nodeColumns, websiteColumns } from './render.ts';
import { loadSettings, tokenFetcher } from './settings.ts';

const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;

/** A change as the SDK reports it; `changed` (the field names) when the SDK version gives it. */
interface ChangeInfo<T> {
  kind: string;
  key?: string | undefined;
  item?: T | undefined;
  changed?: readonly string[] | undefined;
}

/** Why the client is not live: the SDK's state reason when it has one, else the last error it reported. */
function statusIndicator(client: TidelineClient): void {
  const status = $('#status');
  let lastError: string | undefined;
  const show = () => {
    const current = client.status;
    status.dataset['status'] = current;
    const state = (client as unknown as { state?: { code?: string; reason?: string } }).state;
    const reason =
      typeof state === 'object' && state?.reason
        ? `${state.code ?? ''}: ${state.reason}`.replace(/^: /, '')
        : lastError;
    if (current === 'live') lastError = undefined;
    const text =
      current === 'live'
        ? 'live'
        : `${current} — ${reason ?? (current === 'connecting' ? 'opening the connection' : 'connection lost, reconnecting')}`;
    status.textContent = text;
    status.title = text;
    $('#gateway').textContent = client.currentUrl;
  };
  client.onStatus(show);
  client.onError((error) => {
    lastError = `${error.code}: ${error.message}`;
    const p = $('#error');
    p.hidden = false;
    p.textContent = lastError;
    show();
  });
  show();
}

function websitesView(client: TidelineClient, pageSize: number): void {
  const websites = client.websites();
  const previous = new Map<string, WebsiteItem>();
  const table = new LiveTable<WebsiteItem>($('#websites tbody'), websiteColumns, (w) => String(w.website_id));
  const search = $<HTMLInputElement>('#websites-search');
  const prev = $<HTMLButtonElement>('#websites-prev');
  const next = $<HTMLButtonElement>('#websites-next');
  let page = 0;

  const matches = (query: string) => (w: WebsiteItem) =>
    query === '' ||
    [String(w.website_id), w.primary_domain, ...w.domains, w.cname, w.line_group.name].some((text) =>
      text.toLowerCase().includes(query),
    );

  const draw = (changed?: { key: string; fields: readonly string[] }) => {
    const all = websites.items();
    const found = all.filter(matches(search.value.trim().toLowerCase()));
    const pages = Math.max(1, Math.ceil(found.length / pageSize));
    page = Math.min(page, pages - 1);
    table.render(found.slice(page * pageSize, (page + 1) * pageSize), changed);
    $('#websites-page').textContent = `page ${page + 1} of ${pages}`;
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
    const count = found.length === all.length ? `${all.length}` : `${found.length} of ${all.length}`;
    $('#websites-meta').textContent = `${count} websites · event ${websites.position?.eventId ?? '–'}`;
  };

  websites.onChange((raw) => {
    const change = raw as ChangeInfo<WebsiteItem>;
    if (change.kind === 'upsert' && change.key !== undefined && change.item) {
      const fields = change.changed ?? changedFields(previous.get(change.key), change.item);
      previous.set(change.key, change.item);
      draw({ key: change.key, fields });
      return;
    }
    if (change.kind === 'delete' && change.key !== undefined) previous.delete(change.key);
    else {
      previous.clear();
      for (const item of websites.items()) previous.set(String(item.website_id), item);
    }
    draw();
  });
  search.addEventListener('input', () => {
    page = 0;
    draw();
  });
  prev.addEventListener('click', () => {
    page = Math.max(0, page - 1);
    draw();
  });
  next.addEventListener('click', () => {
    page++;
    draw();
  });
  draw();
}

function nodesView(client: TidelineClient, clusters: readonly string[]): void {
  let nodes: LiveCollection<NodeView> | undefined;
  let stopNodes: (() => void) | undefined;
  let selected: string | undefined;
  const previous = new Map<string, NodeView>();
  const tabs = $('#clusters');
  const details = $('#node-details');

  const select = (name: string | undefined) => {
    selected = name;
    for (const tr of $('#nodes tbody').querySelectorAll<HTMLElement>('tr'))
      tr.setAttribute('aria-selected', String(tr.dataset['key'] === selected));
    showNodeDetails(details, name === undefined ? undefined : { name, node: nodes?.get(name) });
  };
  $('#node-details-close').addEventListener('click', () => select(undefined));
  const table = new LiveTable<NodeView>($('#nodes tbody'), nodeColumns, (n) => n.name, select);

  const showCluster = (cluster: string) => {
    stopNodes?.();
    nodes?.close();
    previous.clear();
    select(undefined);
    nodes = client.nodes(cluster);
    const current = nodes;
    const draw = (changed?: { key: string; fields: readonly string[] }) => {
      table.render(current.items(), changed);
      const where = current.position ? `event ${current.position.eventId}` : 'no event yet';
      $('#nodes-meta').textContent = `${cluster}: ${current.size} · ${where}`;
      if (selected !== undefined) select(selected);
    };
    stopNodes = current.onChange((raw) => {
      const change = raw as ChangeInfo<NodeView>;
      if (change.kind === 'removed') {
        // The cluster was unregistered: the collection is empty and closed; choosing the tab again
        // subscribes anew (a re-registered cluster can be followed again).
        previous.clear();
        table.render([]);
        select(undefined);
        $('#nodes-meta').textContent = `${cluster}: unregistered`;
        return;
      }
      if (change.kind === 'upsert' && change.key !== undefined && change.item) {
        const fields = change.changed ?? changedNodeFields(previous.get(change.key), change.item);
        previous.set(change.key, change.item);
        draw({ key: change.key, fields });
        return;
      }
      if (change.kind === 'delete' && change.key !== undefined) previous.delete(change.key);
      else for (const node of current.items()) previous.set(node.name, node);
      draw();
    });
    draw();
    for (const button of tabs.querySelectorAll('button'))
      button.setAttribute('aria-pressed', String(button.textContent === cluster));
  };
  for (const cluster of clusters) {
    const button = document.createElement('button');
    button.textContent = cluster;
    button.addEventListener('click', () => showCluster(cluster));
    tabs.append(button);
  }
  if (clusters[0]) showCluster(clusters[0]);
}

async function main(): Promise<void> {
  const settings = await loadSettings(window.location);
  const options: ConnectOptions = { url: settings.gateways };
  if (settings.tokenUrl) options.getToken = tokenFetcher(settings.tokenUrl);
  else options.token = settings.token;
  if (settings.refreshBeforeExpiryMs !== undefined)
    options.refreshBeforeExpiryMs = settings.refreshBeforeExpiryMs;
  const client = connect(options);
  statusIndicator(client);
  websitesView(client, settings.pageSize);
  nodesView(client, settings.clusters);
}

main().catch((error: unknown) => {
  const p = document.querySelector<HTMLElement>('#error')!;
  p.hidden = false;
  p.textContent = String(error);
});
