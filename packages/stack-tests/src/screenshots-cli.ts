/**
 * `npm run docs:screenshots`: starts the stack, drives a little traffic for a while, lets a real
 * Prometheus (with the alert rules) scrape it, and screenshots the key panels in Prometheus's own
 * graph view with Chromium into docs/images/metrics-*.png (the pictures of README "Operating
 * Tideline"). Needs what `npm test` needs, plus Prometheus and Chromium (bootstrap.sh --test).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from '@tideline/test-support/browser';
import { REPO_ROOT } from './process.ts';
import { DisposablePrometheus, stackTargets } from './prometheus.ts';
import { startStack } from './stack.ts';
import { driveTraffic } from './traffic.ts';

const SCRAPE_INTERVAL_SECONDS = 1;
/** Rounds of traffic (each a few website creates and a node change) before the pictures are taken. */
const TRAFFIC_ROUNDS = 12;
const ROUND_PAUSE_MS = 3_000;
const CHART_TIMEOUT_MS = 30_000;

/** The key panels: file name, and the query as in the dashboards. */
const PANELS: { file: string; expr: string }[] = [
  {
    file: 'metrics-delivery-latency.png',
    expr: 'histogram_quantile(0.99, sum by (le, feed) (rate(tideline_gateway_delivery_lag_seconds_bucket[1m])))',
  },
  {
    file: 'metrics-http-requests.png',
    expr: 'sum by (route, status_class) (rate(tideline_http_request_duration_seconds_count{service="website-api"}[1m]))',
  },
  { file: 'metrics-relay-lag.png', expr: 'max(tideline_website_api_relay_lag_seconds)' },
  {
    file: 'metrics-bus-deliveries.png',
    expr: 'sum by (topic, outcome) (rate(tideline_bus_deliveries_total[1m]))',
  },
  { file: 'metrics-connected-sockets.png', expr: 'sum by (instance) (tideline_gateway_connected_sockets)' },
];

async function main(): Promise<void> {
  const out = join(REPO_ROOT, 'docs/images');
  mkdirSync(out, { recursive: true });
  const stack = await startStack();
  const clients = [];
  let prometheus: DisposablePrometheus | undefined;
  try {
    prometheus = await DisposablePrometheus.start({
      targets: stackTargets(stack),
      scrapeIntervalSeconds: SCRAPE_INTERVAL_SECONDS,
      ruleFiles: [join(REPO_ROOT, 'deploy/prometheus/rules/tideline.rules.yml')],
    });
    for (let round = 0; round < TRAFFIC_ROUNDS; round++) {
      clients.push(...(await driveTraffic(stack, 1 + (round % 3))));
      console.log(`[screenshots] traffic round ${round + 1}/${TRAFFIC_ROUNDS}`);
      await new Promise((resolve) => setTimeout(resolve, ROUND_PAUSE_MS));
    }
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 960 } });
      for (const panel of PANELS) {
        const query = new URLSearchParams({
          'g0.expr': panel.expr,
          'g0.tab': '0',
          'g0.range_input': '2m',
          'g0.stacked': '0',
        });
        await page.goto(`${prometheus.url}/graph?${query}`);
        // Debian's Prometheus serves the classic UI: the graph is a Rickshaw SVG.
        await page.waitForSelector('.rickshaw_graph svg path', {
          state: 'attached',
          timeout: CHART_TIMEOUT_MS,
        });
        await page.waitForTimeout(500);
        await page.screenshot({ path: join(out, panel.file), fullPage: false });
        console.log(`[screenshots] docs/images/${panel.file}`);
      }
    } finally {
      await browser.close();
    }
  } finally {
    for (const c of clients) c.close();
    await prometheus?.stop();
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
