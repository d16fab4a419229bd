import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { launchChromium } from '@tideline/test-support/browser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type Stack, serveStatic, startStack, tokenFor, WebsiteApiClient } from '../src/index.ts';
import { installedVersion, offlineLockfile } from '../src/offline-lock.ts';

/**
 * The SDK as an outside integrator meets it: `npm pack` of @tideline/client (its `prepack` builds
 * it), the tarball installed into a new Vite app in the system's temp directory — no workspace, no
 * link to the sources — with the README's hello world as its code, built by Vite and opened in
 * Chromium against a running stack.
 */
const CLIENT_DIR = join(REPO_ROOT, 'packages', 'client');
/** The version of a package the repository itself installs. */
const versionOf = (name: string): string => installedVersion(REPO_ROOT, name);
/** The Vite the app builds with: the repository's own version. */
const VITE_VERSION = versionOf('vite');
const SOCKET_IO_VERSION = versionOf('socket.io-client');
/** React and its types, which an app using `@tideline/client/react` installs itself (an optional peer). */
const REACT_VERSION = versionOf('react');
const REACT_TYPES_VERSION = versionOf('@types/react');
/** The README's placeholders, replaced with the running stack's gateway and a token for it. */
const README_URL = "'http://localhost:3000'";
const README_TOKEN = "'YOUR_JWT'";
const STEP_TIMEOUT_MS = 300_000;
const SETUP_TIMEOUT_MS = 600_000;
const OUTPUT_BYTES = 16 * 1024 * 1024;
const WAIT_MS = 20_000;

const exec = promisify(execFile);
/** Runs a step; a failure says how it ended (exit code, or killed at STEP_TIMEOUT_MS) and what it printed last. */
const run = async (file: string, args: string[], cwd: string) => {
  try {
    return await exec(file, args, { cwd, timeout: STEP_TIMEOUT_MS, maxBuffer: OUTPUT_BYTES });
  } catch (error) {
    const e = error as { code?: number; signal?: string; killed?: boolean; stdout?: string; stderr?: string };
    const ended = e.killed ? `killed (${e.signal}) after ${STEP_TIMEOUT_MS} ms` : `exit ${e.code}`;
    const output = `${e.stderr ?? ''}${e.stdout ?? ''}`.trim().split('\n').slice(-20).join('\n');
    throw new Error(`${file} ${args.join(' ')} in ${cwd}: ${ended}\n${output}`, { cause: error });
  }
};

/** The first ```js block of packages/client/README.md: the hello world integrators copy. */
function readmeHelloWorld(): string {
  const readme = readFileSync(join(CLIENT_DIR, 'README.md'), 'utf8');
  const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!code) throw new Error('packages/client/README.md has no ```js hello world');
  for (const placeholder of [README_URL, README_TOKEN])
    if (!code.includes(placeholder))
      throw new Error(`the README hello world no longer contains ${placeholder}`);
  return code;
}

/**
 * Packs the SDK and installs the tarball into a fresh Vite app in `dir`; returns the tarball's name.
 * The app's lockfile pins every package to the repository's own (see offlineLockfile), so
 * `npm ci --offline` installs from npm's cache alone: a package missing there fails at once with
 * ENOTCACHED instead of waiting on the registry.
 */
async function packAndInstall(dir: string): Promise<string> {
  await run('npm', ['pack', '--pack-destination', dir], CLIENT_DIR);
  const tarball = readdirSync(dir).find((file) => /^tideline-client-.*\.tgz$/.test(file));
  if (!tarball) throw new Error(`npm pack wrote no tarball into ${dir}`);
  const app = {
    name: 'tideline-sdk-hello',
    dependencies: { '@tideline/client': `file:${tarball}`, 'socket.io-client': SOCKET_IO_VERSION },
    devDependencies: { vite: VITE_VERSION, react: REACT_VERSION, '@types/react': REACT_TYPES_VERSION },
  };
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ ...app, private: true, type: 'module' }, null, 2),
  );
  const lock = offlineLockfile({
    repoRoot: REPO_ROOT,
    ...app,
    tarballs: [
      {
        name: '@tideline/client',
        file: tarball,
        manifest: JSON.parse(readFileSync(join(CLIENT_DIR, 'package.json'), 'utf8')),
        bytes: readFileSync(join(dir, tarball)),
      },
    ],
  });
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock, null, 2));
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html>\n<html><head><meta charset="utf-8"><title>hello</title></head>' +
      '<body><script type="module" src="/main.js"></script></body></html>\n',
  );
  await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], dir);
  return tarball;
}

