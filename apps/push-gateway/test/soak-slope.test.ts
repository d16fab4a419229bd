import { describe, expect, it } from 'vitest';
import { leastSquaresSlope } from '../bench/slope.ts';

describe('soak slope', () => {
  it('least squares - recovers the slope of a line through noise that cancels out', () => {
    const points = [0, 10, 20, 30, 40].map((x, i) => [x, 1_000 + 3 * x + (i % 2 === 0 ? 5 : -5)] as const);
    expect(leastSquaresSlope(points)).toBeCloseTo(3, 0);
  });

  it('least squares - a flat series has slope 0 and one distinct x is refused', () => {
    expect(
      leastSquaresSlope([
        [0, 7],
        [5, 7],
        [9, 7],
      ]),
    ).toBe(0);
    expect(() =>
      leastSquaresSlope([
        [1, 1],
        [1, 2],
      ]),
    ).toThrow(/two distinct x/);
  });
});
