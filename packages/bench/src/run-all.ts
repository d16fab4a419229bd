import { spawn } from 'node:child_process';
import { globSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Every workspace's benchmark scripts (`bench` and `bench:*`), run one at a time so they never
 * compete for the machine, each bounded in time.
 */

/** One benchmark script of one workspace. */
export interface BenchScript {
  /** The workspace's package name, e.g. `@tideline/push-gateway`. */
  workspace: string;
  /** Its directory, relative to the repository root. */
  dir: string;
  /** The script's name, `bench` or `bench:…`. */
  script: string;
}

export const isBenchScript = (name: string): boolean => name === 'bench' || name.startsWith('bench:');

const readJson = (file: string): { name?: string; workspaces?: string[]; scripts?: Record<string, string> } =>
  JSON.parse(readFileSync(file, 'utf8'));

/**
 * The benchmark scripts of every workspace of the repository at `root`, in workspace directory
 * order, `bench` before a workspace's `bench:*` scripts.
 */
export function findBenchScripts(root: string): BenchScript[] {
  const patterns = readJson(join(root, 'package.json')).workspaces ?? [];
  const dirs = [...new Set(patterns.flatMap((p) => globSync(`${p}/package.json`, { cwd: root })))]
    .map((file) => dirname(file))
    .sort();
  const found: BenchScript[] = [];
  for (const dir of dirs) {
    const pkg = readJson(join(root, dir, 'package.json'));
    const scripts = Object.keys(pkg.scripts ?? {})
      .filter(isBenchScript)
      .sort((a, b) => (a === 'bench' ? -1 : b === 'bench' ? 1 : a.localeCompare(b)));
    for (const script of scripts) found.push({ workspace: pkg.name ?? dir, dir, script });
  }
  return found;
}

/** `@tideline/push-gateway` → `push-gateway`. */
const shortName = (workspace: string): string => workspace.replace(/^@[^/]+\//, '');

/** The names `--only` accepts for a script: its workspace (full or short), or workspace:script. */
function namesOf(s: BenchScript): string[] {
  return [
    s.workspace,
    shortName(s.workspace),
    `${s.workspace}:${s.script}`,
    `${shortName(s.workspace)}:${s.script}`,
  ];
}

/** The scripts `only` names (all when `only` is empty); throws naming what matched nothing. */
export function selectScripts(scripts: readonly BenchScript[], only: readonly string[]): BenchScript[] {
  if (only.length === 0) return [...scripts];
  const unknown = only.filter((name) => !scripts.some((s) => namesOf(s).includes(name)));
  if (unknown.length > 0)
    throw new Error(
      `no benchmark script named ${unknown.join(', ')}; there are: ${scripts.map((s) => `${shortName(s.workspace)}:${s.script}`).join(', ')}`,
    );
  return scripts.filter((s) => namesOf(s).some((name) => only.includes(name)));
}

/** How one script ended. */
export interface ScriptOutcome {
  script: BenchScript;
  status: 'ok' | 'failed' | 'timed out' | 'interrupted';
  /** Exit code, or the signal that ended it. */
  exit: number | string | null;
  durationMs: number;
}

/** Runs a command in a process group of its own; `stop(signal)` signals the whole group. */
export interface Launched {
  exited: Promise<number | string | null>;
  stop(signal: NodeJS.Signals): void;
}
export type Launcher = (command: readonly string[], cwd: string) => Launched;

/** The real launcher: inherits stdio; the child leads a new process group so a stop reaches its children too. */
export const launchProcessGroup: Launcher = (command, cwd) => {
  const [file, ...args] = command;
  const child = spawn(file!, args, { cwd, stdio: 'inherit', detached: true });
  const exited = new Promise<number | string | null>((resolve) => {
    child.once('error', () => resolve(127));
    child.once('exit', (code, signal) => resolve(code ?? signal));
  });
  return {
    exited,
    stop(signal) {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // the group is gone already
      }
    },
  };
};

/** After a script overruns, how long its processes get to stop on SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 5_000;

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60
    ? `${(ms / 1000).toFixed(1)} s`
    : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

export interface RunAllOptions {
  root: string;
  scripts: readonly BenchScript[];
  timeoutMs: number;
  log?: (line: string) => void;
  launch?: Launcher;
  /** The command for a script; default `npm run <script> -w <workspace>`. */
  commandOf?: (s: BenchScript) => string[];
  /** Resolves when the run should stop (Ctrl-C): the running script is interrupted, none started after. */
  interrupted?: Promise<unknown>;
  /** How long stopped processes get between SIGTERM (SIGINT when interrupted) and SIGKILL; default 5 s. */
  stopGraceMs?: number;
  now?: () => number;
}

/**
 * Runs `scripts` one after another; a failing or overrunning script is recorded and the next one
 * runs. Each line says how long the script took.
 */
export async function runAll(options: RunAllOptions): Promise<ScriptOutcome[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const launch = options.launch ?? launchProcessGroup;
  const now = options.now ?? Date.now;
  const commandOf = options.commandOf ?? ((s: BenchScript) => ['npm', 'run', s.script, '-w', s.workspace]);
  let stopRequested = false;
  void options.interrupted?.then(() => {
    stopRequested = true;
  });
  const outcomes: ScriptOutcome[] = [];
  const total = options.scripts.length;
  for (const [i, script] of options.scripts.entries()) {
    if (stopRequested) break;
    const name = `${script.workspace} ${script.script}`;
    log(`\n━━ [${i + 1}/${total}] ${name} (${commandOf(script).join(' ')})`);
    const started = now();
    const child = launch(commandOf(script), options.root);
    let reason: 'timed out' | 'interrupted' | undefined;
    let kill: NodeJS.Timeout | undefined;
    let done = false;
    const stop = (why: 'timed out' | 'interrupted') => {
      if (done) return;
      reason ??= why;
      child.stop(why === 'interrupted' ? 'SIGINT' : 'SIGTERM');
      kill ??= setTimeout(() => child.stop('SIGKILL'), options.stopGraceMs ?? STOP_GRACE_MS);
    };
    const timer = setTimeout(() => stop('timed out'), options.timeoutMs);
    void options.interrupted?.then(() => stop('interrupted'));
    const exit = await child.exited;
    done = true;
    clearTimeout(timer);
    if (kill) {
      clearTimeout(kill);
      child.stop('SIGKILL');
    }
    const durationMs = now() - started;
    const status = reason ?? (exit === 0 ? 'ok' : 'failed');
    outcomes.push({ script, status, exit, durationMs });
    log(
      `━━ ${name}: ${status === 'ok' ? 'ok' : status.toUpperCase()}${status === 'failed' ? ` (exit ${exit})` : ''} in ${formatDuration(durationMs)}`,
    );
  }
  return outcomes;
}

/** The closing table: one line per script with its status and duration, and the total. */
export function summarise(outcomes: readonly ScriptOutcome[]): string[] {
  const total = outcomes.reduce((sum, o) => sum + o.durationMs, 0);
  const width = Math.max(0, ...outcomes.map((o) => o.status.length));
  return [
    `benchmarks: ${outcomes.filter((o) => o.status === 'ok').length}/${outcomes.length} ok in ${formatDuration(total)}`,
    ...outcomes.map(
      (o) =>
        `  ${o.status.padEnd(width)}  ${formatDuration(o.durationMs).padStart(12)}  ${o.script.workspace} ${o.script.script}${o.status === 'failed' ? ` (exit ${o.exit})` : ''}`,
    ),
  ];
}
