import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TestDatabase } from '@tideline/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../src/seed-cli.ts', import.meta.url));
const WEBSITES = 300;

describe('seed CLI', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await TestDatabase.create('tideline_seed_cli');
  });
  afterAll(() => db?.[Symbol.asyncDispose]());

  it('seed CLI - a long run shows its progress on stderr, throttled, ending at the total', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--websites', String(WEBSITES)], {
      env: {
        ...process.env,
        TIDELINE_ENV: 'test',
        TIDELINE_DATABASE_URL: db.url,
        TIDELINE_SEED_PROGRESS_INTERVAL_MS: '10',
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, stderr).toBe(0);
    const progress = stderr.split('\n').filter((line) => line.startsWith('seeding websites: '));
    expect(progress.at(-1)).toBe(`seeding websites: ${WEBSITES}/${WEBSITES} (100%)`);
    // Throttled: far fewer lines than rows, each count at least the one before.
    expect(progress.length).toBeLessThan(WEBSITES);
    const counts = progress.map((line) => Number(/: (\d+)\//.exec(line)![1]));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(stdout).toMatch(new RegExp(`^seeded ${WEBSITES} websites`));
  });
});
