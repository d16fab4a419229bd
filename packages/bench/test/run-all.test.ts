import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type BenchScript,
  findBenchScripts,
  type Launcher,
  launchProcessGroup,
  runAll,
  selectScripts,
  summarise,
} from '../src/index.ts';

function repo(workspaces: Record<string, { name: string; scripts?: Record<string, string> }>): string {
  const root = mkdtempSync(join(tmpdir(), 'bench-all-'));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ workspaces: ['packages/*', 'apps/*'] }));
  for (const [dir, pkg] of Object.entries(workspaces)) {
    mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, dir, 'package.json'), JSON.stringify(pkg));
  }
  return root;
}

describe('findBenchScripts', () => {
  it('finds every bench and bench:* script of every workspace, bench first, in directory order', () => {
    const root = repo({
      'apps/push-gateway': {
        name: '@t/push-gateway',
        scripts: { 'bench:delta': 'x', bench: 'x', benchmark: 'x', test: 'x' },
      },
      'apps/informer': { name: '@t/informer', scripts: { bench: 'x' } },
      'packages/bus': { name: '@t/bus', scripts: { bench: 'x' } },
      'packages/config': { name: '@t/config', scripts: { docs: 'x' } },
      'packages/empty': { name: '@t/empty' },
    });
    expect(findBenchScripts(root).map((s) => `${s.dir} ${s.workspace} ${s.script}`)).toEqual([
      'apps/informer @t/informer bench',
      'apps/push-gateway @t/push-gateway bench',
      'apps/push-gateway @t/push-gateway bench:delta',
      'packages/bus @t/bus bench',
    ]);
  });
});

describe('selectScripts', () => {
  const scripts: BenchScript[] = [
    { workspace: '@t/push-gateway', dir: 'apps/push-gateway', script: 'bench' },
    { workspace: '@t/push-gateway', dir: 'apps/push-gateway', script: 'bench:delta' },
    { workspace: '@t/bus', dir: 'packages/bus', script: 'bench' },
  ];
  it('by workspace (short or full) or workspace:script; all without names', () => {
    expect(selectScripts(scripts, [])).toHaveLength(3);
    expect(selectScripts(scripts, ['push-gateway'])).toHaveLength(2);
    expect(selectScripts(scripts, ['@t/bus', 'push-gateway:bench:delta']).map((s) => s.script)).toEqual([
      'bench:delta',
      'bench',
    ]);
  });
  it('refuses a name that matches nothing, listing what there is', () => {
    expect(() => selectScripts(scripts, ['bus', 'cache'])).toThrow(
      /no benchmark script named cache; there are: push-gateway:bench, push-gateway:bench:delta, bus:bench/,
    );
  });
});

describe('runAll', () => {
  const scripts: BenchScript[] = ['a', 'b', 'c'].map((w) => ({ workspace: w, dir: w, script: 'bench' }));

  /** A launcher whose scripts end with the given exit codes, or never (until stopped). */
  function fakeLauncher(exits: Record<string, number | 'hang'>) {
    const launched: string[] = [];
    const signals: string[] = [];
    const launch: Launcher = (command) => {
      const name = command[4]!;
      launched.push(command.join(' '));
      let end: (code: number | string) => void = () => {};
      const exited = new Promise<number | string | null>((resolve) => {
        end = resolve;
      });
      const code = exits[name];
      if (code !== 'hang') queueMicrotask(() => end(code ?? 0));
      return {
        exited,
        stop(signal) {
          signals.push(`${name} ${signal}`);
          if (signal !== 'SIGKILL') end(signal);
        },
      };
    };
    return { launch, launched, signals };
  }

  it('runs the scripts one after another with npm, and goes on past a failure', async () => {
    const fake = fakeLauncher({ b: 3 });
    const lines: string[] = [];
    let clock = 0;
    const outcomes = await runAll({
      root: '/repo',
      scripts,
      timeoutMs: 60_000,
      launch: fake.launch,
      log: (l) => lines.push(l),
      now: () => (clock += 1500),
    });
    expect(fake.launched).toEqual(['npm run bench -w a', 'npm run bench -w b', 'npm run bench -w c']);
    expect(outcomes.map((o) => [o.script.workspace, o.status, o.exit])).toEqual([
      ['a', 'ok', 0],
      ['b', 'failed', 3],
      ['c', 'ok', 0],
    ]);
    expect(lines).toContain('━━ b bench: FAILED (exit 3) in 1.5 s');
    expect(summarise(outcomes)).toEqual([
      'benchmarks: 2/3 ok in 4.5 s',
      '  ok             1.5 s  a bench',
      '  failed         1.5 s  b bench (exit 3)',
      '  ok             1.5 s  c bench',
    ]);
  });

  it('stops an overrunning script (SIGTERM, then SIGKILL to the group) and runs the next', async () => {
    const fake = fakeLauncher({ a: 'hang' });
    const outcomes = await runAll({
      root: '/repo',
      scripts: scripts.slice(0, 2),
      timeoutMs: 20,
      launch: fake.launch,
      log: () => {},
    });
    expect(outcomes.map((o) => o.status)).toEqual(['timed out', 'ok']);
    expect(fake.signals).toEqual(['a SIGTERM', 'a SIGKILL']);
  });

  it('interrupted - stops the running script with SIGINT and starts no other', async () => {
    const fake = fakeLauncher({ a: 'hang' });
    let interrupt: () => void = () => {};
    const interrupted = new Promise<void>((resolve) => {
      interrupt = resolve;
    });
    const run = runAll({
      root: '/repo',
      scripts,
      timeoutMs: 60_000,
      launch: fake.launch,
      log: () => {},
      interrupted,
    });
    setTimeout(interrupt, 10);
    const outcomes = await run;
    expect(outcomes.map((o) => o.status)).toEqual(['interrupted']);
    expect(fake.launched).toHaveLength(1);
    expect(fake.signals[0]).toBe('a SIGINT');
  });

  it('launchProcessGroup - a stopped script and the processes it started are all ended', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-all-'));
    const pidFile = join(dir, 'grandchild.pid');
    // A script that starts a child of its own and ignores SIGINT: only SIGKILL to the group ends both.
    const script = `
      const { spawn } = require('node:child_process');
      const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      process.on('SIGINT', () => {});
      require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(c.pid));
      setInterval(() => {}, 1000);`;
    const launch: Launcher = (_command, cwd) => launchProcessGroup([process.execPath, '-e', script], cwd);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const until = async (what: () => boolean) => {
      for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 50));
    };
    const interrupted = until(() => existsSync(pidFile));
    const outcomes = await runAll({
      root: dir,
      scripts: scripts.slice(0, 1),
      timeoutMs: 600_000,
      stopGraceMs: 200,
      launch,
      log: () => {},
      interrupted,
    });
    expect(outcomes[0]!.status).toBe('interrupted');
    expect(outcomes[0]!.exit).toBe('SIGKILL');
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    // SIGKILL is delivered by the kernel; the orphan is reaped by init shortly after.
    await until(() => !alive(grandchild));
    expect(alive(grandchild)).toBe(false);
  });
});
