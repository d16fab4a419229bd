import { BaseEventBus, DecodedMessage, type Settle } from '../base.ts';
import { PublishExpectationError } from '../errors.ts';
import { subjectMatches } from '../subjects.ts';
import type {
  BusMessage,
  BusOptions,
  PublishOptions,
  PublishReceipt,
  ReadOptions,
  SubscribeOptions,
  TopicSpec,
} from '../types.ts';

interface Stored {
  subject: string;
  msgId: string;
  key: string | undefined;
  headers: Record<string, string>;
  data: Uint8Array;
  position: number;
  storedAtMs: number;
}

interface Member {
  deliver: (message: BusMessage, settle: Settle) => Promise<void>;
  active: boolean;
}

interface Group {
  topic: TopicSpec;
  subjects: string[] | undefined;
  cursor: number;
  maxPending: number;
  pending: number;
  deliveries: Map<number, number>;
  redeliver: Map<number, number>;
  members: Member[];
  nextMember: number;
  timer: NodeJS.Timeout | undefined;
}

/** The in-process "broker": topic logs and group positions, shareable by several bus instances. */
export class MemoryBroker {
  readonly logs = new Map<string, Stored[]>();
  readonly groups = new Map<string, Group>();
}

/**
 * An in-process bus with the same guarantees as the brokers within one process: for unit tests
 * and the single-process path. Messages live in memory for `retentionMs`; nothing survives a restart.
 */
export class MemoryEventBus extends BaseEventBus {
  private readonly logs: Map<string, Stored[]>;
  private readonly groups: Map<string, Group>;
  private connected = false;

  constructor(options: BusOptions, broker: MemoryBroker = new MemoryBroker()) {
    super(options);
    this.logs = broker.logs;
    this.groups = broker.groups;
  }

  protected async connect(): Promise<void> {
    for (const topic of this.topics) if (!this.logs.has(topic.name)) this.logs.set(topic.name, []);
    this.connected = true;
  }

  /** Checks {@link PublishOptions.expect} in the log, like JetStream. */
  override readonly enforcesExpectations = true;

  healthy(): boolean {
    return this.connected;
  }

  protected async close(): Promise<void> {
    this.connected = false;
  }

  protected async doPublish(
    topic: TopicSpec,
    subject: string,
    data: Uint8Array,
    options: PublishOptions,
  ): Promise<PublishReceipt> {
    const log = this.logs.get(topic.name)!;
    const now = Date.now();
    const windowStart = now - this.options.duplicateWindowMs;
    for (let i = log.length - 1; i >= 0 && log[i]!.storedAtMs >= windowStart; i--) {
      if (log[i]!.msgId === options.msgId)
        return { topic: topic.name, position: log[i]!.position, duplicate: true };
    }
    const expected = options.expect?.lastSubjectPosition;
    if (expected !== undefined) {
      let last = 0;
      for (let i = log.length - 1; i >= 0; i--) {
        if (log[i]!.subject === subject) {
          last = log[i]!.position;
          break;
        }
      }
      if (last !== expected)
        throw new PublishExpectationError(
          `publish of ${subject} refused: last position ${last}, expected ${expected}`,
        );
    }
    const lastMsgId = options.expect?.lastMsgId;
    if (lastMsgId !== undefined && log.at(-1)?.msgId !== lastMsgId)
      throw new PublishExpectationError(
        `publish of ${subject} refused: last msgId ${JSON.stringify(log.at(-1)?.msgId ?? '')}, expected ${JSON.stringify(lastMsgId)}`,
      );
    const position = (log.at(-1)?.position ?? 0) + 1;
    log.push({
      subject,
      msgId: options.msgId,
      key: options.key,
      headers: { ...options.headers },
      data,
      position,
      storedAtMs: now,
    });
    for (const group of this.groups.values()) if (group.topic.name === topic.name) this.pump(group);
    return { topic: topic.name, position, duplicate: false };
  }

