import {
  type Ack,
  type ErrorCode,
  type FieldIssue,
  type RequestError,
  TidelineError,
} from '@tideline/contracts';

/** A client event is refused with `code`; the socket stays open and nothing changed. */
export class RequestRefusal extends TidelineError {
  override readonly name = 'RequestRefusal';
  constructor(code: ErrorCode, message: string, fields?: FieldIssue[]) {
    super(code, message, { fields });
  }
}

/** The `request:error` body of a refused client event. */
export function requestErrorOf(event: string, error: TidelineError): RequestError {
  return {
    event,
    code: error.code,
    message: error.message,
    ...(error.fields && error.fields.length > 0 ? { fields: error.fields } : {}),
  };
}

export type AckCallback = (ack: Ack) => void;
