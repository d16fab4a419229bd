import type { NodeView } from '@tideline/contracts';
import { taintText } from './render.ts';

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string) {
  const el = document.createElement(tag);
  if (text !== undefined) el.textContent = text;
  if (className) el.className = className;
  return el;
}

function section(title: string, id: string, body: HTMLElement): HTMLElement {
  const wrap = element('section');
  wrap.id = id;
  wrap.append(element('h4', title), body);
  return wrap;
}

function table(head: string[], rows: string[][], bad?: (row: string[]) => boolean): HTMLElement {
  if (rows.length === 0) return element('p', 'none', 'none');
  const t = element('table');
  const tr = element('tr');
  for (const h of head) tr.append(element('th', h));
  t.append(element('thead'), element('tbody'));
  t.tHead!.append(tr);
  for (const row of rows) {
    const r = element('tr');
    for (const cell of row) r.append(element('td', cell));
    if (bad?.(row)) r.classList.add('bad');
    t.tBodies[0]!.append(r);
  }
  return t;
}

/** Fills the node details panel (conditions, taints, labels) or hides it when nothing is selected. */
export function showNodeDetails(
  panel: HTMLElement,
  selection: { name: string; node: NodeView | undefined } | undefined,
) {
  panel.hidden = selection === undefined;
  const body = panel.querySelector<HTMLElement>('.details-body')!;
  if (!selection) {
    body.replaceChildren();
    return;
  }
  panel.querySelector('h3')!.textContent = selection.name;
  const { node } = selection;
  if (!node) {
    body.replaceChildren(element('p', 'this node is gone from the cluster', 'bad'));
    return;
  }
  const { dynamic } = node;
  body.replaceChildren(
    section(
      'Conditions',
      'node-conditions',
      table(
        ['type', 'status', 'reason'],
        dynamic.conditions.map((c) => [c.type, c.status, c.reason ?? '']),
        ([type, status]) => (type === 'Ready' ? status !== 'True' : status === 'True'),
      ),
    ),
    section(
      'Taints',
      'node-taints',
      table(
        ['key', 'value', 'effect'],
        dynamic.taints.map((t) => [t.key, t.value ?? '', t.effect]),
      ),
    ),
    section(
      'Labels',
      'node-labels',
      table(
        ['key', 'value'],
        Object.entries(dynamic.labels).sort(([a], [b]) => a.localeCompare(b)),
      ),
    ),
    element(
      'p',
      `${dynamic.unschedulable ? 'cordoned' : 'schedulable'} · kubelet ${node.static.kubeletVersion} · ${node.static.osImage}`,
      'small',
    ),
  );
}
