import { ConfigError, EXIT_CONFIG } from '@tideline/config';
import { startPushGateway } from './gateway.ts';

try {
  await startPushGateway({ handleSignals: true });
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`config error: ${error.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  process.stderr.write(`push-gateway failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
}
