/**
 * Bench-only: a push-gateway whose websites come from memory (SEED websites, no website-api), for
 * bench/heap-profile.ts. Configured from the environment like src/main.ts; prints the gateway's
 * `{"msg":"started","port":N}` log line once listening.
 */
import type { WebsiteItem, WebsitesInitial } from '@tideline/contracts';
import { startPushGateway } from '../src/service.ts';

const SEED = Number(process.env['BENCH_SEED_WEBSITES'] ?? 100);
const items: WebsiteItem[] = Array.from({ length: SEED }, (_, i) => ({
  website_id: i + 1,
  primary_domain: `w${i + 1}.bench.example.com`,
  domains: [`w${i + 1}.bench.example.com`],
  cname: 'bench.cdn.example.net',
  line_group: { id: 1, name: 'bench' },
  https_enabled: true,
  status: 'active',
  updated_at: new Date(0).toISOString(),
}));
const snapshot: WebsitesInitial = { items, total: SEED, version: 'bench', lastEventId: SEED };

await startPushGateway({
  handleSignals: true,
  websitesSource: {
    snapshot: async () => ({ ...snapshot }),
    replay: async () => ({ kind: 'fallback', reason: 'purged' }),
  },
  nodesSource: {
    snapshot: async (cluster) => ({ cluster, items: [], total: 0, lastEventId: 0 }),
    replay: async () => ({ kind: 'fallback', reason: 'purged' }),
  },
});
