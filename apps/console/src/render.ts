import type { NodeView, WebsiteItem } from '@tideline/contracts';

/** One column: the item field it shows (the name a change reports in `changed`) and its text. */
export interface Column<T> {
  field: string;
  text(item: T): string;
  /** Shown in red (not ready, cordoned, not active…). */
  bad?(item: T): boolean;
}

export const websiteColumns: Column<WebsiteItem>[] = [
  { field: 'website_id', text: (w) => String(w.website_id) },
  { field: 'primary_domain', text: (w) => w.primary_domain },
  { field: 'domains', text: (w) => w.domains.join(', ') },
  { field: 'cname', text: (w) => w.cname },
  { field: 'line_group', text: (w) => w.line_group.name },
  { field: 'https_enabled', text: (w) => (w.https_enabled ? 'on' : 'off') },
  { field: 'status', text: (w) => w.status, bad: (w) => w.status !== 'active' },
];

const readyOf = (node: NodeView) =>
  node.dynamic.conditions.find((c) => c.type === 'Ready')?.status ?? 'Unknown';
export const taintText = (t: { key: string; value?: string | undefined; effect: string }) =>
  `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`;

/** Node columns name the node fields of `nodes:update` `changed` (NodeField). */
export const nodeColumns: Column<NodeView>[] = [
  { field: 'name', text: (n) => n.name },
  { field: 'conditions', text: readyOf, bad: (n) => readyOf(n) !== 'True' },
  {
    field: 'unschedulable',
    text: (n) => (n.dynamic.unschedulable ? 'cordoned' : 'yes'),
    bad: (n) => n.dynamic.unschedulable,
  },
  { field: 'taints', text: (n) => n.dynamic.taints.map(taintText).join(', ') },
  { field: 'labels', text: (n) => String(Object.keys(n.dynamic.labels).length) },
  { field: 'nodeInfo', text: (n) => n.static.kubeletVersion },
  { field: 'capacity', text: (n) => n.static.capacity['cpu'] ?? '' },
  { field: 'capacity', text: (n) => n.static.capacity['memory'] ?? '' },
];

/** The top-level fields whose value differs between two copies of an item (all of them for a new item). */
export function changedFields(before: unknown, after: unknown): string[] {
  if (typeof after !== 'object' || after === null) return [];
  const old = (typeof before === 'object' && before !== null ? before : {}) as Record<string, unknown>;
  return Object.entries(after as Record<string, unknown>)
    .filter(([field, value]) => JSON.stringify(value) !== JSON.stringify(old[field]))
    .map(([field]) => field);
}

/** Node views nest their fields (static/dynamic); `changed` names them as NodeField does. */
export function changedNodeFields(before: NodeView | undefined, after: NodeView): string[] {
  if (!before) return nodeColumns.map((c) => c.field);
  const fields = [
    ...changedFields(before.dynamic, after.dynamic),
    ...changedFields(before.static, after.static).map((f) =>
      f === 'capacity' || f === 'allocatable' ? f : 'nodeInfo',
    ),
  ];
  return [...new Set(fields)];
}

/**
 * A table body kept in step with a live list: rows are keyed, a row is rebuilt only when its item
 * changed, and the cells of the fields a change names get the `flash` class (removed when the
 * animation ends, so re-inserting the row does not flash it again). The row keeps the names of
 * its last change in `data-changed`.
 */
export class LiveTable<T> {
  private readonly rows = new Map<string, { item: T; tr: HTMLTableRowElement }>();

  constructor(
    private readonly body: HTMLElement,
    private readonly columns: Column<T>[],
    private readonly keyOf: (item: T) => string,
    private readonly onRowClick?: (key: string) => void,
  ) {}

  /** Shows `items` (in order); `changed` flashes the named fields of one row. */
  render(items: readonly T[], changed?: { key: string; fields: readonly string[] }): void {
    const shown = new Set<string>();
    const trs = items.map((item) => {
      const key = this.keyOf(item);
      shown.add(key);
      const cached = this.rows.get(key);
      if (cached && cached.item === item && changed?.key !== key) return cached.tr;
      const tr = this.row(item, key, changed?.key === key ? changed.fields : []);
      this.rows.set(key, { item, tr });
      return tr;
    });
    // Rows of items no longer shown are forgotten: a later render builds them afresh, unflashed.
    for (const key of this.rows.keys()) if (!shown.has(key)) this.rows.delete(key);
    this.body.replaceChildren(...trs);
  }

  private row(item: T, key: string, fields: readonly string[]): HTMLTableRowElement {
    const tr = document.createElement('tr');
    tr.dataset['key'] = key;
    if (fields.length > 0) tr.dataset['changed'] = fields.join(',');
    for (const column of this.columns) {
      const td = document.createElement('td');
      td.textContent = column.text(item);
      td.dataset['field'] = column.field;
      if (column.bad?.(item)) td.classList.add('bad');
      if (fields.includes(column.field)) {
        td.classList.add('flash');
        td.addEventListener('animationend', () => td.classList.remove('flash'), { once: true });
      }
      tr.append(td);
    }
    if (this.onRowClick) {
      tr.tabIndex = 0;
      tr.classList.add('clickable');
      const open = () => this.onRowClick!(key);
      tr.addEventListener('click', open);
      tr.addEventListener('keydown', (event) => {
        if (event.key === 'Enter') open();
      });
    }
    return tr;
  }
}
