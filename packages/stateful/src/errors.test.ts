import { TidelineError } from '@tideline/contracts';
import { describe, expect, it } from 'vitest';
import {
  StatefulChooserError,
  StatefulCommandError,
  StatefulError,
  StatefulUnavailableError,
  StatefulValidationError,
  StatefulWrongTypeError,
  toStatefulError,
} from './errors.ts';

function replyError(message: string): Error {
  const error = new Error(message);
  error.name = 'ReplyError';
  return error;
}

describe('toStatefulError', () => {
  it('errors - WRONGTYPE and foreign values become a wrong-type error naming the key', () => {
    for (const message of ['WRONGTYPE Operation against a key', 'TLBADVALUE field gw of key k']) {
      const error = toStatefulError(replyError(message), 'the-key');
      expect(error).toBeInstanceOf(StatefulWrongTypeError);
      expect((error as StatefulWrongTypeError).key).toBe('the-key');
      expect(error.code).toBe('INTERNAL');
    }
  });

  it('errors - replies that mean "not now" become unavailable (busy)', () => {
    for (const message of [
      'LOADING Redis is loading',
      'BUSY script running',
      'READONLY replica',
      'CLUSTERDOWN',
    ]) {
      const error = toStatefulError(replyError(message), 'k');
      expect(error).toBeInstanceOf(StatefulUnavailableError);
      expect((error as StatefulUnavailableError).reason).toBe('busy');
    }
  });

  it('errors - any other reply is an unexpected command error', () => {
    const error = toStatefulError(replyError('ERR unknown command'), 'k');
    expect(error).toBeInstanceOf(StatefulCommandError);
    expect(error.code).toBe('INTERNAL');
  });

  it('errors - a timeout and a dropped connection become unavailable with their reason', () => {
    expect((toStatefulError(new Error('Command timed out'), 'k') as StatefulUnavailableError).reason).toBe(
      'timeout',
    );
    const offline = toStatefulError(
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      'k',
    );
    expect(offline).toBeInstanceOf(StatefulUnavailableError);
    expect((offline as StatefulUnavailableError).reason).toBe('offline');
    expect((toStatefulError('a string', 'k') as StatefulUnavailableError).reason).toBe('offline');
  });

  it('errors - typed errors pass through unchanged', () => {
    const typed = new StatefulValidationError('m', [{ path: 'ns', message: 'bad' }]);
    expect(toStatefulError(typed, 'k')).toBe(typed);
    expect(typed.message).toBe('m: invalid ns: bad');
    expect(typed.code).toBe('BAD_REQUEST');
  });

  it('errors - every stateful error is a TidelineError carrying its code, message, cause and fields', () => {
    const cause = new Error('socket closed');
    const cases: [StatefulError, string][] = [
      [new StatefulValidationError('m', [{ path: 'uid', message: 'bad' }]), 'BAD_REQUEST'],
      [new StatefulUnavailableError('offline', 'down', { cause }), 'UNAVAILABLE'],
      [new StatefulWrongTypeError('k', 'wrong type', { cause }), 'INTERNAL'],
      [new StatefulCommandError('unexpected', { cause }), 'INTERNAL'],
      [new StatefulChooserError('not a candidate'), 'INTERNAL'],
    ];
    for (const [error, code] of cases) {
      expect(error).toBeInstanceOf(TidelineError);
      expect(error).toBeInstanceOf(StatefulError);
      expect(error).toBeInstanceOf(Error);
      expect(error.code).toBe(code);
      expect(error.name).toBe(error.constructor.name);
    }
    expect(cases[0]![0].fields).toEqual([{ path: 'uid', message: 'bad' }]);
    expect(cases[1]![0].cause).toBe(cause);
    expect(cases[1]![0].message).toBe('down');
    expect(cases[3]![0].fields).toBeUndefined();
  });
});
