import { describe, expect, it } from 'vitest';
import { PublishedLedger } from './ledger.ts';

const view = (name: string) => ({
  name,
  uid: `uid-${name}`,
  static: {
    capacity: {},
    allocatable: {},
    architecture: '',
    operatingSystem: '',
    osImage: '',
    kernelVersion: '',
    kubeletVersion: '',
    containerRuntimeVersion: '',
  },
  dynamic: { labels: {}, taints: [], unschedulable: false, conditions: [], addresses: [] },
});

describe('PublishedLedger', () => {
  it('fold - duplicates change nothing, removal clears views and keeps the id, registration follows on', () => {
    const ledger = new PublishedLedger();
    expect(ledger.apply({ cluster: 'a', eventId: 1, type: 'cluster-registered' })).toBe('applied');
    expect(ledger.apply({ cluster: 'a', eventId: 2, type: 'added', node: view('n1') })).toBe('applied');
    expect(ledger.apply({ cluster: 'a', eventId: 2, type: 'deleted', node: view('n1') })).toBe('duplicate');
    expect(ledger.cluster('a').views.has('n1')).toBe(true);
    expect(ledger.apply({ cluster: 'a', eventId: 3, type: 'cluster-removed' })).toBe('applied');
    expect(ledger.cluster('a')).toMatchObject({ lastEventId: 3, registered: false });
    expect(ledger.cluster('a').views.size).toBe(0);
    expect(ledger.apply({ cluster: 'a', eventId: 7, type: 'added', node: view('n2') })).toBe('gap');
    expect(ledger.cluster('a')).toMatchObject({ lastEventId: 7, registered: true });
    expect(ledger.cluster('b').lastEventId).toBe(0);
  });
});
