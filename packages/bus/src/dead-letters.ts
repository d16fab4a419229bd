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

/** Dead letters have subjects of two tokens (`dead-letter.<topic>`); redrive markers have three. */
const LETTER_SUBJECTS = ['dead-letter.*'];

const isLetter = (message: BusMessage) => subjectMatches(LETTER_SUBJECTS[0]!, message.subject);

/** The dead letter a redrive marker names, if the message is one. */
function markedId(message: BusMessage): number | undefined {
  if (message.subject !== REDRIVEN_SUBJECT) return undefined;
  const id = Number(message.headers[REDRIVEN_HEADER]);
  return Number.isSafeInteger(id) ? id : undefined;
}

/** Every dead letter the broker still retains, oldest first. */
export async function listDeadLetters(
  bus: Pick<EventBus, 'read'>,
  options: ListOptions,
): Promise<DeadLetter[]> {
  const letters: BusMessage[] = [];
  const redriven = new Set<number>();
  for await (const message of readTopic(bus, { topic: DEAD_LETTER_TOPIC, pageSize: options.pageSize })) {
    const marked = markedId(message);
    if (marked !== undefined) redriven.add(marked);
    else if (isLetter(message)) letters.push(message);
  }
  return letters.map((m) => toDeadLetter(m, redriven));
}

export interface PageOptions {
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

/** One page of the dead letters, read once: the whole topic, keeping its positions (see {@link DeadLetterIndex}). */
export function pageOfDeadLetters(
  bus: Pick<EventBus, 'read'>,
  options: ListOptions & PageOptions,
): Promise<DeadLetterPage> {
  return new DeadLetterIndex(bus, options).page(options);
}

/** Index of the first of the ascending `values` that is at least `value` (their length when none is). */
function firstAtLeast(values: readonly number[], value: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (values[mid]! < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * Pages of the dead letters for a reader that asks again and again (the cache's operator route,
 * polled by the console). It remembers the position of every retained dead letter and which were
 * redriven, not their messages: a page reads what the dead-letter topic gained since the page
 * before (markers of a redrive come after the dead letter they name), where the topic now starts
 * (the broker expires dead letters by age), and then the page's own letters. So a page costs the
 * page and what is new, not the topic, however many dead letters a flood left behind; memory is a
 * number per dead letter.
 *
 * A topic that no longer holds the last message read at its position (deleted and created again,
 * or expired past it) is read again from its start. Pages are computed one at a time.
 */
export class DeadLetterIndex {
  /** Positions of the retained dead letters, ascending. */
  private positions: number[] = [];
  private readonly redriven = new Set<number>();
  /** The last message read (of any subject), to know the topic again next time. */
  private last: { position: number; msgId: string } | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly bus: Pick<EventBus, 'read'>,
    private readonly options: ListOptions,
  ) {}

  /** One page of the dead letters, in `order`, with the total and whether each was redriven. */
  page(options: PageOptions): Promise<DeadLetterPage> {
    const page = this.queue.then(() => this.pageNow(options));
    this.queue = page.catch(() => undefined);
    return page;
  }

  private async pageNow(options: PageOptions): Promise<DeadLetterPage> {
    await this.catchUp();
    const { positions } = this;
    const newest = options.order === 'newest';
    let start: number;
    let end: number;
    if (newest) {
      end = firstAtLeast(positions, options.before ?? Number.POSITIVE_INFINITY);
      start = Math.max(0, end - options.limit);
    } else {
      start = firstAtLeast(positions, (options.after ?? 0) + 1);
      end = Math.min(positions.length, start + options.limit);
    }
    const wanted = positions.slice(start, end);
    const letters = await this.letters(wanted);
    const more = newest ? start > 0 : end < positions.length;
    if (newest) letters.reverse();
    return {
      letters,
      total: positions.length,
      next: more ? (newest ? wanted[0] : wanted.at(-1)) : undefined,
    };
  }

  /** Reads what the topic gained since the last page, then drops what it no longer retains. */
  private async catchUp(): Promise<void> {
    const known = this.last;
    let from = known ? known.position : 1;
    let verify = known !== undefined;
    for (;;) {
      const page = await this.bus.read({ topic: DEAD_LETTER_TOPIC, from, limit: this.options.pageSize });
      let fresh = page;
      if (verify) {
        verify = false;
        const first = page[0];
        if (!first || first.position !== known!.position || first.msgId !== known!.msgId) {
          // Not the topic read last time: deleted and created again, or expired past that message.
          this.positions = [];
          this.redriven.clear();
          this.last = undefined;
          from = 1;
          continue;
        }
        fresh = page.slice(1);
      }
      for (const message of fresh) {
        const marked = markedId(message);
        if (marked !== undefined) this.redriven.add(marked);
        else if (isLetter(message)) this.positions.push(message.position);
        this.last = { position: message.position, msgId: message.msgId };
      }
      if (page.length < this.options.pageSize) break;
      from = page.at(-1)!.position + 1;
    }
    if (this.positions.length === 0 && this.redriven.size === 0) return;
    const [oldest] = await this.bus.read({ topic: DEAD_LETTER_TOPIC, from: 1, limit: 1 });
    const retainedFrom = oldest?.position ?? Number.POSITIVE_INFINITY;
    const expired = firstAtLeast(this.positions, retainedFrom);
    if (expired === 0 && this.positions.length > 0) return;
    this.positions.splice(0, expired);
    for (const id of this.redriven) if (id < retainedFrom) this.redriven.delete(id);
  }

  /** The dead letters at `positions` (ascending, consecutive among the letters), read in one range. */
  private async letters(positions: number[]): Promise<DeadLetter[]> {
    const last = positions.at(-1);
    let from = positions[0];
    const found = new Map<number, DeadLetter>();
    let left = positions.length;
    while (from !== undefined && last !== undefined && left > 0) {
      const limit = Math.min(this.options.pageSize, left);
      const page = await this.bus.read({ topic: DEAD_LETTER_TOPIC, from, limit, subjects: LETTER_SUBJECTS });
      for (const message of page) {
        if (message.position > last) left = 0;
        else {
          found.set(message.position, toDeadLetter(message, this.redriven));
          left--;
        }
      }
      from = page.length < limit ? undefined : page.at(-1)!.position + 1;
    }
    // One that expired since the topic was read is left out.
    return positions.flatMap((p) => found.get(p) ?? []);
  }
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
