/**
 * website-api in a process of its own, for writes.bench.ts: as deployed, the service does not share
 * its event loop with the clients that load it. `BENCH_WITHOUT_EVENT_LOG=1` starts the log-off
 * baseline (never a service's setting: it would break invariant 1). Settings come from the
 * environment; the URL is reported over IPC once it listens. Stops on the message `stop` or when
 * the parent goes away.
 */
import { startWebsiteApi } from '../src/service.ts';

const api = await startWebsiteApi({
  withoutEventLog: process.env['BENCH_WITHOUT_EVENT_LOG'] === '1',
  source: { env: process.env },
});
let stopping: Promise<void> | undefined;
const stop = () => {
  stopping ??= api.stop('bench done').then(() => process.exit(0));
  return stopping;
};
process.on('message', (message) => {
  if (message === 'stop') void stop();
});
process.on('disconnect', () => void stop());
process.send?.({ url: api.url });
