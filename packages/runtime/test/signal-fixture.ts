import { runService } from '../src/index.ts';

await runService(
  {
    name: 'signal-fixture',
    settings: {},
    listen: () => ({ port: 0, host: '127.0.0.1' }),
    start: async ({ onStop }) => {
      onStop('in-flight work', () => new Promise((resolve) => setTimeout(resolve, 50)));
    },
  },
  { handleSignals: true },
);
