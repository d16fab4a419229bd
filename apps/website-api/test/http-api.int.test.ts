import { WebsiteItem } from '@tideline/contracts';
import { testToken } from '@tideline/test-support';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiFixture, tokens } from './harness.ts';

let fx: ApiFixture;
let lineGroup: { id: number; name: string; cname: string };

beforeAll(async () => {
  fx = await ApiFixture.start();
  lineGroup = await fx.lineGroup('edge-a');
});
afterAll(async () => {
  await fx?.dispose();
});

async function counts() {
  const [row] = await fx.query<{ websites: number; domains: number; events: number; last: string }>(
    `SELECT (SELECT count(*)::int FROM websites) AS websites, (SELECT count(*)::int FROM website_domains) AS domains,
            (SELECT count(*)::int FROM ws_events) AS events, (SELECT last_event_id::text FROM ws_log_meta WHERE topic = 'websites') AS last`,
  );
  return row!;
}

async function create(domains: string[], extra: Record<string, unknown> = {}) {
  return fx.call('POST', '/api/v1/websites/create', {
    body: { domains, line_group_id: lineGroup.id, ...extra },
  });
}

describe('website-api HTTP: CRUD', () => {
  it('line groups - created with 201 and listed', async () => {
    const second = await fx.lineGroup('edge-b');
    const list = await fx.call('GET', '/api/v1/line-groups', { token: tokens.reader });
    expect(list.status).toBe(200);
    expect(list.body.data).toEqual([lineGroup, second]);
    expect(lineGroup).toEqual({ id: expect.any(Number), name: 'edge-a', cname: 'edge-a.cdn.example.net' });
  });

  it('create - 201 with the list item; the website and its add event commit together', async () => {
    const before = await counts();
    const answer = await create(['WWW.Shop-One.example.com', 'shop-one.example.com'], {
      https_enabled: true,
    });
    expect(answer.status).toBe(201);
    const item = WebsiteItem.parse(answer.body.data);
    expect(item).toMatchObject({
      primary_domain: 'www.shop-one.example.com',
      domains: ['www.shop-one.example.com', 'shop-one.example.com'],
      cname: lineGroup.cname,
      line_group: { id: lineGroup.id, name: 'edge-a' },
      https_enabled: true,
      status: 'active',
    });
    const after = await counts();
    expect(after.websites).toBe(before.websites + 1);
    expect(after.domains).toBe(before.domains + 2);
    expect(after.events).toBe(before.events + 1);
    const [event] = await fx.query(
      `SELECT id::int, event_type, payload FROM ws_events WHERE topic = 'websites' ORDER BY id DESC LIMIT 1`,
    );
    expect(event).toEqual({ id: Number(after.last), event_type: 'add', payload: item });
  });

  it('get and list - one item by id, pages in id order with total, 404 for an unknown id', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push((await create([`list-${i}.example.org`])).body.data.website_id);
    const one = await fx.call('GET', `/api/v1/websites/${ids[1]}`, { token: tokens.reader });
    expect(one.status).toBe(200);
    expect(one.body.data.primary_domain).toBe('list-1.example.org');
    const { websites } = await counts();
    const page = await fx.call('GET', '/api/v1/websites?page=2&page_size=2', { token: tokens.reader });
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ total: websites, page: 2, page_size: 2 });
    const all = await fx.call('GET', `/api/v1/websites?page_size=500`, { token: tokens.reader });
    const allIds = all.body.data.map((w: { website_id: number }) => w.website_id);
    expect(allIds).toEqual([...allIds].sort((a: number, b: number) => a - b));
    expect(page.body.data.map((w: { website_id: number }) => w.website_id)).toEqual(allIds.slice(2, 4));
    const missing = await fx.call('GET', '/api/v1/websites/999999', { token: tokens.reader });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
  });

  it('update - replaces domains (first is primary) and fields; the update event carries the item after the change', async () => {
    const other = await fx.lineGroup('edge-update');
    const created = (await create(['up.example.com', 'alt.up.example.com'])).body.data;
    const before = await counts();
    const answer = await fx.call('POST', '/api/v1/websites/update', {
      body: {
        website_id: created.website_id,
        domains: ['alt.up.example.com', 'new.up.example.com'],
        line_group_id: other.id,
        status: 'paused',
      },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.data).toMatchObject({
      website_id: created.website_id,
      primary_domain: 'alt.up.example.com',
      domains: ['alt.up.example.com', 'new.up.example.com'],
      cname: other.cname,
      line_group: { id: other.id, name: other.name },
      status: 'paused',
      https_enabled: false,
    });
    expect(Date.parse(answer.body.data.updated_at)).toBeGreaterThanOrEqual(Date.parse(created.updated_at));
    const after = await counts();
    expect(after.events).toBe(before.events + 1);
    const [event] = await fx.query(`SELECT event_type, payload FROM ws_events WHERE id = $1`, [after.last]);
    expect(event).toEqual({ event_type: 'update', payload: answer.body.data });
    const gone = await fx.query(`SELECT 1 FROM website_domains WHERE domain = 'up.example.com'`);
    expect(gone).toEqual([]);
  });

  it('update - an update that changes nothing answers the item and writes no event', async () => {
    const created = (await create(['same.example.com'], { status: 'paused' })).body.data;
    const before = await counts();
    const answer = await fx.call('POST', '/api/v1/websites/update', {
      body: {
        website_id: created.website_id,
        domains: ['same.example.com'],
        status: 'paused',
        line_group_id: lineGroup.id,
      },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.data).toEqual(created);
    expect(await counts()).toEqual(before);
  });

  it('delete - removes the website and its domains with a delete event { website_id }; deleting again is 404', async () => {
    const created = (await create(['bye.example.com', 'www.bye.example.com'])).body.data;
    const answer = await fx.call('POST', '/api/v1/websites/delete', {
      body: { website_id: created.website_id },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ data: { website_id: created.website_id } });
    expect(await fx.query(`SELECT 1 FROM websites WHERE id = $1`, [created.website_id])).toEqual([]);
    expect(
      await fx.query(`SELECT 1 FROM website_domains WHERE website_id = $1`, [created.website_id]),
    ).toEqual([]);
    const [event] = await fx.query(`SELECT event_type, payload FROM ws_events ORDER BY id DESC LIMIT 1`);
    expect(event).toEqual({ event_type: 'delete', payload: { website_id: created.website_id } });
    const before = await counts();
    const again = await fx.call('POST', '/api/v1/websites/delete', {
      body: { website_id: created.website_id },
    });
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('NOT_FOUND');
    expect(await counts()).toEqual(before);
  });
});

