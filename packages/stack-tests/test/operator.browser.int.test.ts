import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEventBus, type EventBus } from '@tideline/bus';
import { connect, type TidelineClient } from '@tideline/client';
import { busSettings, loadConfig } from '@tideline/config';
import { type DevTokenEndpoint, startDevTokenEndpoint } from '@tideline/runtime';
import { launchChromium, screenshotPath } from '@tideline/test-support/browser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type Stack, serveStatic, startStack, tokenFor } from '../src/index.ts';

const WAIT_MS = 30_000;
const SCREENSHOT = screenshotPath(join(REPO_ROOT, 'docs', 'operator-view.png'));
/** The page reloads this often in the test (TIDELINE_CONSOLE_OPERATOR_REFRESH_MS in development). */
const REFRESH_MS = 500;
const TOKEN_TTL_SECONDS = 300;

describe('console operator view in a real browser', () => {
  let stack: Stack;
  let site: { url: string; close(): Promise<void> };
  let operatorTokens: DevTokenEndpoint;
  let readerTokens: DevTokenEndpoint;
  let browser: Browser;
  let page: Page;
  let bus: EventBus;
  const clients: TidelineClient[] = [];
  const suffix = randomUUID().slice(0, 8);

  /** A fresh page (a hash change alone would keep the previous page's loop running). */
  const open = async (tokenUrl: string) => {
    await page?.close();
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const hash = new URLSearchParams({
      tokenUrl,
      gateways: stack.gatewayUrls.join(','),
      websiteApi: stack.websiteApiUrl,
      cache: stack.cacheUrl,
      informer: stack.informerUrl,
      refreshMs: String(REFRESH_MS),
    });
    await page.goto(`${site.url}/operator.html#${hash}`);
  };

  beforeAll(async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'tideline-operator-'));
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
      { cwd: REPO_ROOT, encoding: 'utf8' },
    );
    if (build.status !== 0) throw new Error(`console build failed: ${build.stderr}`);
    site = await serveStatic(outDir);
    // The operator endpoints answer the console's origin only.
    stack = await startStack({ env: { TIDELINE_OPERATOR_CORS_ORIGINS: site.url } });
    const endpoint = (scopes: string[]) =>
      startDevTokenEndpoint({
        environment: 'test',
        secret: stack.jwt.secret,
        issuer: stack.jwt.issuer,
        audience: stack.jwt.audience,
        scopes,
        ttlSeconds: TOKEN_TTL_SECONDS,
        port: 0,
        allowedOrigins: [site.url],
      });
    operatorTokens = await endpoint(['websites:read', 'nodes:read', 'operator:read']);
    readerTokens = await endpoint(['websites:read', 'nodes:read']);
    // One live socket on each gateway, in the websites room.
    for (const url of stack.gatewayUrls) {
      const client = connect({ url: [url], token: tokenFor(stack, `op-${suffix}`, ['websites:read']) });
      client.websites();
      clients.push(client);
    }
    const deadline = Date.now() + WAIT_MS;
    while (!clients.every((c) => c.status === 'live')) {
      if (Date.now() > deadline) throw new Error('the test sockets did not go live');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    bus = createEventBus({
      config: loadConfig(busSettings, { env: stack.busEnv }),
      clientName: 'operator-test',
    });
    await bus.start();
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await browser?.close();
    await bus?.drain();
    await operatorTokens?.close();
    await readerTokens?.close();
    await site?.close();
    await stack?.stop();
  }, 60_000);

  it('operator view - shows each gateway with its sockets, the relay, the clusters and a dead letter made by the test', async () => {
    // A node event outside the contract: the cache rejects it, the bus dead-letters it.
    const subject = `node.${stack.cluster}.bogus-${suffix}`;
    await bus.publish(subject, { not: 'a node event' }, { msgId: `poison-${suffix}` });
    await open(operatorTokens.url);

    for (const url of stack.gatewayUrls) {
      const row = page.locator('#op-gateways tbody tr', { hasText: url });
      await expect
        .poll(async () => Number((await row.locator('td[data-field="sockets"]').textContent()) ?? 0), {
          timeout: WAIT_MS,
        })
        .toBeGreaterThan(0);
      expect(await row.locator('td[data-field="rooms"]').textContent()).toMatch(/websites \(\d+\)/);
    }
    await page
      .locator('#op-informer tbody tr', { hasText: stack.cluster })
      .locator('td[data-field="state"]', { hasText: 'watching' })
      .waitFor({ timeout: WAIT_MS });
    await expect
      .poll(
        () =>
          page
            .locator('#op-cache tbody tr', { hasText: stack.cluster })
            .locator('td[data-field="nodes"]')
            .textContent(),
        { timeout: WAIT_MS },
      )
      .toBe(String(stack.kube ? stack.kube.nodeNames().length : ''));
    await page.locator('#op-relay tbody tr td[data-field="topic"]', { hasText: 'websites' }).waitFor({
      timeout: WAIT_MS,
    });
    const dead = page.locator('#op-dead-letters tbody tr', { hasText: subject });
    await dead.first().waitFor({ timeout: WAIT_MS });
    expect(await dead.first().locator('td[data-field="redriven"]').textContent()).toBe('no');
    expect(await page.locator('#op-errors li').count()).toBe(0);
    expect(await page.locator('#op-status').getAttribute('data-status')).toBe('live');
    mkdirSync(join(REPO_ROOT, 'docs'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('operator view - a token without operator:read is refused, and the page shows the error body', async () => {
    await open(readerTokens.url);
    const refusal = page.locator('#op-errors li', { hasText: 'FORBIDDEN' });
    await refusal.first().waitFor({ timeout: WAIT_MS });
    const text = (await refusal.first().textContent())!;
    expect(text).toMatch(/: 403 FORBIDDEN: the token lacks scope operator:read \(request [0-9a-f-]{36}\)$/);
    // Every source refused: nothing of the operator data reached the page.
    expect(await page.locator('#op-errors li').count()).toBe(stack.gatewayUrls.length + 4);
    expect(await page.locator('#op-gateways tbody tr').count()).toBe(0);
    expect(await page.locator('#op-dead-letters tbody tr').count()).toBe(0);
    expect(await page.locator('#op-status').getAttribute('data-status')).toBe('offline');
  });
});