  protected async doSubscribe(
    topic: TopicSpec,
    options: SubscribeOptions,
    deliver: (message: BusMessage, settle: Settle) => Promise<void>,
  ): Promise<{ stop(): Promise<void> }> {
    const key = `${topic.name}/${options.group}`;
    let group = this.groups.get(key);
    if (!group) {
      const log = this.logs.get(topic.name)!;
      group = {
        topic,
        subjects: options.subjects,
        cursor: options.startAt === 'new' ? (log.at(-1)?.position ?? 0) + 1 : 1,
        maxPending: options.concurrency ?? 1,
        pending: 0,
        deliveries: new Map(),
        redeliver: new Map(),
        members: [],
        nextMember: 0,
        timer: undefined,
      };
      this.groups.set(key, group);
    }
    const member: Member = { deliver, active: true };
    group.members.push(member);
    const g = group;
    this.pump(g);
    return {
      stop: async () => {
        member.active = false;
        g.members = g.members.filter((m) => m !== member);
        if (options.ephemeral && g.members.length === 0) {
          clearTimeout(g.timer);
          this.groups.delete(key);
        }
      },
    };
  }

  protected async doRead(topic: TopicSpec, options: ReadOptions): Promise<BusMessage[]> {
    const log = this.logs.get(topic.name)!;
    return log
      .filter((m) => m.position >= options.from && this.matches(options.subjects, m.subject))
      .slice(0, options.limit)
      .map((m) => this.toMessage(topic, m, 1));
  }

  private matches(patterns: string[] | undefined, subject: string): boolean {
    return !patterns || patterns.some((p) => subjectMatches(p, subject));
  }

  private toMessage(topic: TopicSpec, m: Stored, deliveryCount: number): BusMessage {
    return new DecodedMessage(
      topic.name,
      m.subject,
      m.msgId,
      m.key,
      m.headers,
      m.data,
      deliveryCount,
      m.position,
    );
  }

  private pump(group: Group): void {
    this.deliverReady(group);
    this.schedule(group);
  }

  private deliverReady(group: Group): void {
    const log = this.logs.get(group.topic.name)!;
    const cutoff = Date.now() - this.options.retentionMs;
    while (log.length > 0 && log[0]!.storedAtMs < cutoff) log.shift();
    for (;;) {
      if (!group.members.some((m) => m.active)) return;
      // A due redelivery already holds its pending slot; a new message needs a free one.
      let stored = this.dueRedelivery(group, log);
      if (!stored && group.pending < group.maxPending) {
        stored = this.nextNew(group, log);
        if (stored) group.pending++;
      }
      if (!stored) return;
      const member = this.pickMember(group)!;
      const count = (group.deliveries.get(stored.position) ?? 0) + 1;
      group.deliveries.set(stored.position, count);
      let settled = false;
      const settle: Settle = {
        ack: () => {
          if (settled) return;
          settled = true;
          group.deliveries.delete(stored.position);
          group.pending--;
          queueMicrotask(() => this.pump(group));
        },
        retry: (delayMs) => {
          if (settled) return;
          settled = true;
          group.redeliver.set(stored.position, Date.now() + delayMs);
          this.schedule(group);
        },
      };
      void member.deliver(this.toMessage(group.topic, stored, count), settle);
    }
  }

  private pickMember(group: Group): Member | undefined {
    const active = group.members.filter((m) => m.active);
    if (active.length === 0) return undefined;
    group.nextMember = (group.nextMember + 1) % active.length;
    return active[group.nextMember];
  }

  private dueRedelivery(group: Group, log: Stored[]): Stored | undefined {
    const now = Date.now();
    for (;;) {
      let due: number | undefined;
      for (const [position, at] of group.redeliver)
        if (at <= now && (due === undefined || position < due)) due = position;
      if (due === undefined) return undefined;
      group.redeliver.delete(due);
      const stored = log.find((m) => m.position === due);
      if (stored) return stored;
      // Expired from retention while waiting: give its slot back.
      group.deliveries.delete(due);
      group.pending--;
    }
  }

  private nextNew(group: Group, log: Stored[]): Stored | undefined {
    while (group.cursor <= (log.at(-1)?.position ?? 0)) {
      const stored = log.find((m) => m.position === group.cursor);
      group.cursor++;
      if (stored && this.matches(group.subjects, stored.subject)) return stored;
    }
    return undefined;
  }

  private schedule(group: Group): void {
    clearTimeout(group.timer);
    if (group.redeliver.size === 0) return;
    const next = Math.min(...group.redeliver.values());
    group.timer = setTimeout(() => this.pump(group), Math.max(0, next - Date.now()));
    group.timer.unref?.();
  }
}
