import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

/** The Chromium the browser tests drive (TIDELINE_CHROMIUM, else Debian's; `.ci/run` installs it). */
export const CHROMIUM_PATH = process.env['TIDELINE_CHROMIUM'] ?? '/usr/bin/chromium';

/** A closed network: no background services, no component updates, no QUIC; no sandbox (root in CI). */
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

/** Headless Chromium for a browser test or a screenshot; a clear error when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install chromium (.ci/run does)`);
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/**
 * Where a browser test writes the screenshot it takes of `docsPath` (a picture of the docs): the
 * docs themselves when TIDELINE_UPDATE_SCREENSHOTS=1, else a scratch directory, so a test run
 * leaves the working tree as it found it.
 */
export function screenshotPath(docsPath: string): string {
  if (process.env['TIDELINE_UPDATE_SCREENSHOTS'] === '1') return docsPath;
  const dir = join(tmpdir(), 'tideline-screenshots');
  mkdirSync(dir, { recursive: true });
  return join(dir, basename(docsPath));
}
