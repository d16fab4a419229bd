import { readTopic } from './read-topic.ts';
import { subjectMatches } from './subjects.ts';
import { type BusMessage, DEAD_LETTER_HEADERS, DEAD_LETTER_TOPIC, type EventBus } from './types.ts';

/**
 * Dead letters an operator can act on: list them, look at one, and redrive them to the subject
 * they died on. A redriven message keeps its msgId (the bus's dedup id), so a consumer group that
 * already handled it drops it and, over JetStream, the broker itself drops a copy published within
 * its duplicate window: a redrive never makes a consumer handle a message twice.
 *
 * What was redriven is recorded on the dead-letter topic itself, as a marker message on
 * {@link REDRIVEN_SUBJECT} naming the dead letter's id; a later redrive skips marked ones (unless
 * told `again`), and `list` shows them as redriven. Markers live and expire with the dead letters.
 */

/** Subject of the redrive markers: three tokens, so no dead letter (`dead-letter.<topic>`) has it. */
export const REDRIVEN_SUBJECT = 'dead-letter.redriven.marks';
/** Header of a marker: the id (dead-letter topic position) of the dead letter that was redriven. */
export const REDRIVEN_HEADER = 'tideline-dl-redriven';
/** Header of a redriven message: the id of the dead letter it came from. */
export const REDRIVEN_FROM_HEADER = 'tideline-redriven-from';

const DL_HEADER_NAMES = new Set<string>(Object.values(DEAD_LETTER_HEADERS));
const decoder = new TextDecoder();

export interface DeadLetter {
  /** Its position on the dead-letter topic: stable, and what `show`/`redrive --id` take. */
  id: number;
  topic: string;
  subject: string;
  group: string;
  reason: string;
  deliveries: number;
  /** Position of the original message on its topic. */
  position: number;
  /** The original message's msgId (its dedup id). */
  msgId: string;
  key: string | undefined;
  /** When it was dead-lettered; undefined for dead letters written before the bus recorded it. */
  deadLetteredAt: Date | undefined;
  /** True once a redrive republished it. */
  redriven: boolean;
  /** The original message's own headers (without the dead-letter ones). */
  headers: Record<string, string>;
  data: Uint8Array;
}

export interface ListOptions {
  /** Messages read from the broker per request. */
  pageSize: number;
}

function toDeadLetter(message: BusMessage, redriven: ReadonlySet<number>): DeadLetter {
  const h = message.headers;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(h)) if (!DL_HEADER_NAMES.has(name)) headers[name] = value;
  const group = h[DEAD_LETTER_HEADERS.group] ?? '';
  // Dead letters written before the original msgId had its own header carry it as `<group>:<msgId>`.
  const msgId =
    h[DEAD_LETTER_HEADERS.msgId] ??
    (message.msgId.startsWith(`${group}:`) ? message.msgId.slice(group.length + 1) : message.msgId);
  const at = h[DEAD_LETTER_HEADERS.at];
  const when = at ? new Date(at) : undefined;
  return {
    id: message.position,
    topic: h[DEAD_LETTER_HEADERS.topic] ?? '',
    subject: h[DEAD_LETTER_HEADERS.subject] ?? '',
    group,
    reason: h[DEAD_LETTER_HEADERS.reason] ?? '',
    deliveries: Number(h[DEAD_LETTER_HEADERS.deliveries] ?? 0),
    position: Number(h[DEAD_LETTER_HEADERS.position] ?? 0),
    msgId,
    key: message.key,
    deadLetteredAt: when && !Number.isNaN(when.getTime()) ? when : undefined,
    redriven: redriven.has(message.position),
    headers,
    data: message.data,
  };
}

/** Every dead letter the broker still retains, oldest first. */
export async function listDeadLetters(
  bus: Pick<EventBus, 'read'>,
  options: ListOptions,
): Promise<DeadLetter[]> {
  return (await pageOfDeadLetters(bus, { ...options, limit: Number.POSITIVE_INFINITY })).letters;
}

export interface PageOptions extends ListOptions {
  /** At most this many dead letters. */
  limit: number;
  /** `oldest` (the default): oldest first, from `after`; `newest`: newest first, from `before`. */
  order?: 'oldest' | 'newest';
  /** Oldest first: only dead letters with a greater id (default 0: from the first). */
  after?: number;
  /** Newest first: only dead letters with a smaller id (default: from the last). */
  before?: number;
}

export interface DeadLetterPage {
  /** The dead letters of the page, in its order, at most `limit`. */
  letters: DeadLetter[];
  /** Every dead letter the broker retains. */
  total: number;
  /**
   * The id to pass as `after` (oldest first) or `before` (newest first) for the next page;
   * undefined when no dead letter follows this page.
   */
  next: number | undefined;
}

/**
 * One page of the dead letters, in `order`, with the total and whether each was redriven. The
 * dead-letter topic is read once to its end (the total, and markers of a redrive come after the
 * dead letter they name), but only the page's messages are kept: a dead-letter topic of any size
 * costs the reader the page and the redriven ids, not every payload.
 */
