import type { ReceivedSpan } from '@tideline/test-support';
import { describe, expect, it } from 'vitest';
import { renderWaterfall, waterfallOrder } from './trace-waterfall.ts';

const span = (spanId: string, parentSpanId: string, start: number, name = spanId): ReceivedSpan => ({
  traceId: 't'.repeat(32),
  spanId,
  parentSpanId,
  name,
  kind: 1,
  service: 'website-api',
  attributes: {},
  startTimeUnixNano: BigInt(start),
  endTimeUnixNano: BigInt(start + 1_000_000),
  status: 0,
});

describe('trace waterfall', () => {
  it('order - each parent comes before its children, siblings by start time, depth by nesting', () => {
    const rows = waterfallOrder([
      span('c2', 'a', 30),
      span('b', '', 5),
      span('a', '', 0),
      span('c1', 'a', 20),
    ]);
    expect(rows.map((r) => `${r.span.spanId}@${r.depth}`)).toEqual(['a@0', 'c1@1', 'c2@1', 'b@0']);
  });

  it('render - span names are escaped, never markup', () => {
    const html = renderWaterfall([span('a', '', 0, '<script>x</script>')], 'trace');
    expect(html).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(html).not.toContain('<script>x');
  });
});
