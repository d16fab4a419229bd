/**
 * `npm run docs:trace-waterfall`: starts the stack with tracing on (exporting to an in-memory
 * OTLP receiver), creates one website while a client follows the websites feed, renders the trace
 * of that create as a waterfall and screenshots it with Chromium into
 * docs/images/trace-waterfall.png (the HTML goes to infra/.run/trace-waterfall.html).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OtlpReceiver, type ReceivedSpan } from '@tideline/test-support';
import { launchChromium } from '@tideline/test-support/browser';
import { io } from 'socket.io-client';
import { tokenFor, WebsiteApiClient } from './http.ts';
import { REPO_ROOT } from './process.ts';
import { startStack } from './stack.ts';
import { renderWaterfall } from './trace-waterfall.ts';

const WAIT_MS = 30_000;
const OUT = join(REPO_ROOT, 'docs', 'images', 'trace-waterfall.png');

async function until<T>(find: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const receiver = await OtlpReceiver.start();
const stack = await startStack({
  env: { TIDELINE_OTEL_ENABLED: 'true', TIDELINE_OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
});
try {
  // A follower of the websites room, so the gateway has someone to emit to.
  const reader = io(stack.gatewayUrls[0]!, {
    transports: ['websocket'],
    reconnection: false,
    auth: { token: tokenFor(stack, 'waterfall', ['websites:read']) },
  });
  await new Promise<void>((resolve, reject) => {
    reader.once('connected', () => resolve());
    reader.once('connect_error', reject);
  });
  await reader.emitWithAck('request:websites', {});
  const api = new WebsiteApiClient(stack);
  const suffix = Math.random().toString(36).slice(2, 8);
  const lineGroup = await api.createLineGroup(`waterfall-${suffix}`, `edge-${suffix}.cdn.example.net`);
  const created = await api.create([`www.waterfall-${suffix}.example.com`], lineGroup);
  const trace = await until((): ReceivedSpan[] | undefined => {
    const request = receiver
      .spans()
      .find((s) => s.name === 'POST /api/v1/websites/create' && s.service === 'website-api');
    if (!request) return undefined;
    const spans = receiver.trace(request.traceId);
    const complete =
      spans.some((s) => s.name === 'emit websites:update') &&
      spans.filter((s) => s.name === 'process websites').length >= stack.gateways.length;
    return complete ? spans : undefined;
  }, 'the whole trace of the create');
  reader.disconnect();
  const html = renderWaterfall(
    trace,
    `POST /api/v1/websites/create → website ${created.website_id} on every socket`,
  );
  mkdirSync(join(REPO_ROOT, 'infra', '.run'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'infra', '.run', 'trace-waterfall.html'), html);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 400 } });
    await page.setContent(html);
    mkdirSync(join(REPO_ROOT, 'docs', 'images'), { recursive: true });
    await page.screenshot({ path: OUT, fullPage: true });
  } finally {
    await browser.close();
  }
  process.stdout.write(
    `${trace.length} spans from ${new Set(trace.map((s) => s.service)).size} services → ${OUT}\n`,
  );
} finally {
  await stack.stop();
  await receiver.close();
}
process.exit(0);
