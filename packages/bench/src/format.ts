/**
 * A figure's number as people read it, to about three significant digits: whole and grouped from
 * 100 (`413`, `13,400`), one decimal from 10, two from 1, three significant digits below 1
 * (`0.946`, `0.00031`).
 */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (n === 0) return '0';
  const abs = Math.abs(n);
  if (abs >= 100) return Math.round(n).toLocaleString('en-US');
  if (abs >= 10) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(2);
  return String(Number(n.toPrecision(3)));
}
