import {
  createInbox,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import { BusUnavailableError, PublishExpectationError } from '../errors.ts';

/** What JetStream answers a stored (or deduplicated) publish with. */
export interface PubAck {
  stream: string;
  seq: number;
  duplicate: boolean;
}

/** JetStream's answer to a publish it refused (`{ error: { code, err_code, description } }`). */
interface PubRefusal {
  code: number;
  err_code?: number;
  description?: string;
}

/**
 * JetStream's refusals of an expectation: "wrong last msg ID" (Nats-Expected-Last-Msg-Id) and
 * "wrong last sequence" (Nats-Expected-Last-Subject-Sequence).
 */
const EXPECTATION_REFUSALS = new Set([10070, 10071]);
/** The status of a reply the server sends when no stream takes the subject. */
const NO_RESPONDERS = 503;

interface Waiting {
  subject: string;
  resolve: (ack: PubAck) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

const decoder = new TextDecoder();

/**
 * JetStream publishes with their acks, over one reply subscription of the connection
 * (`<inbox>.*`, one reply subject per publish), as JetStream's asynchronous publishers do.
 *
 * Why not `jetstream().publish()`: that sends each publish as a core request, whose bookkeeping in
 * nats.js builds an Error (stack trace included) for every request it completes, plus a deferred
 * and a timer object each. A CPU profile of website-api put that Error alone at ~18 µs per write;
 * one publish and its ack, one at a time, cost the publishing process 94-123 µs of CPU that way and
 * 65-85 µs this way. The bus benchmark (`npm run bench -w @tideline/bus`) measures NatsEventBus
 * against bare `jetstream().publish()` with the same settings: ×1.40-1.51 the messages per second
 * (×0.94-1.10 before). The event relay and the informer publish on the thread that serves their
 * other work, so that CPU was taken from it.
 *
 * The answers are those of `jetstream().publish()`: the PubAck (stream, seq, duplicate); a refused
 * expectation as {@link PublishExpectationError}; no stream for the subject ("no responders"), any
 * other refusal, no answer within the timeout, a lost or closing connection as
 * {@link BusUnavailableError}. One difference, on purpose: a publish waiting when the connection is lost fails at once
 * ({@link failWaiting}) instead of waiting out the timeout (5 s by default) for an ack that the
 * lost connection may have dropped; in the chaos nats-restart scenario that stall was ~4.7 s after
 * the heal in 1 of 5 runs on `jetstream().publish()`.
 * A reply subscription is resubscribed by nats.js after a reconnect like any other.
 */
export class PublishAcks {
  private readonly inbox = createInbox();
  private readonly waiting = new Map<string, Waiting>();
  private readonly subscription: Subscription;
  private next = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
  ) {
    this.subscription = nc.subscribe(`${this.inbox}.*`, {
      callback: (error, msg) => this.answered(error, msg),
    });
  }

  /** Publishes `data` to `subject` with `headers`; resolves with JetStream's ack, rejects with its refusal. */
  publish(subject: string, data: Uint8Array, headers: MsgHdrs): Promise<PubAck> {
    const reply = `${this.inbox}.${++this.next}`;
    return new Promise<PubAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(reply);
        reject(new BusUnavailableError(`publish of ${subject}: no ack within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiting.set(reply, { subject, resolve, reject, timer });
      try {
        this.nc.publish(subject, data, { headers, reply });
      } catch (error) {
        clearTimeout(timer);
        this.waiting.delete(reply);
        reject(error);
      }
    });
  }

  /** Publishes waiting for their ack. */
  get pending(): number {
    return this.waiting.size;
  }

  /**
   * Fails every publish waiting for its ack, at once: the connection was lost, and with it whatever
   * of theirs nats.js had not written (it drops its buffer when it dials again), so their acks may
   * never come. Their publishers send them again (same msgId: JetStream stores one).
   */
  failWaiting(reason: string): void {
    for (const [reply, waiting] of this.waiting) {
      clearTimeout(waiting.timer);
      this.waiting.delete(reply);
      waiting.reject(new BusUnavailableError(`publish of ${waiting.subject}: ${reason}`));
    }
  }

  /** Fails every publish still waiting (the connection is closing) and ends the subscription. */
  close(reason: string): void {
    this.failWaiting(reason);
    this.subscription.unsubscribe();
  }

  private answered(error: Error | null, msg: Msg): void {
    const waiting = this.waiting.get(msg?.subject);
    if (!waiting) return; // timed out already, or not ours
    this.waiting.delete(msg.subject);
    clearTimeout(waiting.timer);
    if (error) {
      waiting.reject(new BusUnavailableError(`publish of ${waiting.subject} failed: ${error.message}`));
      return;
    }
    if (msg.data.length === 0 && msg.headers?.code === NO_RESPONDERS) {
      waiting.reject(
        new BusUnavailableError(`publish of ${waiting.subject} failed: no stream takes the subject`),
      );
      return;
    }
    let answer: Partial<PubAck> & { error?: PubRefusal };
    try {
      answer = JSON.parse(decoder.decode(msg.data)) as typeof answer;
    } catch {
      waiting.reject(new BusUnavailableError(`publish of ${waiting.subject}: unreadable ack`));
      return;
    }
    if (answer.error) {
      const { code, err_code: errCode, description } = answer.error;
      const message = `publish of ${waiting.subject} refused: ${description ?? 'no description'} (${code}${errCode ? `/${errCode}` : ''})`;
      waiting.reject(
        errCode !== undefined && EXPECTATION_REFUSALS.has(errCode)
          ? new PublishExpectationError(message)
          : new BusUnavailableError(message),
      );
      return;
    }
    if (!answer.stream || typeof answer.seq !== 'number') {
      waiting.reject(new BusUnavailableError(`publish of ${waiting.subject}: invalid ack`));
      return;
    }
    waiting.resolve({ stream: answer.stream, seq: answer.seq, duplicate: answer.duplicate === true });
  }
}
