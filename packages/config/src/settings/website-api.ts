import { bool, int, ms, port, seconds, str } from '../setting.ts';

/** Settings of apps/website-api. */
export const websiteApiSettings = {
  port: port({
    env: 'TIDELINE_WEBSITE_API_PORT',
    default: 3001,
    allowZero: true,
    doc: 'HTTP port of website-api (0 picks a free port).',
  }),
  host: str({ env: 'TIDELINE_WEBSITE_API_HOST', default: '0.0.0.0', doc: 'Address website-api listens on.' }),
  migrateOnStart: bool({
    env: 'TIDELINE_WEBSITE_API_MIGRATE_ON_START',
    default: true,
    doc: 'Apply pending database migrations (and create the database) at start; replicas take turns through an advisory lock.',
  }),
  relayIntervalMs: ms({
    env: 'TIDELINE_WEBSITE_API_RELAY_INTERVAL_MS',
    default: 500,
    min: 10,
    max: 60_000,
    doc: 'How often the relay looks for committed events not yet on the broker (writes of this replica are relayed at once).',
  }),
  relayBatchSize: int({
    env: 'TIDELINE_WEBSITE_API_RELAY_BATCH_SIZE',
    min: 1,
    max: 10_000,
    default: 500,
    doc: 'Events the relay reads and publishes per round trip to the database.',
  }),
  relayLeaseMs: ms({
    env: 'TIDELINE_WEBSITE_API_RELAY_LEASE_MS',
    default: 10_000,
    min: 100,
    max: 600_000,
    doc: 'Only the replica holding the relay lease publishes; a lease not renewed for this long passes to another replica.',
  }),
  busStartRetryMs: ms({
    env: 'TIDELINE_WEBSITE_API_BUS_START_RETRY_MS',
    default: 2_000,
    min: 10,
    max: 600_000,
    doc: 'Wait between attempts to connect to the broker when it was down at start (writes work meanwhile).',
  }),
  retentionMaxAgeSeconds: seconds({
    env: 'TIDELINE_WEBSITE_API_RETENTION_MAX_AGE_SECONDS',
    default: 604_800,
    min: 1,
    doc: 'Events older than this are purged from the event log (once relayed); a replay from a purged id falls back to a snapshot.',
  }),
  retentionMaxRows: int({
    env: 'TIDELINE_WEBSITE_API_RETENTION_MAX_ROWS',
    min: 1,
    max: 1_000_000_000,
    default: 1_000_000,
    doc: 'The event log keeps at most this many newest events (once relayed); whichever of age and rows keeps fewer wins.',
  }),
  retentionIntervalMs: ms({
    env: 'TIDELINE_WEBSITE_API_RETENTION_INTERVAL_MS',
    default: 60_000,
    min: 10,
    doc: 'How often the event log cleanup runs.',
  }),
  retentionBatchRows: int({
    env: 'TIDELINE_WEBSITE_API_RETENTION_BATCH_ROWS',
    min: 1,
    max: 1_000_000,
    default: 10_000,
    doc: 'Events deleted per cleanup transaction, so writers are never held up long.',
  }),
  retentionMaxBatches: int({
    env: 'TIDELINE_WEBSITE_API_RETENTION_MAX_BATCHES',
    min: 1,
    max: 100_000,
    default: 100,
    doc: 'Cleanup transactions per cleanup run at most; the rest waits for the next run.',
  }),
  seedWebsites: int({
    env: 'TIDELINE_SEED_WEBSITES',
    min: 0,
    max: 1_000_000,
    default: 100,
    doc: 'Websites `npm run seed` creates when `--websites` is not given.',
  }),
  seedLineGroups: int({
    env: 'TIDELINE_SEED_LINE_GROUPS',
    min: 1,
    max: 1_000,
    default: 3,
    doc: 'Line groups `npm run seed` ensures when `--line-groups` is not given.',
  }),
  seedConcurrency: int({
    env: 'TIDELINE_SEED_CONCURRENCY',
    min: 1,
    max: 64,
    default: 4,
    doc: 'Websites `npm run seed` creates at the same time.',
  }),
};
