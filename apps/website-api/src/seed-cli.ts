/**
 * `npm run seed [-- --websites N] [--line-groups M]`: creates line groups (when missing) and N
 * websites for demos and benchmarks, through the same store as the API, so every website comes
 * with its `add` event (a running website-api's relay publishes them).
 */
import { randomUUID } from 'node:crypto';
import { databaseSettings, loadConfigOrExit, Progress, parseCli, websiteApiSettings } from '@tideline/config';
import type { LineGroup, WebsiteStatus } from '@tideline/contracts';
import { migrateDatabase, openDatabase } from './adapters/database.ts';
import { PostgresEventLog } from './adapters/event-log/postgres-event-log.ts';
import { PrismaWebsiteStore } from './adapters/prisma-website-store.ts';

const seedSettings = {
  seedWebsites: websiteApiSettings.seedWebsites,
  seedLineGroups: websiteApiSettings.seedLineGroups,
  seedConcurrency: websiteApiSettings.seedConcurrency,
  seedProgressIntervalMs: websiteApiSettings.seedProgressIntervalMs,
  writeLockTries: websiteApiSettings.writeLockTries,
  writeBatchMax: websiteApiSettings.writeBatchMax,
};
const { seedWebsites, seedLineGroups } = seedSettings;
const cli = parseCli({
  name: 'npm run seed --',
  usage: `[--websites <n>] [--line-groups <m>]

Creates line groups (when missing) and websites, each with its \`add\` event, in TIDELINE_DATABASE_URL.
  --websites <n>       websites to create: ${seedWebsites.rule} (default: TIDELINE_SEED_WEBSITES)
  --line-groups <m>    line groups to ensure: ${seedLineGroups.rule} (default: TIDELINE_SEED_LINE_GROUPS)
  -h, --help           this text
Progress goes to stderr (every TIDELINE_SEED_PROGRESS_INTERVAL_MS at most).`,
  options: { websites: { type: 'string' }, 'line-groups': { type: 'string' } },
});
const config = loadConfigOrExit({ ...databaseSettings, ...seedSettings });
const websites = cli.setting('websites', seedWebsites, config.seedWebsites);
const lineGroupCount = cli.setting('line-groups', seedLineGroups, config.seedLineGroups);

await migrateDatabase(config);
const database = openDatabase(config, {
  applicationName: 'tideline-seed',
  poolMax: Math.max(config.seedConcurrency, 2),
});
try {
  const eventLog = new PostgresEventLog({ prisma: database.prisma });
  await eventLog.ensureTopic();
  const store = new PrismaWebsiteStore({
    prisma: database.prisma,
    statements: database.statements,
    eventLog,
    writeLockTries: config.writeLockTries,
    writeBatchMax: config.writeBatchMax,
  });
  const existing = new Map((await store.listLineGroups()).map((group) => [group.name, group]));
  const lineGroups: LineGroup[] = [];
  for (let i = 1; i <= lineGroupCount; i++) {
    const name = `line-group-${i}`;
    lineGroups.push(
      existing.get(name) ?? (await store.createLineGroup({ name, cname: `lg${i}.cdn.tideline.example` })),
    );
  }
  const run = randomUUID().slice(0, 6);
  const statuses: WebsiteStatus[] = ['active', 'active', 'active', 'paused'];
  let next = 0;
  const progress = new Progress({
    label: 'seeding websites',
    total: websites,
    intervalMs: config.seedProgressIntervalMs,
  });
  const worker = async () => {
    for (let i = next++; i < websites; i = next++) {
      await store.createWebsite({
        domains: [`www.site-${run}-${i}.example.com`, `site-${run}-${i}.example.com`],
        line_group_id: lineGroups[i % lineGroups.length]!.id,
        https_enabled: i % 3 !== 0,
        status: statuses[i % statuses.length]!,
      });
      progress.tick();
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(config.seedConcurrency, Math.max(websites, 1)) }, worker));
  progress.finish();
  const position = await eventLog.position();
  process.stdout.write(
    `seeded ${websites} websites on ${lineGroups.length} line groups in ${Math.round(performance.now() - started)} ms; ` +
      `event log now at id ${position.lastEventId} (epoch ${position.epoch})\n`,
  );
} finally {
  await database.close();
}