describe('the packed SDK in a clean Vite app', () => {
  let appDir: string;
  let stack: Stack;
  let api: WebsiteApiClient;
  let lineGroup: number;
  let site: { url: string; close(): Promise<void> } | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  const suffix = randomUUID().slice(0, 8);
  const seeded = `www.sdk-seed-${suffix}.example.com`;
  const item = (domain: string) => page.locator('li', { hasText: domain });

  beforeAll(async () => {
    appDir = mkdtempSync(join(tmpdir(), 'tideline-sdk-app-'));
    const helloWorld = readmeHelloWorld();
    // Both settle before a failure is thrown, so afterAll stops a stack that started beside a failed install.
    const [installed, started] = await Promise.allSettled([packAndInstall(appDir), startStack()]);
    if (started.status === 'fulfilled') stack = started.value;
    if (installed.status === 'rejected') throw installed.reason;
    if (started.status === 'rejected') throw started.reason;
    api = new WebsiteApiClient(stack);
    lineGroup = await api.createLineGroup(`sdk-${suffix}`, `edge-sdk-${suffix}.cdn.example.net`);
    await api.create([seeded], lineGroup);

    const token = tokenFor(stack, 'sdk-hello', ['websites:read']);
    writeFileSync(
      join(appDir, 'main.js'),
      helloWorld
        .replace(README_URL, JSON.stringify(stack.gatewayUrls[0]))
        .replace(README_TOKEN, JSON.stringify(token)),
    );
    await run(process.execPath, [join('node_modules', 'vite', 'bin', 'vite.js'), 'build'], appDir);
    site = await serveStatic(join(appDir, 'dist'));
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(site.url);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await stack?.stop();
    if (appDir) rmSync(appDir, { recursive: true, force: true });
  }, 60_000);

  it('install - the app lives outside the workspace and holds the packed build, not a link to the sources', () => {
    expect(relative(REPO_ROOT, appDir).startsWith('..')).toBe(true);
    const installed = join(appDir, 'node_modules', '@tideline', 'client');
    expect(lstatSync(installed).isSymbolicLink()).toBe(false);
    expect(existsSync(join(installed, 'dist', 'index.js'))).toBe(true);
    expect(existsSync(join(installed, 'src'))).toBe(false);
    expect(existsSync(join(appDir, 'node_modules', '@tideline', 'contracts'))).toBe(false);
  });

  it('types - the hello world type-checks against the published declarations alone, with real wire types', async () => {
    // The README's code as TypeScript, strict, library declarations checked too (skipLibCheck off);
    // the @ts-expect-error line fails the check if the declarations lost their types (any).
    writeFileSync(
      join(appDir, 'hello.ts'),
      `${readmeHelloWorld()}
// @ts-expect-error a website's primary_domain is a string
export const wrong: number = websites.items()[0]!.primary_domain;
export { useLiveCollection } from '@tideline/client/react';
`,
    );
    writeFileSync(
      join(appDir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'bundler',
          lib: ['ES2022', 'DOM'],
          types: [],
          strict: true,
          noEmit: true,
          skipLibCheck: false,
        },
        files: ['hello.ts'],
      }),
    );
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const checked = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], appDir).then(
      () => 'ok',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    expect(checked).toBe('ok');
  });

  it('hello world - built by Vite and run in Chromium, it lists every website and shows one created over HTTP live', async () => {
    await item(seeded).waitFor({ timeout: WAIT_MS });
    await expect.poll(() => page.locator('li').count(), { timeout: WAIT_MS }).toBe((await api.list()).length);
    const created = `www.sdk-live-${suffix}.example.com`;
    expect(await item(created).count()).toBe(0);
    await api.create([created], lineGroup);
    await item(created).waitFor({ timeout: WAIT_MS });
    expect(pageErrors).toEqual([]);
  });
});
