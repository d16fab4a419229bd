import { ConfigError, EXIT_CONFIG } from '@tideline/config';
import { startWebsiteApi } from './app.ts';

try {
  await startWebsiteApi({ handleSignals: true });
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`config error: ${error.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  process.stderr.write(`website-api failed to start: ${(error as Error).message}\n`);
  process.exit(1);
}
