import type { NodeView, WebsiteItem } from '@tideline/contracts';

function cell(text: string, className?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

export function websiteRow(item: WebsiteItem): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset['key'] = String(item.website_id);
  tr.append(
    cell(String(item.website_id)),
    cell(item.primary_domain),
    cell(item.domains.join(', ')),
    cell(item.cname),
    cell(item.line_group.name),
    cell(item.https_enabled ? 'on' : 'off'),
    cell(item.status, item.status === 'active' ? undefined : 'bad'),
  );
  return tr;
}

export function nodeRow(node: NodeView): HTMLTableRowElement {
  const ready = node.dynamic.conditions.find((c) => c.type === 'Ready')?.status ?? 'Unknown';
  const tr = document.createElement('tr');
  tr.dataset['key'] = node.name;
  tr.append(
    cell(node.name),
    cell(ready, ready === 'True' ? undefined : 'bad'),
    cell(node.dynamic.unschedulable ? 'cordoned' : 'yes', node.dynamic.unschedulable ? 'bad' : undefined),
    cell(node.dynamic.taints.map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).join(', ')),
    cell(String(Object.keys(node.dynamic.labels).length)),
    cell(node.static.kubeletVersion),
    cell(node.static.capacity['cpu'] ?? ''),
    cell(node.static.capacity['memory'] ?? ''),
  );
  return tr;
}

/** Replaces the body's rows, flashing the row whose key changed. */
export function renderRows<T>(
  body: HTMLElement,
  items: readonly T[],
  row: (item: T) => HTMLTableRowElement,
  flashKey?: string,
): void {
  const rows = items.map(row);
  if (flashKey !== undefined)
    for (const tr of rows) if (tr.dataset['key'] === flashKey) tr.classList.add('flash');
  body.replaceChildren(...rows);
}
