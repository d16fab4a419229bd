import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type CliIo, EXIT_USAGE, Progress, parseCli } from './cli.ts';
import { int } from './setting.ts';

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** Runs parseCli with captured output; an exit is thrown so the test sees the code. */
function run(args: string[]) {
  const out = { stdout: '', stderr: '', code: undefined as number | undefined };
  const io: CliIo = {
    stdout: (text) => {
      out.stdout += text;
    },
    stderr: (text) => {
      out.stderr += text;
    },
    exit: (code) => {
      throw new Exit(code);
    },
  };
  const spec = {
    name: 'tool',
    usage: '--count <n>\n  --count <n>   how many',
    options: { count: { type: 'string' }, flag: { type: 'boolean' } },
  } as const;
  try {
    const cli = parseCli(spec, args, io);
    const count = cli.setting('count', int({ env: 'TIDELINE_X', min: 1, max: 10, doc: '' }), 3);
    return { ...out, count, flag: cli.values.flag };
  } catch (error) {
    if (error instanceof Exit) return { ...out, code: error.code };
    throw error;
  }
}

/** Each case spawns a Node process with tsx: seconds each on a loaded machine. */
const SPAWN_TIMEOUT_MS = 60_000;

describe('parseCli', () => {
  it(
    '--help and -h - print the usage to stdout and exit 0',
    () => {
      for (const flag of ['--help', '-h']) {
        const out = run([flag]);
        expect(out.code).toBe(0);
        expect(out.stdout).toBe('usage: tool --count <n>\n  --count <n>   how many\n');
        expect(out.stderr).toBe('');
      }
    },
    SPAWN_TIMEOUT_MS,
  );

  it(
    'unknown options, positionals, missing and bad values - one line on stderr, exit 2, no stack trace',
    () => {
      for (const args of [
        ['--nope'],
        ['extra'],
        ['--count'],
        ['--count', 'abc'],
        ['--count', '11'],
        ['--flag=x'],
      ]) {
        const out = run(args);
        expect(out.code, args.join(' ')).toBe(EXIT_USAGE);
        expect(out.stderr, args.join(' ')).toMatch(/^tool: [^\n]+ \(see --help\)\n$/);
        expect(out.stderr).not.toMatch(/ERR_PARSE_ARGS|at .*\.ts:\d+/);
        expect(out.stdout).toBe('');
      }
      expect(run(['--count', 'abc']).stderr).toContain('--count must be a whole number from 1 to 10');
    },
    SPAWN_TIMEOUT_MS,
  );

  it(
    'good arguments - parsed values, defaults when absent',
    () => {
      expect(run(['--count', '7', '--flag'])).toMatchObject({ count: 7, flag: true, code: undefined });
      expect(run([])).toMatchObject({ count: 3, code: undefined });
    },
    SPAWN_TIMEOUT_MS,
  );
});

describe('Progress', () => {
  it(
    'throttles - at most one line per interval, and always the final line',
    () => {
      let now = 0;
      const lines: string[] = [];
      const progress = new Progress({
        label: 'seeding',
        total: 1_000,
        intervalMs: 100,
        write: (text) => lines.push(text),
        now: () => now,
      });
      for (let i = 0; i < 1_000; i++) {
        now += 1; // 1 000 ticks over 1 000 ms: at most 10 lines
        progress.tick();
      }
      progress.finish();
      expect(lines.length).toBeLessThanOrEqual(11);
      expect(lines.length).toBeGreaterThanOrEqual(2);
      expect(lines.at(-1)).toBe('seeding: 1000/1000 (100%)\n');
    },
    SPAWN_TIMEOUT_MS,
  );
});

describe('reference CLI', () => {
  const cli = fileURLToPath(new URL('./reference-cli.ts', import.meta.url));
  const spawn = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8' });

  it(
    'reference CLI - --help prints usage and exits 0, changing nothing',
    () => {
      const result = spawn(['--help']);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^usage: npm run docs -w @tideline\/config -- /);
      expect(result.stdout).not.toContain('updated');
    },
    SPAWN_TIMEOUT_MS,
  );

  it(
    'reference CLI - an unknown argument exits 2 with one line, changing nothing',
    () => {
      const result = spawn(['--write-elsewhere']);
      expect(result.status).toBe(EXIT_USAGE);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/unknown option '--write-elsewhere'/i);
      expect(result.stdout).toBe('');
    },
    SPAWN_TIMEOUT_MS,
  );
});
