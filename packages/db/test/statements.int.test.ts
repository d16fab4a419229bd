import { eventually, FaultProxy, type TestDatabase } from '@tideline/test-support';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database, Prisma } from '../src/index.ts';
import { migratedTestDatabase } from '../src/testing.ts';

let fx: TestDatabase;
let db: Database;
beforeAll(async () => {
  fx = await migratedTestDatabase('tideline_db_statements');
  db = createDatabase({
    url: fx.url,
    statementTimeoutMs: 5_000,
    connectTimeoutMs: 5_000,
    poolMax: 4,
    transactionTimeoutMs: 5_000,
    transactionMaxWaitMs: 5_000,
    applicationName: 'statements-test',
  });
});
afterAll(async () => {
  await db?.close();
  await fx?.[Symbol.asyncDispose]();
});

/** Line groups named `name`, counted by `pg` itself on a connection of its own (sees only what committed). */
async function lineGroups(name: string): Promise<{ n: number }[]> {
  const client = new pg.Client({ connectionString: fx.url });
  await client.connect();
  try {
    return (
      await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM line_groups WHERE name = $1`, [name])
    ).rows;
  } finally {
    await client.end();
  }
}

describe('raw statements (Prisma driver adapter, without the client machinery)', () => {
  it('answers rows typed as $queryRaw types them: int8 as bigint, jsonb parsed, timestamptz as Date, arrays and booleans', async () => {
    const sql = Prisma.sql`
      SELECT ${'a'}::text AS text, 9007199254740993::int8 AS big, 7::int AS small, true AS yes,
             ${['x.example.com', 'y.example.com']}::varchar[] AS domains,
             jsonb_build_object('k', ${3}::int, 'list', jsonb_build_array(1, 'two')) AS doc,
             '2026-11-30 01:02:03.456+00'::timestamptz AS at, NULL::int8 AS nothing`;
    const viaStatements = await db.statements.query<Record<string, unknown>>(sql);
    const viaClient = await db.prisma.$queryRaw<Record<string, unknown>[]>(sql);
    expect(viaStatements).toEqual([
      {
        text: 'a',
        big: 9007199254740993n,
        small: 7,
        yes: true,
        domains: ['x.example.com', 'y.example.com'],
        doc: { k: 3, list: [1, 'two'] },
        at: new Date('2026-11-30T01:02:03.456Z'),
        nothing: null,
      },
    ]);
    expect(viaStatements).toEqual(viaClient);
  });

  it('transaction - commits what the work wrote when it resolves', async () => {
    const answer = await db.statements.transaction(async (tx) => {
      await tx.query(
        Prisma.sql`INSERT INTO line_groups (name, cname) VALUES ('committed', 'c.cdn.example.net')`,
      );
      return tx.query<{ n: number }>(
        Prisma.sql`SELECT count(*)::int AS n FROM line_groups WHERE name = 'committed'`,
      );
    });
    expect(answer).toEqual([{ n: 1 }]);
    expect(await lineGroups('committed')).toEqual([{ n: 1 }]);
  });

  it('transaction - a work that throws after writing leaves nothing, and the error is its own', async () => {
    const failure = new Error('the work changed its mind');
    await expect(
      db.statements.transaction(async (tx) => {
        await tx.query(
          Prisma.sql`INSERT INTO line_groups (name, cname) VALUES ('rolled-back', 'r.cdn.example.net')`,
        );
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await lineGroups('rolled-back')).toEqual([{ n: 0 }]);
  });

  it('transaction - a statement the database refuses rolls back the earlier ones; the error carries the kind and SQLSTATE', async () => {
    await db.statements.query(
      Prisma.sql`INSERT INTO line_groups (name, cname) VALUES ('taken', 't.cdn.example.net')`,
    );
    const error = await db.statements
      .transaction(async (tx) => {
        await tx.query(
          Prisma.sql`INSERT INTO line_groups (name, cname) VALUES ('first', 'f.cdn.example.net')`,
        );
        await tx.query(
          Prisma.sql`INSERT INTO line_groups (name, cname) VALUES ('taken', 't2.cdn.example.net')`,
        );
      })
      .catch((e: unknown) => e);
    expect((error as { cause?: unknown }).cause).toMatchObject({
      kind: 'UniqueConstraintViolation',
      originalCode: '23505',
    });
    expect(await lineGroups('first')).toEqual([{ n: 0 }]);
  });

  it('transaction - the connection goes back to the pool after commits and rollbacks alike', async () => {
    for (let i = 0; i < 12; i++) {
      const work = db.statements.transaction(async (tx) => {
        await tx.query(Prisma.sql`SELECT 1`);
        if (i % 2 === 1) throw new Error(`round ${i} fails`);
      });
      if (i % 2 === 1) await expect(work).rejects.toThrow(`round ${i} fails`);
      else await work;
    }
    // 12 transactions through a pool of 4: none kept its connection.
    expect(db.pool.totalCount).toBeLessThanOrEqual(4);
    expect(db.pool.idleCount).toBe(db.pool.totalCount);
    expect(db.pool.waitingCount).toBe(0);
  });
  it('pipeline - runs the statements in order as one transaction, each seeing the ones before, rows typed as query types them', async () => {
    const rows = await db.statements.pipeline<Record<string, unknown>>([
      Prisma.sql`INSERT INTO line_groups (name, cname) VALUES ('piped', 'p.cdn.example.net') RETURNING id::int8 AS id`,
      Prisma.sql`SELECT count(*)::int8 AS n, jsonb_build_object('seen', count(*)) AS doc,
                        '2026-11-30 01:02:03.456+00'::timestamptz AS at FROM line_groups WHERE name = 'piped'`,
    ]);
    expect(rows).toHaveLength(2);
    expect(typeof rows[0]![0]!['id']).toBe('bigint');
    expect(rows[1]).toEqual([{ n: 1n, doc: { seen: 1 }, at: new Date('2026-11-30T01:02:03.456Z') }]);
    expect(await lineGroups('piped')).toEqual([{ n: 1 }]);
  });

  it('pipeline - a statement the database refuses writes nothing of the transaction, throws its SQLSTATE, and the connection serves the next one', async () => {
    await db.statements.query(
      Prisma.sql`INSERT INTO line_groups (name, cname) VALUES ('piped-taken', 't.cdn.example.net')`,
    );
    const error = await db.statements
      .pipeline([
        Prisma.sql`INSERT INTO line_groups (name, cname) VALUES ('piped-first', 'f.cdn.example.net')`,
        Prisma.sql`INSERT INTO line_groups (name, cname) VALUES ('piped-taken', 't2.cdn.example.net')`,
        Prisma.sql`INSERT INTO line_groups (name, cname) VALUES ('piped-after', 'a.cdn.example.net')`,
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(pg.DatabaseError);
    expect((error as pg.DatabaseError).code).toBe('23505');
    expect(await lineGroups('piped-first')).toEqual([{ n: 0 }]);
    expect(await lineGroups('piped-after')).toEqual([{ n: 0 }]);
    // The same (only) pipeline connection: out of the aborted transaction, it commits the next one.
    await db.statements.pipeline([
      Prisma.sql`INSERT INTO line_groups (name, cname) VALUES ('piped-next', 'n.cdn.example.net')`,
    ]);
    expect(await lineGroups('piped-next')).toEqual([{ n: 1 }]);
  });

  it('pipeline - a refusal at COMMIT (a deferred constraint) writes nothing and throws it', async () => {
    const [group] = await db.statements.query<{ id: number }>(
      Prisma.sql`INSERT INTO line_groups (name, cname) VALUES ('piped-deferred', 'd.cdn.example.net') RETURNING id`,
    );
    // A website without a primary domain: refused by the deferred one-primary trigger at COMMIT.
    const error = await db.statements
      .pipeline([Prisma.sql`INSERT INTO websites (line_group_id) VALUES (${group!.id})`])
      .catch((e: unknown) => e);
    expect((error as pg.DatabaseError).code).toBe('23514');
    const [count] = await db.statements.query<{ n: number }>(
      Prisma.sql`SELECT count(*)::int AS n FROM websites WHERE line_group_id = ${group!.id}`,
    );
    expect(count).toEqual({ n: 0 });
  });
  it('pipeline - the connection cut while a turn runs: the call fails with the connection error, the process goes on, and the next turn runs on a new connection', async () => {
    const proxy = await FaultProxy.to(Number(new URL(fx.url).port || 5432));
    const url = new URL(fx.url);
    url.host = `127.0.0.1:${proxy.port}`;
    const cut = createDatabase({
      url: url.toString(),
      statementTimeoutMs: 10_000,
      connectTimeoutMs: 5_000,
      poolMax: 1,
      transactionTimeoutMs: 5_000,
      transactionMaxWaitMs: 5_000,
      applicationName: 'statements-cut-test',
    });
    try {
      const running = cut.statements
        .pipeline([Prisma.sql`SELECT pg_sleep(30)`, Prisma.sql`SELECT 1 AS one`])
        .catch((e: unknown) => e);
      // Cut once the turn is running in PostgreSQL (seen from a connection of its own).
      const sleeping = async () =>
        (
          await db.pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'statements-cut-test' AND query LIKE '%pg_sleep%' AND state = 'active'`,
          )
        ).rows[0]!.n === 1;
      expect(await eventually(sleeping, 10_000)).toBe(true);
      proxy.cut();
      const error = await running;
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(pg.DatabaseError);
      proxy.restore();
      expect(await cut.statements.pipeline<{ one: number }>([Prisma.sql`SELECT 1 AS one`])).toEqual([
        [{ one: 1 }],
      ]);
    } finally {
      await cut.close();
      await proxy[Symbol.asyncDispose]();
      // The cut left its backend sleeping; it goes with the test.
      await db.pool.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'statements-cut-test'`,
      );
    }
  });
});
