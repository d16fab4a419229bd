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

/**
 * `connect_error.data` of a handshake refused by the per-user connection cap: the code at the top
 * (as every handshake refusal has it) and the one error body.
 */
export interface CapRefusalData {
  code: 'TOO_MANY_CONNECTIONS' | 'UNAVAILABLE';
  error: { code: 'TOO_MANY_CONNECTIONS' | 'UNAVAILABLE'; message: string };
}

export function capRefusalData(code: CapRefusalData['code'], message: string): CapRefusalData {
  return { code, error: { code, message } };
}
