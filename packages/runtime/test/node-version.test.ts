import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const pinned = `v${readFileSync(new URL('../../../.nvmrc', import.meta.url), 'utf8').trim()}`;

describe('Node.js runtime', () => {
  it('node version - tests run on the Node.js version pinned in .nvmrc', () => {
    expect(process.version).toBe(pinned);
  });

  it('node version - services spawned with process.execPath and `node` from PATH run the pinned Node.js', () => {
    // Services, stack processes and `#!/usr/bin/env node` tools start one of these two ways.
    expect(execFileSync(process.execPath, ['-p', 'process.version'], { encoding: 'utf8' }).trim()).toBe(
      pinned,
    );
    expect(execFileSync('node', ['-p', 'process.version'], { encoding: 'utf8' }).trim()).toBe(pinned);
  });
});