describe('website-api HTTP: bad input changes nothing', () => {
  let before: Awaited<ReturnType<typeof counts>>;
  let existing: number;
  beforeAll(async () => {
    existing = (await create(['validation-target.example.com'])).body.data.website_id;
  });
  beforeEach(async () => {
    before = await counts();
  });

  const cases: { name: string; path: string; body?: unknown; raw?: string; field: string }[] = [
    {
      name: 'create without domains',
      path: '/api/v1/websites/create',
      body: { line_group_id: 1 },
      field: 'domains',
    },
    {
      name: 'create with no domain',
      path: '/api/v1/websites/create',
      body: { domains: [], line_group_id: 1 },
      field: 'domains',
    },
    {
      name: 'create with a malformed domain',
      path: '/api/v1/websites/create',
      body: { domains: ['not a domain'], line_group_id: 1 },
      field: 'domains.0',
    },
    {
      name: 'create with a domain without a dot',
      path: '/api/v1/websites/create',
      body: { domains: ['ok.example.com', 'localhost'], line_group_id: 1 },
      field: 'domains.1',
    },
    {
      name: 'create repeating a domain',
      path: '/api/v1/websites/create',
      body: { domains: ['a.example.com', 'a.example.com'], line_group_id: 1 },
      field: 'domains',
    },
    {
      name: 'create with a string line group',
      path: '/api/v1/websites/create',
      body: { domains: ['x.example.com'], line_group_id: '1' },
      field: 'line_group_id',
    },
    {
      name: 'create with line group 0',
      path: '/api/v1/websites/create',
      body: { domains: ['x.example.com'], line_group_id: 0 },
      field: 'line_group_id',
    },
    {
      name: 'create with an unknown line group',
      path: '/api/v1/websites/create',
      body: { domains: ['x.example.com'], line_group_id: 987654 },
      field: 'line_group_id',
    },
    {
      name: 'create with a non-boolean https flag',
      path: '/api/v1/websites/create',
      body: { domains: ['x.example.com'], line_group_id: 1, https_enabled: 'yes' },
      field: 'https_enabled',
    },
    {
      name: 'create with an unknown status',
      path: '/api/v1/websites/create',
      body: { domains: ['x.example.com'], line_group_id: 1, status: 'gone' },
      field: 'status',
    },
    {
      name: 'create with an unknown field',
      path: '/api/v1/websites/create',
      body: { domains: ['x.example.com'], line_group_id: 1, owner: 'me' },
      field: '',
    },
    { name: 'create with invalid JSON', path: '/api/v1/websites/create', raw: '{"domains": [', field: '' },
    { name: 'create with no body', path: '/api/v1/websites/create', field: 'domains' },
    {
      name: 'update without website_id',
      path: '/api/v1/websites/update',
      body: { status: 'paused' },
      field: 'website_id',
    },
    {
      name: 'update with an unknown status',
      path: '/api/v1/websites/update',
      body: { website_id: 1, status: 'broken' },
      field: 'status',
    },
    {
      name: 'update with an empty domain list',
      path: '/api/v1/websites/update',
      body: { website_id: 1, domains: [] },
      field: 'domains',
    },
    {
      name: 'update with a negative website_id',
      path: '/api/v1/websites/update',
      body: { website_id: -1, line_group_id: 1 },
      field: 'website_id',
    },
    {
      name: 'delete with a negative id',
      path: '/api/v1/websites/delete',
      body: { website_id: -3 },
      field: 'website_id',
    },
    {
      name: 'line group with a blank name',
      path: '/api/v1/line-groups/create',
      body: { name: '  ', cname: 'c.example.net' },
      field: 'name',
    },
    {
      name: 'line group with a bad cname',
      path: '/api/v1/line-groups/create',
      body: { name: 'n', cname: 'bad cname' },
      field: 'cname',
    },
  ];

  for (const c of cases) {
    it(`validation - ${c.name} answers 400 VALIDATION_FAILED naming "${c.field || '(body)'}"`, async () => {
      const answer = await fx.call(
        'POST',
        c.path,
        c.raw !== undefined ? { rawBody: c.raw } : { body: c.body },
      );
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('VALIDATION_FAILED');
      expect(answer.body.error.message).toEqual(expect.any(String));
      expect(answer.body.error.fields.map((f: { path: string }) => f.path)).toContain(c.field);
      expect(await counts()).toEqual(before);
    });
  }

  it('validation - an update to an unknown line group names line_group_id and changes nothing', async () => {
    const answer = await fx.call('POST', '/api/v1/websites/update', {
      body: { website_id: existing, line_group_id: 987654 },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.fields).toEqual([
      { path: 'line_group_id', message: expect.stringContaining('987654') },
    ]);
    expect(await counts()).toEqual(before);
  });

  it('validation - bad query and path parameters answer 400 naming them', async () => {
    const badPage = await fx.call('GET', '/api/v1/websites?page=0&page_size=1000', { token: tokens.reader });
    expect(badPage.status).toBe(400);
    expect(badPage.body.error.fields.map((f: { path: string }) => f.path).sort()).toEqual([
      'page',
      'page_size',
    ]);
    const badId = await fx.call('GET', '/api/v1/websites/abc', { token: tokens.reader });
    expect(badId.status).toBe(400);
    expect(badId.body.error.fields[0].path).toBe('id');
  });

  it('validation - a path id or query number that is not one says what was sent, not "received NaN"', async () => {
    const word = await fx.call('GET', '/api/v1/websites/create', { token: tokens.reader });
    expect(word.status).toBe(400);
    expect(word.body.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'invalid path: id: expected a number, got "create"',
      fields: [{ path: 'id', message: 'expected a number, got "create"' }],
    });
    const twice = await fx.call('GET', '/api/v1/websites?page=1&page=2', { token: tokens.reader });
    expect(twice.status).toBe(400);
    expect(twice.body.error.fields).toEqual([{ path: 'page', message: 'given more than once' }]);
  });

  it('body - a 4.5 MB body is refused 413 with the error body before it is parsed, and nothing is written', async () => {
    const answer = await fx.call('POST', '/api/v1/websites/delete', {
      rawBody: JSON.stringify({ website_id: existing, pad: 'x'.repeat(4_500_000) }),
    });
    expect(answer.status).toBe(413);
    expect(answer.body.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/^the body is larger than \d+ bytes$/),
    });
    expect(await counts()).toEqual(before);
  });

  it('body - a form-encoded or text/plain body is refused 415 with the error body, not parsed, and nothing is written', async () => {
    for (const [contentType, rawBody] of [
      ['application/x-www-form-urlencoded', `website_id=${existing}`],
      ['text/plain', JSON.stringify({ website_id: existing })],
    ]) {
      const answer = await fx.call('POST', '/api/v1/websites/delete', { rawBody, contentType });
      expect(answer.status, contentType).toBe(415);
      expect(answer.body.error).toMatchObject({
        code: 'VALIDATION_FAILED',
        message: 'send the body as application/json',
      });
    }
    expect(await counts()).toEqual(before);
  });

  it('prototype poisoning - a __proto__ key in a JSON body is refused 400 naming the key, not as invalid JSON', async () => {
    const answer = await fx.call('POST', '/api/v1/websites/delete', {
      rawBody: `{"website_id":${existing},"__proto__":{"x":1}}`,
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'the body may not contain the key __proto__',
      fields: [{ path: '__proto__', message: '__proto__ is not allowed in a body' }],
    });
    expect(await counts()).toEqual(before);
  });

  it('conflict - a primary domain already used answers 409 naming it, and nothing is written', async () => {
    const answer = await create(['validation-target.example.com', 'fresh.example.com']);
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe('CONFLICT');
    expect(answer.body.error.fields).toEqual([
      { path: 'domains.0', message: `validation-target.example.com is already used by website ${existing}` },
    ]);
    expect(await counts()).toEqual(before);
    expect(await fx.query(`SELECT 1 FROM website_domains WHERE domain = 'fresh.example.com'`)).toEqual([]);
  });

  it('conflict - a secondary domain already used answers 409, also on update, and nothing is written', async () => {
    const created = await create(['fresh-two.example.com', 'validation-target.example.com']);
    expect(created.status).toBe(409);
    expect(created.body.error.fields.map((f: { path: string }) => f.path)).toEqual(['domains.1']);
    const other = (await create(['other-owner.example.com'])).body.data;
    before = await counts();
    const update = await fx.call('POST', '/api/v1/websites/update', {
      body: {
        website_id: other.website_id,
        domains: ['other-owner.example.com', 'validation-target.example.com'],
      },
    });
    expect(update.status).toBe(409);
    expect(await counts()).toEqual(before);
    expect((await fx.call('GET', `/api/v1/websites/${other.website_id}`)).body.data).toEqual(other);
  });

  it('conflict - racing creates of one domain: exactly one wins, the others answer 409 and leave nothing', async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => create(['raced.example.com'])));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409]);
    for (const answer of answers.filter((a) => a.status === 409))
      expect(answer.body.error.code).toBe('CONFLICT');
    const after = await counts();
    expect(after.websites).toBe(before.websites + 1);
    expect(after.events).toBe(before.events + 1);
    expect(Number(after.last)).toBe(Number(before.last) + 1);
  });

  it('conflict - a duplicate line group name answers 409', async () => {
    const answer = await fx.call('POST', '/api/v1/line-groups/create', {
      body: { name: 'edge-a', cname: 'x.example.net' },
    });
    expect(answer.status).toBe(409);
    expect(answer.body.error.fields[0].path).toBe('name');
  });
});

