/**
 * One group-commit turn at the topic lock, two ways, in turns (rotating order): its statements
 * one after the other in a transaction (BEGIN, a round trip per statement, COMMIT: the store
 * until 2026-11-30, through Prisma's driver adapter) and pipelined (`Database.statements.pipeline`:
 * BEGIN, the statements and COMMIT in one round trip, PostgreSQL running them back to back: the
 * store now). Each turn is N create statements of the store (event log on, waiting for the topic
 * lock), on analyzed tables holding 2,000 websites. Prints the turn's p50 and the time per change,
 * and checks the event ids stayed gap-free.
 *
 * `npx tsx bench/turn-pipelining.ts` (PostgreSQL only). TURN_SIZES=1,4,8 TURNS=150.
 */
import { quantile } from '@tideline/bench';
import { createDatabase, migrate, type Prisma } from '@tideline/db';
import { TestDatabase } from '@tideline/test-support';
import { PostgresEventLog } from '../src/adapters/event-log/postgres-event-log.ts';
import { createWebsiteStatement } from '../src/adapters/website-statements.ts';

const TURN_SIZES = (process.env['TURN_SIZES'] ?? '1,4,8').split(',').map(Number);
const TURNS = Number(process.env['TURNS'] ?? 150);
const SEEDED_WEBSITES = 2_000;
const WARMUP_TURNS = 20;

const database = await TestDatabase.create('tideline_turns');
try {
  await migrate({ url: database.url });
  const db = createDatabase({
    url: database.url,
    statementTimeoutMs: 10_000,
    connectTimeoutMs: 5_000,
    poolMax: 2,
    transactionTimeoutMs: 10_000,
    transactionMaxWaitMs: 5_000,
    applicationName: 'turn-pipelining',
  });
  const { statements } = db;
  const eventLog = new PostgresEventLog({ prisma: db.prisma });
  await eventLog.ensureTopic();
  const [lineGroup] = await db.prisma.$queryRaw<{ id: number }[]>`
    INSERT INTO line_groups (name, cname) VALUES ('turns', 't.cdn.example.net') RETURNING id`;
  let serial = 0;
  const create = (wait: boolean): Prisma.Sql => {
    const n = serial++;
    return createWebsiteStatement(
      {
        domains: [`www.turn-${n}.example.com`, `turn-${n}.example.com`],
        line_group_id: lineGroup!.id,
        https_enabled: false,
        status: 'active',
      },
      (gate) => {
        const parts = eventLog.statementParts({ wait, gate, trace: undefined });
        return { lock: parts.lock, append: parts.append('add') };
      },
    );
  };
  for (let i = 0; i < SEEDED_WEBSITES; i++) await statements.query(create(false));
  await db.pool.query('VACUUM (ANALYZE)');

  const ways: Record<string, (n: number) => Promise<unknown>> = {
    'one after the other (BEGIN, N statements, COMMIT)': (n) =>
      statements.transaction(async (tx) => {
        for (let i = 0; i < n; i++) await tx.query(create(true));
      }),
    'pipelined (statements.pipeline)': (n) =>
      statements.pipeline(Array.from({ length: n }, () => create(true))),
  };
  for (const size of TURN_SIZES) {
    const latencies: Record<string, number[]> = Object.fromEntries(Object.keys(ways).map((k) => [k, []]));
    for (let turn = 0; turn < TURNS + WARMUP_TURNS; turn++) {
      const order = Object.entries(ways);
      if (turn % 2 === 1) order.reverse();
      for (const [label, way] of order) {
        const t0 = performance.now();
        await way(size);
        if (turn >= WARMUP_TURNS) latencies[label]!.push(performance.now() - t0);
      }
    }
    for (const [label, values] of Object.entries(latencies)) {
      const p50 = quantile(values, 0.5);
      console.log(
        `turn of ${String(size).padStart(2)}: ${label.padEnd(52)} p50 ${p50.toFixed(3)} ms, ${(p50 / size).toFixed(3)} ms per change`,
      );
    }
  }
  const [check] = await db.pool
    .query<{ events: number; last: number; gaps: number }>(
      `SELECT count(*)::int AS events, max(id)::int AS last,
              count(*) FILTER (WHERE id <> expected)::int AS gaps
         FROM (SELECT id, row_number() OVER (ORDER BY id) AS expected FROM ws_events) e`,
    )
    .then((result) => result.rows);
  console.log(`events ${check!.events}, last id ${check!.last}, out of sequence ${check!.gaps} (must be 0)`);
  await db.close();
} finally {
  await database[Symbol.asyncDispose]();
}