export async function pageOfDeadLetters(
  bus: Pick<EventBus, 'read'>,
  options: PageOptions,
): Promise<DeadLetterPage> {
  const newest = options.order === 'newest';
  const after = options.after ?? 0;
  const before = options.before ?? Number.POSITIVE_INFINITY;
  const page: BusMessage[] = [];
  const redriven = new Set<number>();
  let total = 0;
  let more = false;
  for await (const message of readTopic(bus, { topic: DEAD_LETTER_TOPIC, pageSize: options.pageSize })) {
    if (message.subject === REDRIVEN_SUBJECT) {
      const id = Number(message.headers[REDRIVEN_HEADER]);
      if (Number.isSafeInteger(id)) redriven.add(id);
      continue;
    }
    total++;
    if (newest) {
      // The last `limit` before `before`: older ones are dropped in batches (amortised O(1) per
      // letter; a shift per letter would move the whole page each time).
      if (message.position >= before) continue;
      page.push(message);
      if (page.length >= 2 * options.limit) {
        page.splice(0, page.length - options.limit);
        more = true;
      }
    } else if (message.position > after) {
      if (page.length < options.limit) page.push(message);
      else more = true;
    }
  }
  if (newest) {
    if (page.length > options.limit) {
      page.splice(0, page.length - options.limit);
      more = true;
    }
    page.reverse();
  }
  return {
    letters: page.map((m) => toDeadLetter(m, redriven)),
    total,
    next: more ? page.at(-1)?.position : undefined,
  };
}

/** The payload as text (JSON pretty-printed when it parses), for people to read. */
export function payloadText(letter: Pick<DeadLetter, 'data'>): string {
  const text = decoder.decode(letter.data);
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export interface RedriveOptions extends ListOptions {
  /** Only dead letters whose original subject matches one of these patterns (`*`, `>`). */
  subjects?: string[];
  /** Only these dead letters. */
  ids?: number[];
  /** Report what would be redriven; publish nothing, mark nothing. */
  dryRun?: boolean;
  /** Also dead letters that were redriven before (their consumers still drop what they handled). */
  again?: boolean;
  /** Called after each dead letter, with its outcome and the running count. */
  onProgress?: (progress: RedriveProgress) => void;
}

export type RedriveOutcome =
  /** Republished to its subject (or would be, in a dry run). */
  | 'redriven'
  /**
   * The broker answered duplicate: the original is still inside its duplicate window, so the copy
   * was dropped. Not marked; redrive it once the window (TIDELINE_BUS_DUPLICATE_WINDOW_MS) passed.
   */
  | 'held'
  /** Redriven before; skipped. */
  | 'skipped';

export interface RedriveProgress {
  letter: DeadLetter;
  outcome: RedriveOutcome;
  done: number;
  total: number;
}

export interface RedriveResult {
  dryRun: boolean;
  selected: number;
  redriven: number;
  held: number;
  skipped: number;
}

/**
 * Republishes the selected dead letters, oldest first, to the subjects they died on, with their
 * msgId, key and own headers (plus {@link REDRIVEN_FROM_HEADER}), and marks each one redriven.
 * Every consumer group of the topic receives the copy; groups that handled the msgId drop it.
 */
export async function redriveDeadLetters(
  bus: Pick<EventBus, 'read' | 'publish'>,
  options: RedriveOptions,
): Promise<RedriveResult> {
  const all = await listDeadLetters(bus, options);
  const ids = options.ids ? new Set(options.ids) : undefined;
  const selected = all.filter(
    (l) =>
      (!ids || ids.has(l.id)) &&
      (!options.subjects || options.subjects.some((p) => subjectMatches(p, l.subject))),
  );
  const result: RedriveResult = {
    dryRun: options.dryRun ?? false,
    selected: selected.length,
    redriven: 0,
    held: 0,
    skipped: 0,
  };
  let done = 0;
  for (const letter of selected) {
    let outcome: RedriveOutcome;
    if (letter.redriven && !options.again) outcome = 'skipped';
    else if (options.dryRun) outcome = 'redriven';
    else {
      const receipt = await bus.publish(letter.subject, letter.data, {
        msgId: letter.msgId,
        headers: { ...letter.headers, [REDRIVEN_FROM_HEADER]: String(letter.id) },
        ...(letter.key !== undefined ? { key: letter.key } : {}),
      });
      if (receipt.duplicate) outcome = 'held';
      else {
        outcome = 'redriven';
        if (!letter.redriven)
          await bus.publish(
            REDRIVEN_SUBJECT,
            { id: letter.id, subject: letter.subject, msgId: letter.msgId, position: receipt.position },
            {
              msgId: `redriven:${letter.id}`,
              headers: { [REDRIVEN_HEADER]: String(letter.id) },
            },
          );
      }
    }
    result[outcome]++;
    done++;
    options.onProgress?.({ letter, outcome, done, total: selected.length });
  }
  return result;
}
