import { SCOPES, signToken } from '@tideline/auth';
import { INTERNAL_SCOPE } from '@tideline/contracts';
import { TEST_JWT, testToken } from '@tideline/test-support';
import fc from 'fast-check';

/** Strings an attacker tries: unicode of every plane, NUL and controls, lone surrogates, injections, paths. */
const nasty = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u202e\u2066evil',
  '💥🔥',
  '\ud800',
  '\udfff',
  '\ufeff',
  'ǅ',
  '../../../../etc/passwd',
  '/etc/passwd',
  "'; DROP TABLE websites; --",
  "' OR '1'='1",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell-style probe, as an attacker sends it.
  '${jndi:ldap://x}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '%00',
  '%2e%2e%2f',
  'NaN',
  'Infinity',
  '-1',
  '1e309',
  'true',
  'null',
  '__proto__',
  'constructor',
  'WWW.EXAMPLE.COM.',
  'a'.repeat(64),
  'x.'.repeat(130),
);

export const text = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 3, arbitrary: nasty },
  { weight: 1, arbitrary: fc.constantFrom(1_000, 10_000, 100_000).map((n) => 'A'.repeat(n)) },
);

/** Numbers at the edges: zero and minus zero, the int32 and safe-integer bounds, fractions, the largest doubles. */
export const edgeNumber = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    -1,
    1,
    0.5,
    1.000_000_1,
    2_147_483_647,
    2_147_483_648,
    -2_147_483_649,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 2,
    -Number.MAX_SAFE_INTEGER,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    1e21,
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

const key = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'name',
    'cname',
    'domains',
    'line_group_id',
    'website_id',
    'https_enabled',
    'status',
    'kubeconfig',
    'kubeconfigPath',
    'context',
    'cluster',
    'lastEventId',
    'version',
    'token',
  ),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

/** Any JSON value: wrong types, unicode, edge numbers, `__proto__` keys, nesting, and now and then a huge array. */
export const anyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    edgeNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(key, tie('value'), { maxKeys: 5 }),
    fc.constantFrom(1_000, 20_000).map((n) => Array.from({ length: n }, (_, i) => i)),
  ),
})).value;

/** An object body: mostly the route's own fields holding wrong values, or anything else. */
export function bodyOf(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  const record = fc.record(
    Object.fromEntries(Object.keys(fields).map((name) => [name, fc.oneof(fields[name]!, anyJson)])),
    { requiredKeys: [] },
  );
  return fc.oneof(
    { weight: 4, arbitrary: record },
    {
      weight: 2,
      arbitrary: fc
        .tuple(record, fc.dictionary(key, anyJson, { maxKeys: 3 }))
        .map(([own, extra]) => ({ ...extra, ...own })),
    },
    { weight: 2, arbitrary: anyJson },
  );
}

/** How the body travels: as JSON, as broken or hostile JSON text, as binary, or as another media type. */
export interface BodyCase {
  contentType: string | undefined;
  body: Buffer | string | undefined;
  /** The value the server would see when the text is valid JSON; undefined otherwise. */
  parsed: unknown;
}

function jsonCase(value: unknown): BodyCase {
  const body = JSON.stringify(value) ?? 'null';
  return { contentType: 'application/json', body, parsed: JSON.parse(body) };
}

