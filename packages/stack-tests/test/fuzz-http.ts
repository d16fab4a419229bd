import { connect } from 'node:net';
import { ERROR_CODES, type ErrorCode, HTTP_STATUS_OF } from '@tideline/contracts';

/** What an attacker controls in one HTTP request: every byte of it. */
export interface RawRequest {
  method: string;
  /** The request target exactly as sent (not encoded by the client). */
  target: string;
  headers: [string, string][];
  body?: Buffer | string;
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
}

const ANSWER_TIMEOUT_MS = 15_000;

function decodeChunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (let guard = 0; guard < 100_000 && at < body.length; guard++) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = Number.parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/**
 * Sends one request over its own connection (`Connection: close`) exactly as given, without the
 * checks an HTTP client library would make (NUL in a path, bytes over 0x7f in a header, huge
 * headers), and reads the whole answer. Rejects when the server closes without an answer.
 */
export function sendRaw(port: number, request: RawRequest): Promise<RawAnswer> {
  const body =
    request.body === undefined
      ? undefined
      : typeof request.body === 'string'
        ? Buffer.from(request.body, 'utf8')
        : request.body;
  const lines = [`${request.method} ${request.target} HTTP/1.1`, 'host: 127.0.0.1'];
  if (!request.headers.some(([name]) => name.toLowerCase() === 'connection')) lines.push('connection: close');
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  if (body !== undefined) lines.push(`content-length: ${body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let settled = false;
    const settle = (outcome: RawAnswer | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(
      () => settle(new Error(`no complete answer within ${ANSWER_TIMEOUT_MS} ms`)),
      ANSWER_TIMEOUT_MS,
    );
    socket.on('connect', () => {
      socket.write(head);
      if (body !== undefined && body.length > 0) socket.write(body);
    });
    socket.on('data', (chunk) => {
      received.push(chunk);
      const answer = parseAnswer(Buffer.concat(received), false);
      if (answer) settle(answer);
    });
    // The server may answer (e.g. 431, 400 for a too-large body) and close before it read all we sent.
    socket.on('error', () => undefined);
    socket.on('close', () =>
      settle(
        parseAnswer(Buffer.concat(received), true) ??
          new Error(`the connection closed without an answer (${Buffer.concat(received).length} bytes)`),
      ),
    );
  });
}

/**
 * The answer in `bytes`, once complete: its head and, by content-length or chunked framing, its
 * body (without either, the body ends when the connection closes; a 101 has none). Interim
 * answers (100, 102, 103) are skipped.
 */
function parseAnswer(bytes: Buffer, closed: boolean): RawAnswer | undefined {
  let all = bytes;
  for (
    let guard = 0;
    guard < 10 && /^HTTP\/1\.[01] 1(?:00|02|03) /.test(all.subarray(0, 13).toString('latin1'));
    guard++
  ) {
    const end = all.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    all = all.subarray(end + 4);
  }
  const split = all.indexOf('\r\n\r\n');
  if (split < 0) return undefined;
  const [statusLine = '', ...headerLines] = all.subarray(0, split).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? Number.NaN);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let rest: Buffer = all.subarray(split + 4);
  if (headers['transfer-encoding']?.includes('chunked')) {
    if (!closed && rest.indexOf('0\r\n\r\n') < 0) return undefined;
    rest = decodeChunked(rest);
  } else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (rest.length < length && !closed) return undefined;
    rest = rest.subarray(0, length);
  } else if (!closed && status !== 101 && status !== 204 && status !== 304) {
    return undefined;
  }
  return { status, headers, text: rest.toString('utf8') };
}

/**
 * Statuses a refusal may carry besides the one of its code (always VALIDATION_FAILED): 413 (a body
 * over the limit), 414 (a path parameter too long), 415 (a body not sent as JSON), 417 (an
 * unsupported `Expect`), 431 (headers too large).
 */
const FRAMEWORK_STATUSES = new Set([413, 414, 415, 417, 431]);

// A stack frame, a file of the code base, or SQL: what an answer must never carry. Tested only when
// the request itself did not contain the text (paths are echoed in NOT_FOUND messages).
const LEAKS = [
  /\n\s+at\s/,
  /\bat\s+\S+\s+\(?(?:file:\/\/|node:|\/)[^)\s]*:\d+:\d+/,
  /\.(?:ts|js|mjs):\d+:\d+/,
  /node_modules/,
  /\b(?:SELECT|INSERT\s+INTO|DELETE\s+FROM|UPDATE)\b[\s\S]{0,200}\b(?:FROM|VALUES|WHERE|SET)\b/,
  /\b(?:syntax error at or near|duplicate key value|violates (?:unique|foreign key|check) constraint|relation "\w+")/i,
  /PrismaClient|prisma\.|Invalid `prisma/i,
  /ECONNREFUSED|ETIMEDOUT/,
];

export function leakIn(answer: string, request: string): RegExp | undefined {
  return LEAKS.find((pattern) => pattern.test(answer) && !pattern.test(request));
}

/** What a route may answer: success statuses, and the codes it documents for refusals. */
export interface AnswerRule {
  ok: number[];
  codes: ErrorCode[];
}

/**
 * Checks one answer against the rules every Tideline answer follows: never 5xx; a success only
 * where the route may succeed; every refusal the one error body (`{ error: { code, message,
 * fields?, requestId } }`, nothing else, the id also in the x-request-id header) with a documented code of the route and the status of that code
 * (414/431 for what the HTTP layer refuses); never a stack, a file path or SQL. Returns what is
 * wrong, or undefined.
 */
export function violation(answer: RawAnswer, rule: AnswerRule, requestText: string): string | undefined {
  if (!Number.isInteger(answer.status)) return 'no status line';
  if (answer.status >= 500) return `answered ${answer.status}: ${answer.text.slice(0, 300)}`;
  const leak = leakIn(answer.text, requestText);
  if (leak) return `the answer leaks ${leak}: ${answer.text.slice(0, 300)}`;
  if (answer.status < 400) {
    return rule.ok.includes(answer.status)
      ? undefined
      : `answered ${answer.status} to a request it must refuse`;
  }
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return `answered ${answer.status} without a JSON body: ${answer.text.slice(0, 200)}`;
  }
  const error = (body as { error?: Record<string, unknown> } | null)?.error;
  if (!error || typeof error !== 'object' || Object.keys(body as object).length !== 1)
    return `answered ${answer.status} without the error body: ${answer.text.slice(0, 200)}`;
  const { code, message, fields, requestId, ...other } = error;
  if (typeof code !== 'string' || !(code in ERROR_CODES)) return `unknown error code ${String(code)}`;
  if (typeof message !== 'string' || message.length === 0) return 'an error without a message';
  if (fields !== undefined && !Array.isArray(fields)) return 'fields is not a list';
  if (typeof requestId !== 'string' || requestId !== answer.headers['x-request-id'])
    return `the error body's requestId ${String(requestId)} is not the x-request-id header ${answer.headers['x-request-id']}`;
  if (Object.keys(other).length > 0) return `the error body has more: ${Object.keys(other).join(', ')}`;
  if (!rule.codes.includes(code as ErrorCode)) return `code ${code} is not documented for this route`;
  const expected = HTTP_STATUS_OF[code as ErrorCode];
  if (answer.status !== expected && !(FRAMEWORK_STATUSES.has(answer.status) && code === 'VALIDATION_FAILED'))
    return `code ${code} came with ${answer.status}, not ${expected}`;
  if (!answer.headers['content-type']?.startsWith('application/json'))
    return `an error body as ${answer.headers['content-type']}`;
  return undefined;
}
