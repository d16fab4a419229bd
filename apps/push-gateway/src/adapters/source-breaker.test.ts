import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SourceNotFoundError, SourceUnavailableError } from '../domain/errors.ts';
import { type BreakerState, SourceBreaker } from './source-breaker.ts';

const HALF_OPEN_AFTER_MS = 1_000;
const THRESHOLD = 3;

/** A dependency the test switches between up, down (5xx) and answering 4xx; counts its calls. */
class FakeDependency {
  calls = 0;
  mode: 'up' | 'down' | 'timeout' | 'bad-request' | 'not-found' = 'up';
  async call(): Promise<string> {
    this.calls++;
    switch (this.mode) {
      case 'up':
        return 'ok';
      case 'down':
        throw new SourceUnavailableError('GET /internal/x answered 503', { status: 503 });
      case 'timeout':
        throw new SourceUnavailableError('GET /internal/x failed: timeout');
      case 'bad-request':
        throw new SourceUnavailableError('GET /internal/x answered 400', { status: 400 });
      case 'not-found':
        throw new SourceNotFoundError('GET /internal/x answered 404');
    }
  }
}

function breakerOn(dependency: FakeDependency) {
  const states: BreakerState[] = [];
  let rejected = 0;
  const breaker = new SourceBreaker({
    dependency: 'website-api',
    failureThreshold: THRESHOLD,
    halfOpenAfterMs: HALF_OPEN_AFTER_MS,
    onStateChange: (state) => states.push(state),
    onRejected: () => rejected++,
  });
  const call = () => breaker.execute(() => dependency.call());
  return { breaker, states, rejected: () => rejected, call };
}

async function failTimes(call: () => Promise<unknown>, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await expect(call()).rejects.toBeInstanceOf(SourceUnavailableError);
}

describe('SourceBreaker', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('breaker - opens after the threshold of consecutive dependency failures and then refuses without calling', async () => {
    const dependency = new FakeDependency();
    const { breaker, states, rejected, call } = breakerOn(dependency);
    dependency.mode = 'down';
    await failTimes(call, THRESHOLD - 1);
    expect(breaker.state).toBe('closed');
    await failTimes(call, 1);
    expect(breaker.state).toBe('open');
    expect(states).toEqual(['closed', 'open']);

    const callsWhenOpened = dependency.calls;
    dependency.mode = 'up';
    const refusal = await call().catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(SourceUnavailableError);
    expect((refusal as SourceUnavailableError).code).toBe('UNAVAILABLE');
    expect(dependency.calls).toBe(callsWhenOpened);
    expect(rejected()).toBe(1);
  });

  it('breaker - a success in between resets the count of consecutive failures', async () => {
    const dependency = new FakeDependency();
    const { breaker, call } = breakerOn(dependency);
    dependency.mode = 'down';
    await failTimes(call, THRESHOLD - 1);
    dependency.mode = 'up';
    await expect(call()).resolves.toBe('ok');
    dependency.mode = 'down';
    await failTimes(call, THRESHOLD - 1);
    expect(breaker.state).toBe('closed');
  });

  it('breaker - timeouts and connection errors count as dependency failures', async () => {
    const dependency = new FakeDependency();
    const { breaker, call } = breakerOn(dependency);
    dependency.mode = 'timeout';
    await failTimes(call, THRESHOLD);
    expect(breaker.state).toBe('open');
  });

  it('caller 4xx never opens the breaker - a caller cannot trip it with bad requests or unknown clusters', async () => {
    const dependency = new FakeDependency();
    const { breaker, states, rejected, call } = breakerOn(dependency);
    for (const mode of ['bad-request', 'not-found'] as const) {
      dependency.mode = mode;
      for (let i = 0; i < THRESHOLD * 4; i++) await expect(call()).rejects.toBeInstanceOf(Error);
    }
    expect(breaker.state).toBe('closed');
    expect(states).toEqual(['closed']);
    expect(rejected()).toBe(0);
    expect(dependency.calls).toBe(THRESHOLD * 8);
  });

  it('breaker - stays open until the half-open delay, then one successful probe closes it', async () => {
    const dependency = new FakeDependency();
    const { breaker, states, call } = breakerOn(dependency);
    dependency.mode = 'down';
    await failTimes(call, THRESHOLD);
    dependency.mode = 'up';

    vi.advanceTimersByTime(HALF_OPEN_AFTER_MS - 1);
    await failTimes(call, 1);
    expect(breaker.state).toBe('open');

    vi.advanceTimersByTime(1);
    const callsBefore = dependency.calls;
    await expect(call()).resolves.toBe('ok');
    expect(dependency.calls).toBe(callsBefore + 1);
    expect(breaker.state).toBe('closed');
    expect(states).toEqual(['closed', 'open', 'half-open', 'closed']);
  });

  it('breaker - a failed probe opens it again for another half-open delay', async () => {
    const dependency = new FakeDependency();
    const { breaker, states, rejected, call } = breakerOn(dependency);
    dependency.mode = 'down';
    await failTimes(call, THRESHOLD);
    vi.advanceTimersByTime(HALF_OPEN_AFTER_MS);
    await failTimes(call, 1);
    expect(breaker.state).toBe('open');
    expect(states).toEqual(['closed', 'open', 'half-open', 'open']);

    const rejectedBefore = rejected();
    await failTimes(call, 1);
    expect(rejected()).toBe(rejectedBefore + 1);

    dependency.mode = 'up';
    vi.advanceTimersByTime(HALF_OPEN_AFTER_MS);
    await expect(call()).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
  });
});
