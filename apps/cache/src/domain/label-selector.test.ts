import { describe, expect, it } from 'vitest';
import { LabelSelectorError, parseLabelSelector } from './label-selector.ts';

const labels = { 'kubernetes.io/os': 'linux', team: 'payments', tier: 'gpu', empty: '' };

describe('label selector', () => {
  it('match - equality, existence and set requirements, joined by commas', () => {
    const cases: [string, boolean][] = [
      ['', true],
      ['team=payments', true],
      ['team==payments', true],
      ['team!=payments', false],
      ['team!=search', true],
      ['missing!=x', true],
      ['kubernetes.io/os=linux,tier=gpu', true],
      ['kubernetes.io/os=linux,tier=cpu', false],
      ['team', true],
      ['!team', false],
      ['!missing', true],
      ['team in (search, payments)', true],
      ['team in (search)', false],
      ['team notin (search)', true],
      ['missing notin (search)', true],
      ['missing in (search)', false],
      ['empty=', true],
      [' team = payments , tier in (gpu,cpu) ', true],
    ];
    for (const [selector, expected] of cases)
      expect(parseLabelSelector(selector)(labels), selector).toBe(expected);
  });

  it('errors - malformed selectors are refused with a reason', () => {
    for (const bad of ['a=b,,c', 'team in (a', 'team in a,b)', '=x', 'team=a b', '!', 'team in (a b)']) {
      expect(() => parseLabelSelector(bad), bad).toThrow(LabelSelectorError);
    }
    expect(() => parseLabelSelector('team in (a')).toThrow(
      expect.objectContaining({
        code: 'VALIDATION_FAILED',
        fields: [{ path: 'labelSelector', message: 'unbalanced "("' }],
      }),
    );
  });
});
