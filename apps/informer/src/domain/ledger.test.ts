import { testNodeEvents, testNodeView } from '@tideline/test-support';
import { describe, expect, it } from 'vitest';
import { PublishedLedger } from './ledger.ts';

const a = testNodeEvents('a');

describe('PublishedLedger', () => {
  it('fold - duplicates change nothing, removal clears views and keeps the id, registration follows on', () => {
    const ledger = new PublishedLedger();
    expect(ledger.apply(a.registered(1))).toBe('applied');
    expect(ledger.apply(a.added(2, testNodeView('n1')))).toBe('applied');
    expect(ledger.apply(a.deleted(2, testNodeView('n1')))).toBe('duplicate');
    expect(ledger.cluster('a').views.has('n1')).toBe(true);
    expect(ledger.apply(a.removed(3))).toBe('applied');
    expect(ledger.cluster('a')).toMatchObject({ lastEventId: 3, registered: false });
    expect(ledger.cluster('a').views.size).toBe(0);
    expect(ledger.apply(a.added(7, testNodeView('n2')))).toBe('gap');
    expect(ledger.cluster('a')).toMatchObject({ lastEventId: 7, registered: true });
    expect(ledger.cluster('b').lastEventId).toBe(0);
  });

  it('fold - an update replaces the view of its node, a deletion forgets it', () => {
    const ledger = new PublishedLedger();
    ledger.apply(a.registered(1));
    ledger.apply(a.added(2, testNodeView('n1')));
    ledger.apply(a.added(3, testNodeView('n2')));
    const cordoned = testNodeView('n1', { unschedulable: true });
    expect(ledger.apply(a.updated(4, cordoned, ['unschedulable']))).toBe('applied');
    expect(ledger.cluster('a').views.get('n1')).toEqual(cordoned);
    expect(ledger.apply(a.deleted(5, testNodeView('n2')))).toBe('applied');
    expect([...ledger.cluster('a').views.keys()]).toEqual(['n1']);
    expect(ledger.cluster('a')).toMatchObject({ lastEventId: 5, registered: true });
  });
});