const rawJsonText = fc.oneof(
  fc.constantFrom(
    '',
    '{',
    '}',
    '{"a":}',
    "{'name':'x'}",
    '{"name":"x",}',
    '[1,2',
    'nul',
    '\u0000',
    '{"__proto__":{"admin":true},"name":"p","cname":"p.example.com"}',
    '{"constructor":{"prototype":{"admin":true}}}',
    '{"name":"dup","name":"dup2","cname":"a.example.com"}',
    '{"website_id":1e999}',
    '{"website_id":-0}',
    '"\\ud800"',
  ),
  fc.integer({ min: 100, max: 20_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  fc.integer({ min: 100, max: 5_000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

export function bodyCase(value: fc.Arbitrary<unknown>): fc.Arbitrary<BodyCase> {
  return fc.oneof(
    { weight: 6, arbitrary: value.map(jsonCase) },
    {
      weight: 2,
      arbitrary: rawJsonText.map((body): BodyCase => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          parsed = undefined;
        }
        return { contentType: 'application/json', body, parsed };
      }),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.uint8Array({ maxLength: 2_048 }),
          fc.constantFrom(
            'application/octet-stream',
            'multipart/form-data; boundary=x',
            'application/json; charset=utf-16',
            'text/plain',
            'application/x-www-form-urlencoded',
            undefined,
          ),
        )
        .map(
          ([bytes, contentType]): BodyCase => ({ contentType, body: Buffer.from(bytes), parsed: undefined }),
        ),
    },
    {
      weight: 1,
      arbitrary: fc.constant<BodyCase>({ contentType: undefined, body: undefined, parsed: undefined }),
    },
  );
}

/** A query string: the route's own parameters with hostile values, repeated, encoded or not, plus strangers. */
export function queryOf(names: string[]): fc.Arbitrary<string> {
  const value = fc.oneof(
    text.map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, 'x'))),
    edgeNumber.map(String),
    fc.constantFrom('', '%', '%zz', '%00', '%ff%fe', '+', '[]', 'a&b', '1,2', '-1', '0x10', '1e3', 'true'),
  );
  const pair = fc.tuple(
    fc.oneof(fc.constantFrom(...names), fc.constantFrom('__proto__', 'constructor', 'a[b]', '', 'x')),
    value,
  );
  return fc
    .array(pair, { maxLength: 6 })
    .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`));
}

/** A path segment: unicode percent-encoded, raw hostile bytes, malformed escapes, dot segments, very long. */
export const pathSegment = fc.oneof(
  text.map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, 'x')).slice(0, 2_000) || 'x'),
  fc.constantFrom(
    '%',
    '%zz',
    '%c3%28',
    '%ed%a0%80',
    '..',
    '.',
    '%2e%2e',
    '%2F',
    'a;b',
    'a%00b',
    '-1',
    '0',
    '1e3',
  ),
  fc.integer({ min: 1, max: 1_000 }).map((n) => 'n'.repeat(n)),
  edgeNumber.map((n) => encodeURIComponent(String(n))),
);

const aud = TEST_JWT.audience;
const iss = TEST_JWT.issuer;
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const allScopes = [
  SCOPES.websitesRead,
  SCOPES.websitesWrite,
  SCOPES.nodesRead,
  SCOPES.clustersAdmin,
  SCOPES.operatorRead,
  INTERNAL_SCOPE,
];

/** Tokens that must not be accepted: missing, garbage, unsigned, forged, expired, for someone else. */
export const badAuthorization: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(
    '',
    'Bearer',
    'Bearer ',
    'Basic dXNlcjpwYXNz',
    'bearer x.y.z',
    `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'root', scope: allScopes.join(' '), aud, iss, exp: 9e9 })}.`,
    `Bearer ${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'root', scope: allScopes.join(' ') })}.AAAA`,
    `Bearer ${testToken('forger', allScopes, { secret: 'a-key-that-is-not-the-configured-one-at-all' })}`,
    `Bearer ${testToken('late', allScopes, { expiresInSeconds: -120 })}`,
    `Bearer ${testToken('elsewhere', allScopes, { audience: 'someone-else' })}`,
    `Bearer ${testToken('stranger', allScopes, { issuer: 'https://evil.example' })}`,
    `Bearer ${signToken({ secret: TEST_JWT.secret, sub: '', scopes: allScopes, issuer: iss, audience: aud, expiresInSeconds: 600 })}`,
    `Bearer ${'A'.repeat(9_000)}`,
  ),
  // Printable ASCII only: what fits in a header line.
  text.map((t) => `Bearer ${[...t].filter((c) => c >= '!' && c <= '~').join('')}`),
);

/** Valid tokens, for the scopes of a route or without them (403). */
export const TOKENS = {
  all: testToken('fuzz-all', allScopes),
  none: testToken('fuzz-none', []),
  reader: testToken('fuzz-reader', [SCOPES.websitesRead, SCOPES.nodesRead]),
};

export const authorization = fc.oneof(
  { weight: 3, arbitrary: fc.constant<string | undefined>(`Bearer ${TOKENS.all}`) },
  { weight: 1, arbitrary: fc.constant<string | undefined>(`Bearer ${TOKENS.none}`) },
  { weight: 1, arbitrary: fc.constant<string | undefined>(`Bearer ${TOKENS.reader}`) },
  { weight: 2, arbitrary: badAuthorization },
);

/** Extra headers: unicode and control bytes in values, odd names, duplicates, huge values (some over the limit). */
export const extraHeaders: fc.Arbitrary<[string, string][]> = fc.array(
  fc.tuple(
    fc.oneof(
      fc.constantFrom(
        'x-forwarded-for',
        'x-request-id',
        'accept',
        'accept-encoding',
        'content-encoding',
        'transfer-encoding',
        'expect',
        'origin',
        'cookie',
        'x-http-method-override',
        'connection',
        'upgrade',
        'range',
      ),
      fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
    ),
    fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, ' ')),
      fc.constantFrom(
        'gzip',
        'br',
        '100-continue',
        'websocket',
        'bytes=0-1',
        '*/*',
        '\u0000',
        'é',
        '127.0.0.1, ::1',
      ),
      fc.constantFrom(4_000, 20_000).map((n) => 'h'.repeat(n)),
    ),
  ),
  { maxLength: 4 },
);
