import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  dashboardQueries,
  deployQueries,
  exposedMetricNames,
  metricNamesOf,
  missingMetrics,
} from './dashboard-metrics.ts';
import { REPO_ROOT } from './process.ts';

describe('PromQL metric names', () => {
  it('promql - names the selected metrics, never functions, label names, keywords, durations or strings', () => {
    expect(
      metricNamesOf(
        'histogram_quantile(0.99, sum by (le, route) (rate(http_seconds_bucket{route="/rate", le!="+Inf"}[5m] offset 1h))) > on (job) group_left up',
      ),
    ).toEqual(['http_seconds_bucket', 'up']);
    expect(metricNamesOf('sum without (instance) (increase(errors_total[10m:1m])) or vector(0)')).toEqual([
      'errors_total',
    ]);
    expect(metricNamesOf('count({__name__="by_name_total", job="sum"}) and bool_metric')).toEqual([
      'bool_metric',
      'by_name_total',
    ]);
    expect(
      metricNamesOf('label_replace(a_metric, "dst", "$1", "src", "(.*)") unless topk(3, b_metric)'),
    ).toEqual(['a_metric', 'b_metric']);
  });

  it('promql - an expression that does not parse is an error, not an empty list', () => {
    expect(() => metricNamesOf('sum(rate(foo_total[5m])')).toThrow(/does not parse/);
  });

  it('exposition - sample names are read as written, histogram suffixes included, comments skipped', () => {
    const names = exposedMetricNames(
      [
        '# HELP a_seconds help',
        '# TYPE a_seconds histogram',
        'a_seconds_bucket{le="0.1",service="x"} 1',
        'a_seconds_count{service="x"} 1',
        'plain_total 3',
        '',
      ].join('\n'),
    );
    expect([...names].sort()).toEqual(['a_seconds_bucket', 'a_seconds_count', 'plain_total']);
  });
});

describe('dashboards and rules reference only existing metrics', () => {
  it('deploy - every dashboard and rule expression parses, and there are queries for the three dashboards and each alert', () => {
    const queries = deployQueries();
    for (const q of queries) expect(() => metricNamesOf(q.expr), q.source).not.toThrow();
    for (const file of ['write-path.json', 'delivery-path.json', 'informers.json'])
      expect(queries.some((q) => q.source.includes(file))).toBe(true);
    for (const alert of [
      'TidelineRelayLagging',
      'TidelineDeadLetters',
      'TidelineGatewaySlowConsumers',
      'TidelineInformerLeaseLost',
      'TidelineServiceDown',
      'TidelineServiceNotReady',
    ])
      expect(queries.some((q) => q.source.endsWith(`: ${alert}`))).toBe(true);
  });

  it('deploy - every dashboard is a Grafana 10 model with a Prometheus datasource variable its panels use', () => {
    for (const file of ['write-path.json', 'delivery-path.json', 'informers.json']) {
      const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'deploy/grafana/dashboards', file), 'utf8'));
      expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(37);
      expect(dashboard.templating.list).toContainEqual(
        expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
      );
      for (const panel of dashboard.panels)
        expect(panel.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });

  it('negative control - a dashboard copy with one metric renamed is reported, naming the panel and the metric', () => {
    const file = join(REPO_ROOT, 'deploy/grafana/dashboards/write-path.json');
    const original = JSON.parse(readFileSync(file, 'utf8'));
    const queries = dashboardQueries(original, 'write-path.json');
    // What a scrape exposes, taken from the original dashboard itself: everything it names exists.
    const exposed = new Set(queries.flatMap((q) => metricNamesOf(q.expr)));
    expect(missingMetrics(queries, exposed)).toEqual([]);

    const renamed = JSON.parse(
      JSON.stringify(original).replaceAll(
        'tideline_website_api_relay_lag_seconds',
        'tideline_website_api_relay_delay_seconds',
      ),
    );
    expect(missingMetrics(dashboardQueries(renamed, 'write-path.json'), exposed)).toEqual([
      {
        source: 'write-path.json: Relay lag (seconds) [A]',
        metric: 'tideline_website_api_relay_delay_seconds',
      },
    ]);
  });
});
