import type { ReceivedSpan } from '@tideline/test-support';

const SERVICE_COLOURS: Record<string, string> = {
  'website-api': '#2563eb',
  'push-gateway': '#16a34a',
  informer: '#9333ea',
  cache: '#ea580c',
};
const KIND = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

const escapeHtml = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The spans of one trace in waterfall order: each parent first, then its children by start time. */
export function waterfallOrder(spans: readonly ReceivedSpan[]): { span: ReceivedSpan; depth: number }[] {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, ReceivedSpan[]>();
  for (const span of spans) {
    const parent = ids.has(span.parentSpanId) ? span.parentSpanId : '';
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const out: { span: ReceivedSpan; depth: number }[] = [];
  const visit = (parent: string, depth: number) => {
    const list = [...(children.get(parent) ?? [])].sort((a, b) =>
      a.startTimeUnixNano < b.startTimeUnixNano ? -1 : a.startTimeUnixNano > b.startTimeUnixNano ? 1 : 0,
    );
    for (const span of list) {
      out.push({ span, depth });
      visit(span.spanId, depth + 1);
    }
  };
  visit('', 0);
  return out;
}

/**
 * One trace as a self-contained HTML page: a row per span (service, name, duration) with its bar
 * on a shared time axis, indented by depth, coloured by the process that recorded it.
 */
export function renderWaterfall(spans: readonly ReceivedSpan[], title: string): string {
  const rows = waterfallOrder(spans);
  if (rows.length === 0) return '<p>no spans</p>';
  const start = rows.reduce(
    (m, r) => (r.span.startTimeUnixNano < m ? r.span.startTimeUnixNano : m),
    rows[0]!.span.startTimeUnixNano,
  );
  const end = rows.reduce(
    (m, r) => (r.span.endTimeUnixNano > m ? r.span.endTimeUnixNano : m),
    rows[0]!.span.endTimeUnixNano,
  );
  const totalMs = Math.max(Number(end - start) / 1e6, 0.001);
  const pct = (ns: bigint) => ((Number(ns - start) / 1e6 / totalMs) * 100).toFixed(3);
  const ticks = Array.from({ length: 4 }, (_, i) => (totalMs * i) / 4);
  const body = rows
    .map(({ span, depth }) => {
      const ms = Number(span.endTimeUnixNano - span.startTimeUnixNano) / 1e6;
      const colour = SERVICE_COLOURS[span.service] ?? '#64748b';
      const left = pct(span.startTimeUnixNano);
      const width = Math.max(Number(pct(span.endTimeUnixNano)) - Number(left), 0.15).toFixed(3);
      const detail = [
        span.attributes['tideline.recipients'] !== undefined
          ? `recipients=${span.attributes['tideline.recipients']}`
          : '',
        span.attributes['db.operation.name'] ? String(span.attributes['db.query.text']).slice(0, 60) : '',
      ]
        .filter(Boolean)
        .join(' ');
      return `<tr>
  <td class="svc"><span class="dot" style="background:${colour}"></span>${escapeHtml(span.service)}</td>
  <td class="name" style="padding-left:${8 + depth * 14}px">${escapeHtml(span.name)}<span class="kind">${KIND[span.kind] ?? ''}</span>${detail ? `<div class="detail">${escapeHtml(detail)}</div>` : ''}</td>
  <td class="ms">${ms.toFixed(2)} ms</td>
  <td class="bar"><div style="margin-left:${left}%;width:${width}%;background:${colour}"></div></td>
</tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
  body { font: 13px/1.35 system-ui, sans-serif; margin: 20px; color: #0f172a; background: #fff; }
  h1 { font-size: 16px; margin: 0 0 4px; } p.sub { margin: 0 0 12px; color: #475569; }
  table { border-collapse: collapse; width: 100%; table-layout: fixed; }
  td { border-bottom: 1px solid #e2e8f0; padding: 3px 8px; vertical-align: top; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  td.svc { width: 110px; } td.name { width: 360px; } td.ms { width: 80px; text-align: right; font-variant-numeric: tabular-nums; }
  td.bar div { height: 12px; border-radius: 2px; margin-top: 2px; min-width: 2px; }
  .dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 6px; }
  .kind { color: #94a3b8; margin-left: 6px; font-size: 11px; }
  .detail { color: #64748b; font-size: 11px; overflow: hidden; text-overflow: ellipsis; }
  th { text-align: left; font-weight: 600; color: #475569; border-bottom: 2px solid #cbd5e1; padding: 3px 8px; }
  th.axis { position: relative; } th.axis span { position: absolute; top: 3px; font-weight: 400; font-size: 11px; white-space: nowrap; }
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p class="sub">trace ${escapeHtml(rows[0]!.span.traceId)} · ${rows.length} spans · ${totalMs.toFixed(1)} ms · ${[...new Set(rows.map((r) => r.span.service))].map(escape).join(', ')}</p>
<table>
<tr><th>service</th><th>span</th><th style="text-align:right">duration</th><th class="axis">${ticks
    .map((t, i) => `<span style="left:${i * 25}%;">${t.toFixed(1)} ms</span>`)
    .join('')}&nbsp;</th></tr>
${body}
</table>
</body></html>`;
}
