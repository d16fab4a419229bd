import { ConfigError, EXIT_CONFIG, redactCredentials } from '@tideline/config';
import type { RunOptions } from './service.ts';

/**
 * The body of every service's process entry (`src/main.ts`): starts the service with signal
 * handling (SIGTERM/SIGINT drain it, then the process exits). Invalid configuration exits with
 * {@link EXIT_CONFIG} and one line naming the variable; any other start failure exits 1 with
 * the error's message (never its configuration values).
 */
export async function runMain(name: string, start: (options: RunOptions) => Promise<unknown>): Promise<void> {
  try {
    await start({ handleSignals: true });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`config error: ${error.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    process.stderr.write(`${name} failed to start: ${redactCredentials((error as Error).message)}\n`);
    process.exit(1);
  }
}
