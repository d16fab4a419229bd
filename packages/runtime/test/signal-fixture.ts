import { writeFileSync } from 'node:fs';
import { runService } from '../src/index.ts';

/**
 * A service process for the SIGTERM test. It keeps its own record of the stop (written
 * synchronously at exit to the file named by SIGNAL_FIXTURE_RECORD): whether the HTTP server was
 * still listening while its stop step ran, and whether it was closed by the time the process
 * exited. The test reads that record, not the order of lines in its output.
 */
const recordPath = process.env['SIGNAL_FIXTURE_RECORD'];
const record: { step: string; httpListening: boolean }[] = [];

const running = await runService(
  {
    name: 'signal-fixture',
    settings: {},
    listen: () => ({ port: 0, host: '127.0.0.1' }),
    start: async ({ onStop, http }) => {
      onStop('in-flight work', async () => {
        record.push({ step: 'in-flight work', httpListening: http.server.listening });
      });
    },
  },
  { handleSignals: true },
);

process.on('exit', () => {
  record.push({ step: 'exit', httpListening: running.http.server.listening });
  if (recordPath) writeFileSync(recordPath, JSON.stringify(record));
});