describe('website-api HTTP: authentication and authorisation', () => {
  it('auth - no token, a malformed one, a bad signature or another audience answer 401 UNAUTHORIZED', async () => {
    const refused = [
      await fx.call('GET', '/api/v1/websites', { token: null }),
      await fx.call('GET', '/api/v1/websites', { token: 'not-a-jwt' }),
      await fx.call('GET', '/api/v1/websites', {
        token: testToken('x', ['websites:read'], { secret: 'another-secret-that-is-long-enough-0123456789' }),
      }),
      await fx.call('GET', '/api/v1/websites', {
        token: testToken('x', ['websites:read'], { audience: 'elsewhere' }),
      }),
    ];
    for (const answer of refused) {
      expect(answer.status).toBe(401);
      expect(answer.body.error.code).toBe('UNAUTHORIZED');
    }
  });

  it('auth - an expired token answers 401 TOKEN_EXPIRED', async () => {
    const answer = await fx.call('GET', '/api/v1/websites', {
      token: testToken('x', ['websites:read'], { expiresInSeconds: -60 }),
    });
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('TOKEN_EXPIRED');
  });

  it('auth - a reader cannot write (403 FORBIDDEN, nothing written); only `internal` reads the internal endpoints', async () => {
    const before = await counts();
    const write = await fx.call('POST', '/api/v1/websites/create', {
      token: tokens.reader,
      body: { domains: ['r.example.com'], line_group_id: lineGroup.id },
    });
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe('FORBIDDEN');
    expect(await counts()).toEqual(before);
    // User and service tokens have different audiences: each is unauthenticated on the other's side.
    expect((await fx.call('GET', '/internal/v1/websites/snapshot', { token: tokens.writer })).status).toBe(
      401,
    );
    expect((await fx.call('GET', '/internal/v1/websites/snapshot', { token: null })).status).toBe(401);
    expect((await fx.call('GET', '/internal/v1/websites/snapshot', { token: tokens.internal })).status).toBe(
      200,
    );
    expect((await fx.call('GET', '/api/v1/websites', { token: tokens.internal })).status).toBe(401);
  });

  it('errors - an unknown route answers 404 NOT_FOUND in the error envelope', async () => {
    const answer = await fx.call('GET', '/api/v1/nothing-here');
    expect(answer).toEqual({
      status: 404,
      body: {
        error: {
          code: 'NOT_FOUND',
          message: 'no route GET /api/v1/nothing-here',
          requestId: expect.any(String),
        },
      },
    });
  });
});
