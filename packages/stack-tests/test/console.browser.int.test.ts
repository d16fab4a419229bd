import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODES_API } from '@tideline/contracts';
import { type DevTokenEndpoint, startDevTokenEndpoint } from '@tideline/runtime';
import { launchChromium, screenshotPath } from '@tideline/test-support/browser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type Stack, serveStatic, startStack, tokenFor, WebsiteApiClient } from '../src/index.ts';

const WAIT_MS = 20_000;
const SCREENSHOT = screenshotPath(join(REPO_ROOT, 'docs', 'console.png'));
/** Short token lifetime set by the test: the console must refresh to stay live. */
const TOKEN_TTL_SECONDS = 6;
const REFRESH_BEFORE_EXPIRY_MS = 3_000;
/** A small page so three seeded websites already take two pages. */
const PAGE_SIZE = 2;

describe('console in a real browser', () => {
  let stack: Stack;
  let api: WebsiteApiClient;
  let site: { url: string; close(): Promise<void> };
  let tokens: DevTokenEndpoint;
  let browser: Browser;
  let page: Page;
  let lineGroup: number;
  const issued: { token: string; at: number }[] = [];
  const suffix = randomUUID().slice(0, 8);

  const rowsOf = (table: string) => page.locator(`#${table} tbody tr`);
  const websiteRow = (domain: string) => page.locator('#websites tbody tr', { hasText: domain });
  const nodeRow = (name: string) => page.locator('#nodes tbody tr', { hasText: name });
  const search = async (text: string) => page.locator('#websites-search').fill(text);
  /** Every primary domain the table shows, page by page (the pager's own buttons). */
  const allPagesDomains = async (): Promise<string[]> => {
    await search('');
    while (!(await page.locator('#websites-prev').isDisabled())) await page.locator('#websites-prev').click();
    const pages = Number(/of (\d+)/.exec((await page.locator('#websites-page').textContent())!)![1]);
    const out: string[] = [];
    for (let i = 0; i < pages; i++) {
      out.push(...(await rowsOf('websites').locator('td[data-field="primary_domain"]').allTextContents()));
      if (i < pages - 1) await page.locator('#websites-next').click();
    }
    return out.sort();
  };
  const informer = async (path: string, body: unknown) => {
    const response = await fetch(`${stack.informerUrl}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tokenFor(stack, 'stack-admin', ['clusters:admin'])}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${path} → ${response.status} ${await response.text()}`);
  };

  /** How many nodes of the followed cluster the cache holds (-1 when it does not answer). */
  const nodesInCache = async () => {
    const response = await fetch(`${stack.cacheUrl}${NODES_API.nodes(stack.cluster)}`, {
      headers: { authorization: `Bearer ${tokenFor(stack, 'stack-reader', ['nodes:read'])}` },
    });
    return response.ok ? ((await response.json()) as { total: number }).total : -1;
  };

  beforeAll(async () => {
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
    // The development token endpoint `npm start` runs, with a lifetime this short.
    tokens = await startDevTokenEndpoint({
      environment: 'test',
      secret: stack.jwt.secret,
      issuer: stack.jwt.issuer,
      audience: stack.jwt.audience,
      scopes: ['websites:read', 'nodes:read'],
      ttlSeconds: TOKEN_TTL_SECONDS,
      port: 0,
      allowedOrigins: [site.url],
    });
    api = new WebsiteApiClient(stack);
    lineGroup = await api.createLineGroup(`browser-${suffix}`, `edge-${suffix}.cdn.example.net`);
    for (let i = 0; i < 3; i++) await api.create([`www.seed${i}-${suffix}.example.com`], lineGroup);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('response', async (response) => {
      if (!response.url().startsWith(tokens.url) || !response.ok()) return;
      const { token } = (await response.json()) as { token: string };
      issued.push({ token, at: Date.now() });
    });
    const hash = new URLSearchParams({
      tokenUrl: tokens.url,
      gateways: stack.gatewayUrls.join(','),
      clusters: stack.cluster,
      pageSize: String(PAGE_SIZE),
      refreshBeforeExpiryMs: String(REFRESH_BEFORE_EXPIRY_MS),
    });
    await page.goto(`${site.url}/#${hash}`);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await tokens?.close();
    await site?.close();
    await stack?.stop();
  }, 60_000);

  it('loads - status live with a token from the token endpoint; websites paged, every node listed', async () => {
    await page.locator('#status[data-status="live"]').waitFor({ timeout: WAIT_MS });
    expect(issued.length).toBeGreaterThanOrEqual(1);
    const total = (await api.list()).length;
    await expect
      .poll(() => page.locator('#websites-meta').textContent(), { timeout: WAIT_MS })
      .toMatch(new RegExp(`^${total} websites · event \\d+$`));
    expect(await rowsOf('websites').count()).toBe(Math.min(PAGE_SIZE, total));
    expect(await page.locator('#websites-page').textContent()).toBe(
      `page 1 of ${Math.ceil(total / PAGE_SIZE)}`,
    );
    // Against a deployment (npm run test:compose) the cluster is not under test control: its node
    // count is what the cache holds.
    const expected = stack.kube ? stack.kube.nodeNames().length : await nodesInCache();
    expect(expected).toBeGreaterThan(0);
    await expect.poll(() => rowsOf('nodes').count(), { timeout: WAIT_MS }).toBe(expected);
  });

  it('websites - search filters, the pager walks every page, and the pages hold exactly the websites', async () => {
    await search(`seed1-${suffix}`);
    await expect.poll(() => rowsOf('websites').count(), { timeout: WAIT_MS }).toBe(1);
    expect(await websiteRow(`www.seed1-${suffix}.example.com`).count()).toBe(1);
    const total = (await api.list()).length;
    expect(await page.locator('#websites-meta').textContent()).toMatch(new RegExp(`^1 of ${total} websites`));
    expect(await page.locator('#websites-page').textContent()).toBe('page 1 of 1');
    await search('no-such-website.example');
    await expect.poll(() => rowsOf('websites').count(), { timeout: WAIT_MS }).toBe(0);
    const truth = (await api.list()).map((w) => w.primary_domain).sort();
    expect(await allPagesDomains()).toEqual(truth);
    expect(await page.locator('#websites-next').isDisabled()).toBe(true);
  });

  it('websites - create, update and delete over HTTP change the table live; the changed cells flash', async () => {
    const domain = `www.live-${suffix}.example.com`;
    await search(domain);
    const created = await api.create([domain], lineGroup);
    await websiteRow(domain).waitFor({ timeout: WAIT_MS });
    await api.update(created.website_id, { status: 'paused', https_enabled: true });
    const row = websiteRow(domain);
    await expect
      .poll(() => row.locator('td[data-field="status"]').textContent(), { timeout: WAIT_MS })
      .toBe('paused');
    expect(await row.locator('td[data-field="https_enabled"]').textContent()).toBe('on');
    // Exactly the fields the update changed are named (updated_at has no column), and those cells (only) flash.
    expect((await row.getAttribute('data-changed'))!.split(',').sort()).toEqual([
      'https_enabled',
      'status',
      'updated_at',
    ]);
    await row.locator('td.flash[data-field="status"]').waitFor({ state: 'attached', timeout: WAIT_MS });
    expect(await row.locator('td.flash[data-field="primary_domain"]').count()).toBe(0);
    await api.remove(created.website_id);
    await expect.poll(() => websiteRow(domain).count(), { timeout: WAIT_MS }).toBe(0);
    await search('');
  });

  it('nodes - a cordon shows on its row and flashes; the row opens its details (conditions, taints, labels), live', async (context) => {
    if (!stack.kube) context.skip('needs the local topology: the cluster is under test control');
    stack.kube!.cordon('node-2');
    const row = nodeRow('node-2');
    await expect
      .poll(() => row.locator('td[data-field="unschedulable"]').textContent(), { timeout: WAIT_MS })
      .toBe('cordoned');
    expect(await row.getAttribute('data-changed')).toContain('unschedulable');
    await row
      .locator('td.flash[data-field="unschedulable"]')
      .waitFor({ state: 'attached', timeout: WAIT_MS });

    await row.click();
    const details = page.locator('#node-details');
    await details.waitFor({ state: 'visible', timeout: WAIT_MS });
    expect(await details.locator('h3').textContent()).toBe('node-2');
    expect(await details.locator('#node-conditions td').first().textContent()).toBeTruthy();
    expect(await details.locator('#node-conditions tbody tr', { hasText: 'Ready' }).count()).toBe(1);
    // A taint and a label added in the cluster appear in the open panel.
    stack.kube!.taint('node-2', { key: `dedicated-${suffix}`, value: 'edge', effect: 'NoSchedule' });
    stack.kube!.label('node-2', `team-${suffix}`, 'cdn');
    await details
      .locator('#node-taints tr', { hasText: `dedicated-${suffix}` })
      .waitFor({ timeout: WAIT_MS });
    await details.locator('#node-labels tr', { hasText: `team-${suffix}` }).waitFor({ timeout: WAIT_MS });
    expect(
      await details.locator('#node-taints tr', { hasText: `dedicated-${suffix}` }).textContent(),
    ).toContain('NoSchedule');
    mkdirSync(join(REPO_ROOT, 'docs'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    await page.locator('#node-details-close').click();
    await details.waitFor({ state: 'hidden', timeout: WAIT_MS });
  });

  it('token - the page stays live for more than two token lifetimes and shows a change made after the first token expired', async () => {
    const first = issued[0]!;
    const firstExpiresAt =
      JSON.parse(Buffer.from(first.token.split('.')[1]!, 'base64url').toString()).exp * 1000;
    const statuses: string[] = [];
    const watcher = setInterval(async () => {
      statuses.push(
        (await page
          .locator('#status')
          .getAttribute('data-status')
          .catch(() => null)) ?? '',
      );
    }, 50);
    try {
      // Time itself is what this test needs: wait (bounded) until two lifetimes past the first token's expiry.
      await expect
        .poll(() => Date.now() > firstExpiresAt + 2 * TOKEN_TTL_SECONDS * 1000, {
          timeout: 6 * TOKEN_TTL_SECONDS * 1000 + WAIT_MS,
        })
        .toBe(true);
      const domain = `www.after-expiry-${suffix}.example.com`;
      await search(domain);
      await api.create([domain], lineGroup);
      await websiteRow(domain).waitFor({ timeout: WAIT_MS });
    } finally {
      clearInterval(watcher);
    }
    await search('');
    // Fresh tokens were fetched before each expiry and sent over the open socket: it never dropped.
    expect(issued.length).toBeGreaterThanOrEqual(3);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 'live')).toEqual([]);
    expect(await page.locator('#status').getAttribute('data-status')).toBe('live');
    expect((await page.locator('#error').textContent()) ?? '').not.toContain('TOKEN_EXPIRED');
  });

  it('cluster unregistered - nodes:removed reaches the browser: the table empties and says so; re-registered, it can be followed again', async (context) => {
    if (!stack.kube) context.skip('needs the local topology: the cluster is under test control');
    await expect
      .poll(() => rowsOf('nodes').count(), { timeout: WAIT_MS })
      .toBe(stack.kube!.nodeNames().length);
    await informer('/api/v1/clusters/unregister', { name: stack.cluster });
    await expect
      .poll(() => page.locator('#nodes-meta').textContent(), { timeout: WAIT_MS })
      .toBe(`${stack.cluster}: unregistered`);
    expect(await rowsOf('nodes').count()).toBe(0);
    // The websites view is unaffected and the connection stays live.
    expect(await page.locator('#status').getAttribute('data-status')).toBe('live');

    await informer('/api/v1/clusters/register', {
      name: stack.cluster,
      kubeconfig: stack.kube!.kubeconfig({ cluster: stack.cluster }),
    });
    // Once the cache holds the re-registered cluster's nodes, following it again is choosing its tab
    // (one fresh subscribe:nodes: re-asking for a snapshot is rate limited, so the test asks once).
    await expect.poll(nodesInCache, { timeout: WAIT_MS }).toBe(stack.kube!.nodeNames().length);
    await page.locator('#clusters button', { hasText: stack.cluster }).click();
    await expect
      .poll(() => rowsOf('nodes').count(), { timeout: WAIT_MS })
      .toBe(stack.kube!.nodeNames().length);
    await nodeRow('node-2').waitFor({ timeout: WAIT_MS });
  });

  it('failover - killing the gateway serving the page: offline with a reason, then live with the list still correct', async (context) => {
    if (stack.mode !== 'local')
      context.skip('needs the local topology: gateway processes under test control');
    const used = (await page.locator('#gateway').textContent())!;
    const index = stack.gatewayUrls.indexOf(used);
    expect(index).toBeGreaterThanOrEqual(0);
    const seen: { status: string; text: string }[] = [];
    const watcher = setInterval(async () => {
      const sample = await page
        .locator('#status')
        .evaluate((el) => ({ status: el.getAttribute('data-status') ?? '', text: el.textContent ?? '' }))
        .catch(() => undefined);
      if (sample) seen.push(sample);
    }, 20);
    try {
      await stack.gateways[index]!.stop('SIGKILL');
      await expect.poll(() => seen.some((s) => s.status === 'offline'), { timeout: WAIT_MS }).toBe(true);
      await page.locator('#status[data-status="live"]').waitFor({ timeout: WAIT_MS });
    } finally {
      clearInterval(watcher);
    }
    // Not live: the indicator says why.
    for (const sample of seen.filter((s) => s.status === 'offline'))
      expect(sample.text).toMatch(/^offline — \S.+/);
    expect(await page.locator('#status').textContent()).toBe('live');
    expect(await page.locator('#gateway').textContent()).not.toBe(used);
    const truth = (await api.list()).map((w) => w.primary_domain).sort();
    await expect.poll(() => allPagesDomains(), { timeout: WAIT_MS }).toEqual(truth);
    await stack.gateways[index]!.start();
  });
});
