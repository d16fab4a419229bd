/**
 * The one way Tideline's command-line tools read their arguments: `node:util` `parseArgs`,
 * `--help`/`-h` prints the usage to stdout and exits 0, and any bad or unknown argument is refused
 * with ONE line on stderr and exit code {@link EXIT_USAGE} — never a stack trace.
 */
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import type { Setting } from './setting.ts';

/** The conventional exit code of a usage error (as bash and getopt use it). */
export const EXIT_USAGE = 2;

export interface CliSpec<O extends ParseArgsOptionsConfig> {
  /** How the tool is run, e.g. `npm run token --`; starts the usage and every error line. */
  name: string;
  /** The usage text printed by `--help`: the synopsis line(s) and one line per option. */
  usage: string;
  options: O;
}

type ParsedValues<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ options: O }>>['values'];

/** What a CLI does with its input: the parsed values, and how to refuse one of them. */
export interface Cli<O extends ParseArgsOptionsConfig> {
  values: ParsedValues<O>;
  /** Writes one line (`<name>: <message> (see --help)`) to stderr and exits {@link EXIT_USAGE}. */
  fail(message: string): never;
  /** A whole number within [min, max] (an option's value), or `fallback` when the option is absent. */
  int(option: keyof O & string, fallback: number, bounds?: { min?: number; max?: number }): number;
  /** An option's value checked by the rule of the setting it overrides, or `fallback` when absent. */
  setting<T>(option: keyof O & string, setting: Setting<T>, fallback: T): T;
}

/** How a CLI ends the process and writes its output; tests and the real process differ only here. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  exit(code: number): never;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  exit: (code) => process.exit(code),
};

/** One line: parseArgs' messages may span lines and carry hints meant for code, not people. */
function oneLine(message: string): string {
  return message.split('\n')[0]!.replace(/\s+/g, ' ').trim();
}

export function parseCli<O extends ParseArgsOptionsConfig>(
  spec: CliSpec<O>,
  args: string[] = process.argv.slice(2),
  io: CliIo = processIo,
): Cli<O> {
  const fail = (message: string): never => {
    io.stderr(`${spec.name}: ${oneLine(message)} (see --help)\n`);
    return io.exit(EXIT_USAGE);
  };
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(`usage: ${spec.name} ${spec.usage.trimEnd()}\n`);
    io.exit(0);
  }
  let values: ParsedValues<O>;
  try {
    ({ values } = parseArgs({ args, options: spec.options, strict: true, allowPositionals: false }));
  } catch (error) {
    return fail((error as Error).message);
  }
  const int = (option: keyof O & string, fallback: number, bounds: { min?: number; max?: number } = {}) => {
    const raw = (values as Record<string, unknown>)[option];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    const { min = 0, max = Number.MAX_SAFE_INTEGER } = bounds;
    if (typeof raw !== 'string' || raw.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max)
      return fail(`--${option} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return n;
  };
  const setting = <T>(option: keyof O & string, rule: Setting<T>, fallback: T): T => {
    const raw = (values as Record<string, unknown>)[option];
    if (raw === undefined) return fallback;
    const parsed = rule.schema.safeParse(raw);
    if (!parsed.success) return fail(`--${option} must be ${rule.rule}, got ${JSON.stringify(raw)}`);
    return parsed.data;
  };
  return { values, fail, int, setting };
}

/**
 * Progress of a long run, written to stderr at most once per `intervalMs` (and once at the end),
 * so a million-row seed shows it is alive without flooding a terminal or a CI log.
 */
export class Progress {
  private lastWrite = 0;
  private done = 0;

  constructor(
    private readonly options: {
      label: string;
      total: number;
      intervalMs: number;
      write?: (text: string) => void;
      now?: () => number;
    },
  ) {
    this.lastWrite = this.now();
  }

  /** Counts `n` more done; writes a line when the interval has passed since the last one. */
  tick(n = 1): void {
    this.done += n;
    const now = this.now();
    if (now - this.lastWrite < this.options.intervalMs) return;
    this.lastWrite = now;
    this.write();
  }

  /** The final line, whatever the interval. */
  finish(): void {
    this.write();
  }

  private write(): void {
    const { label, total } = this.options;
    const percent = total > 0 ? Math.floor((this.done / total) * 100) : 100;
    (this.options.write ?? ((text) => process.stderr.write(text)))(
      `${label}: ${this.done}/${total} (${percent}%)\n`,
    );
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}
