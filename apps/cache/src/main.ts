import { ConfigError, EXIT_CONFIG } from '@tideline/config';
import { startCache } from './service.ts';

try {
  await startCache({ handleSignals: true });
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`config error: ${error.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  process.stderr.write(`cache failed to start: ${(error as Error).message}\n`);
  process.exit(1);
}
