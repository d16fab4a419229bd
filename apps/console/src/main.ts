import { connect, type LiveCollection } from '@tideline/client';
import type { NodeView } from '@tideline/contracts';
import { nodeRow, renderRows, websiteRow } from './render.ts';
import { loadSettings } from './settings.ts';

const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;

async function main(): Promise<void> {
  const settings = await loadSettings(window.location);
  const client = connect({ url: settings.gateways, token: settings.token });

  const status = $('#status');
  const showStatus = () => {
    status.dataset['status'] = client.status;
    status.textContent = client.status;
    $('#gateway').textContent = client.currentUrl;
  };
  client.onStatus(showStatus);
  showStatus();
  client.onError((error) => {
    const p = $('#error');
    p.hidden = false;
    p.textContent = `${error.code}: ${error.message}`;
  });

  const websites = client.websites();
  const websitesBody = $('#websites tbody');
  websites.onChange((change) => {
    renderRows(websitesBody, websites.items(), websiteRow, change.kind === 'upsert' ? change.key : undefined);
    $('#websites-meta').textContent = `${websites.size} · event ${websites.position?.eventId ?? '–'}`;
  });

  let nodes: LiveCollection<NodeView> | undefined;
  let stopNodes: (() => void) | undefined;
  const nodesBody = $('#nodes tbody');
  const tabs = $('#clusters');
  const showCluster = (cluster: string) => {
    stopNodes?.();
    nodes?.close();
    nodes = client.nodes(cluster);
    const current = nodes;
    const draw = (flashKey?: string) => {
      renderRows(nodesBody, current.items(), nodeRow, flashKey);
      const where = current.position ? `event ${current.position.eventId}` : 'no event yet';
      $('#nodes-meta').textContent = `${cluster}: ${current.size} · ${where}`;
    };
    stopNodes = current.onChange((change) => {
      if (change.kind === 'removed') {
        // The cluster was unregistered: the collection is empty and idle until it is subscribed again.
        renderRows(nodesBody, [], nodeRow);
        $('#nodes-meta').textContent = `${cluster}: unregistered`;
        return;
      }
      draw(change.kind === 'upsert' ? change.key : undefined);
    });
    draw();
    for (const button of tabs.querySelectorAll('button'))
      button.setAttribute('aria-pressed', String(button.textContent === cluster));
  };
  for (const cluster of settings.clusters) {
    const button = document.createElement('button');
    button.textContent = cluster;
    button.addEventListener('click', () => showCluster(cluster));
    tabs.append(button);
  }
  if (settings.clusters[0]) showCluster(settings.clusters[0]);
}

main().catch((error: unknown) => {
  const p = document.querySelector<HTMLElement>('#error')!;
  p.hidden = false;
  p.textContent = String(error);
});
