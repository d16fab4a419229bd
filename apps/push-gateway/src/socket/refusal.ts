import type { Ack, ErrorCode, FieldIssue, RequestError } from '@tideline/contracts';

/** A client event is refused with `code`; the socket stays open and nothing changed. */
export class RequestRefusal extends Error {
  override readonly name = 'RequestRefusal';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields?: FieldIssue[],
  ) {
    super(message);
  }

  toRequestError(event: string): RequestError {
    return {
      event,
      code: this.code,
      message: this.message,
      ...(this.fields && this.fields.length > 0 ? { fields: this.fields } : {}),
    };
  }
}

export type AckCallback = (ack: Ack) => void;
