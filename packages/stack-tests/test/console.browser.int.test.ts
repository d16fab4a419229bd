import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type Stack, serveStatic, startStack, tokenFor, WebsiteApiClient } from '../src/index.ts';

const CHROMIUM = process.env['TIDELINE_CHROMIUM'] ?? '/usr/bin/chromium';
// A closed network: no background services, no component updates, no QUIC.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];
const WAIT_MS = 20_000;
const SCREENSHOT = join(REPO_ROOT, 'docs', 'console.png');

describe('console in a real browser', () => {
  let stack: Stack;
  let api: WebsiteApiClient;
  let site: { url: string; close(): Promise<void> };
  let browser: Browser;
  let page: Page;
  const suffix = randomUUID().slice(0, 8);

  const rowsOf = (table: string) => page.locator(`#${table} tbody tr`);
  const websiteRow = (domain: string) => page.locator('#websites tbody tr', { hasText: domain });

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does)`);
    const outDir = mkdtempSync(join(tmpdir(), 'tideline-console-'));
    const build = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'node_modules/vite/bin/vite.js',
        'build',
        'apps/console',
        '--outDir',
        outDir,
        '--emptyOutDir',
      ],
      {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      },
    );
    if (build.status !== 0) throw new Error(`console build failed: ${build.stderr}`);
    [stack, site] = await Promise.all([startStack(), serveStatic(outDir)]);
    api = new WebsiteApiClient(stack);
    const lineGroup = await api.createLineGroup(`browser-${suffix}`, `edge-${suffix}.cdn.example.net`);
    for (let i = 0; i < 3; i++) await api.create([`www.seed${i}-${suffix}.example.com`], lineGroup);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const token = tokenFor(stack, 'browser', ['websites:read', 'nodes:read']);
    await page.goto(
      `${site.url}/#token=${token}&gateways=${stack.gatewayUrls.join(',')}&clusters=${stack.cluster}`,
    );
    (globalThis as { lineGroup?: number }).lineGroup = lineGroup;
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await stack?.stop();
  }, 60_000);

  it('loads - status live, every website and node listed', async () => {
    await page.locator('#status[data-status="live"]').waitFor({ timeout: WAIT_MS });
    await expect.poll(() => rowsOf('websites').count(), { timeout: WAIT_MS }).toBe((await api.list()).length);
    await expect
      .poll(() => rowsOf('nodes').count(), { timeout: WAIT_MS })
      .toBe(stack.kube!.nodeNames().length);
  });

  it('websites - create, update and delete over HTTP change the table live', async () => {
    const lineGroup = (globalThis as { lineGroup?: number }).lineGroup!;
    const domain = `www.live-${suffix}.example.com`;
    const created = await api.create([domain], lineGroup);
    await websiteRow(domain).waitFor({ timeout: WAIT_MS });
    await api.update(created.website_id, { status: 'paused', https_enabled: true });
    await expect
      .poll(() => websiteRow(domain).locator('td').nth(6).textContent(), { timeout: WAIT_MS })
      .toBe('paused');
    expect(await websiteRow(domain).locator('td').nth(5).textContent()).toBe('on');
    await api.remove(created.website_id);
    await expect.poll(() => websiteRow(domain).count(), { timeout: WAIT_MS }).toBe(0);
  });

  it('nodes - a cordon in the cluster shows on its row', async (context) => {
    if (!stack.kube) context.skip('needs the local topology: the cluster is under test control');
    stack.kube!.cordon('node-2');
    const row = page.locator('#nodes tbody tr', { hasText: 'node-2' });
    await expect.poll(() => row.locator('td').nth(2).textContent(), { timeout: WAIT_MS }).toBe('cordoned');
    mkdirSync(join(REPO_ROOT, 'docs'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('failover - killing the gateway serving the page: offline, then live with the list still correct', async (context) => {
    if (stack.mode !== 'local')
      context.skip('needs the local topology: gateway processes under test control');
    const used = (await page.locator('#gateway').textContent())!;
    const index = stack.gatewayUrls.indexOf(used);
    expect(index).toBeGreaterThanOrEqual(0);
    const seen: string[] = [];
    const watcher = setInterval(async () => {
      seen.push(
        (await page
          .locator('#status')
          .getAttribute('data-status')
          .catch(() => null)) ?? '',
      );
    }, 20);
    try {
      await stack.gateways[index]!.stop('SIGKILL');
      await expect.poll(() => seen.includes('offline'), { timeout: WAIT_MS }).toBe(true);
      await page.locator('#status[data-status="live"]').waitFor({ timeout: WAIT_MS });
    } finally {
      clearInterval(watcher);
    }
    expect(await page.locator('#gateway').textContent()).not.toBe(used);
    const truth = (await api.list()).map((w) => w.primary_domain).sort();
    await expect
      .poll(async () => (await rowsOf('websites').locator('td:nth-child(2)').allTextContents()).sort(), {
        timeout: WAIT_MS,
      })
      .toEqual(truth);
    await stack.gateways[index]!.start();
  });
});
