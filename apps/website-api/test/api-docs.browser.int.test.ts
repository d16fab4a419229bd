import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_CATALOGUE } from '@tideline/contracts';
import { launchChromium, screenshotPath } from '@tideline/test-support/browser';
import { describe, expect, it } from 'vitest';
import { ApiFixture } from './harness.ts';

const WAIT_MS = 20_000;
const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SCREENSHOT = screenshotPath(join(REPO_ROOT, 'docs', 'openapi-ui.png'));

describe('website-api /docs in a real browser', () => {
  it('docs - Swagger UI renders every operation of the document from the service itself (screenshot docs/openapi-ui.png)', async () => {
    const fixture = await ApiFixture.start();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1500 } });
      const failed: string[] = [];
      page.on('requestfailed', (request) => failed.push(request.url()));
      page.on('response', (response) => {
        if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
      });
      await page.goto(`${fixture.api.url}/docs`);
      await page.locator('.swagger-ui .info .title').waitFor({ timeout: WAIT_MS });
      await expect
        .poll(() => page.locator('.swagger-ui .opblock').count(), { timeout: WAIT_MS })
        .toBe(API_CATALOGUE['website-api'].routes.length);
      expect(await page.locator('.swagger-ui .info .title').textContent()).toContain('Tideline website-api');
      // Open one operation: its body schema and the error answers show.
      await page.locator('.opblock-summary', { hasText: '/api/v1/websites/create' }).click();
      await page.locator('.opblock.is-open .responses-table').waitFor({ timeout: WAIT_MS });
      expect(await page.locator('.opblock.is-open .responses-table').textContent()).toContain('CONFLICT');
      expect(failed).toEqual([]);
      mkdirSync(dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT });
    } finally {
      await browser.close();
      await fixture.dispose();
    }
  });
});
