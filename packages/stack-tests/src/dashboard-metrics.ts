import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { load } from 'js-yaml';
import { REPO_ROOT } from './process.ts';

/** One PromQL expression of a dashboard panel or an alert rule, with where it comes from. */
export interface DeployQuery {
  /** `deploy/grafana/dashboards/write-path.json: Relay lag (seconds) [A]`, `…tideline.rules.yml: TidelineDeadLetters`. */
  source: string;
  expr: string;
}

/** Series Prometheus makes itself for every target; they are never on a /metrics page. */
export const PROMETHEUS_SYNTHETIC_METRICS: ReadonlySet<string> = new Set([
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'scrape_samples_post_metric_relabeling',
  'scrape_series_added',
  'ALERTS',
  'ALERTS_FOR_STATE',
]);

function unquote(literal: string): string {
  if (literal.startsWith('"')) return JSON.parse(literal) as string;
  return literal.slice(1, -1);
}

/**
 * The metric names a PromQL expression selects, parsed with Prometheus's own grammar
 * (@prometheus-io/lezer-promql): the name of every vector selector, and the value of a
 * `__name__="…"` matcher. Function names, label names, keywords, durations and strings are not
 * metric names and never reported. Throws on an expression that does not parse.
 */
export function metricNamesOf(expr: string): string[] {
  const tree = parser.parse(expr);
  const names = new Set<string>();
  let error: number | undefined;
  tree.iterate({
    enter(node) {
      if (node.type.isError) error ??= node.from;
      if (node.name === 'VectorSelector') {
        const identifier = node.node.getChild('Identifier');
        if (identifier) names.add(expr.slice(identifier.from, identifier.to));
      }
      if (node.name === 'UnquotedLabelMatcher') {
        const label = node.node.getChild('LabelName');
        const op = node.node.getChild('MatchOp');
        const value = node.node.getChild('StringLiteral');
        if (
          label &&
          op &&
          value &&
          expr.slice(label.from, label.to) === '__name__' &&
          expr.slice(op.from, op.to) === '='
        )
          names.add(unquote(expr.slice(value.from, value.to)));
      }
    },
  });
  if (error !== undefined) throw new Error(`PromQL does not parse at ${error}: ${expr}`);
  return [...names].sort();
}

interface GrafanaPanel {
  title?: string;
  targets?: { expr?: string; refId?: string }[];
  panels?: GrafanaPanel[];
}

/** Every target expression of a Grafana dashboard (rows' nested panels included). */
export function dashboardQueries(dashboard: unknown, file: string): DeployQuery[] {
  const out: DeployQuery[] = [];
  const visit = (panels: GrafanaPanel[] | undefined) => {
    for (const panel of panels ?? []) {
      for (const target of panel.targets ?? [])
        if (target.expr)
          out.push({
            source: `${file}: ${panel.title ?? '(untitled)'} [${target.refId ?? '?'}]`,
            expr: target.expr,
          });
      visit(panel.panels);
    }
  };
  visit((dashboard as { panels?: GrafanaPanel[] }).panels);
  return out;
}

/** Every alerting and recording rule expression of a Prometheus rules file. */
export function ruleQueries(text: string, file: string): DeployQuery[] {
  const doc = load(text) as { groups?: { rules?: { alert?: string; record?: string; expr: string }[] }[] };
  return (doc.groups ?? []).flatMap((group) =>
    (group.rules ?? []).map((rule) => ({
      source: `${file}: ${rule.alert ?? rule.record ?? '(unnamed)'}`,
      expr: String(rule.expr),
    })),
  );
}

/** The dashboards (deploy/grafana/dashboards/*.json) and rules (deploy/prometheus/rules/*.yml) of the repository. */
export function deployQueries(root = REPO_ROOT): DeployQuery[] {
  const dashboards = join(root, 'deploy/grafana/dashboards');
  const rules = join(root, 'deploy/prometheus/rules');
  return [
    ...readdirSync(dashboards)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .flatMap((f) =>
        dashboardQueries(
          JSON.parse(readFileSync(join(dashboards, f), 'utf8')),
          `deploy/grafana/dashboards/${f}`,
        ),
      ),
    ...readdirSync(rules)
      .filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'))
      .sort()
      .flatMap((f) => ruleQueries(readFileSync(join(rules, f), 'utf8'), `deploy/prometheus/rules/${f}`)),
  ];
}

/** The sample names of a Prometheus text exposition (`foo_bucket`, `foo_count`, … as written). */
export function exposedMetricNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const end = line.search(/[{ ]/);
    names.add(end < 0 ? line : line.slice(0, end));
  }
  return names;
}

/** Each metric a query names that is neither exposed nor made by Prometheus itself. */
export function missingMetrics(
  queries: readonly DeployQuery[],
  exposed: ReadonlySet<string>,
): { source: string; metric: string }[] {
  return queries.flatMap((q) =>
    metricNamesOf(q.expr)
      .filter((metric) => !exposed.has(metric) && !PROMETHEUS_SYNTHETIC_METRICS.has(metric))
      .map((metric) => ({ source: q.source, metric })),
  );
}
