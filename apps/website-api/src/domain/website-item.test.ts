import { WebsiteItem } from '@tideline/contracts';
import { describe, expect, it } from 'vitest';
import { toWebsiteItem } from './website-item.ts';

const record = {
  id: 7,
  httpsEnabled: true,
  status: 'active' as const,
  updatedAt: new Date('2026-01-02T03:04:05.678Z'),
  lineGroup: { id: 2, name: 'edge', cname: 'edge.cdn.example.net' },
  domains: [
    { id: 11, domain: 'b.example.com', isPrimary: false },
    { id: 12, domain: 'a.example.com', isPrimary: true },
    { id: 10, domain: 'c.example.com', isPrimary: false },
  ],
};

describe('toWebsiteItem', () => {
  it('item - primary first, then the others in the order they were given; valid per contract', () => {
    const item = toWebsiteItem(record);
    expect(WebsiteItem.strict().parse(item)).toEqual(item);
    expect(item).toEqual({
      website_id: 7,
      primary_domain: 'a.example.com',
      domains: ['a.example.com', 'c.example.com', 'b.example.com'],
      cname: 'edge.cdn.example.net',
      line_group: { id: 2, name: 'edge' },
      https_enabled: true,
      status: 'active',
      updated_at: '2026-01-02T03:04:05.678Z',
    });
  });

  it('item - a website without a primary domain is a broken invariant, not an item', () => {
    expect(() =>
      toWebsiteItem({ ...record, domains: [{ id: 1, domain: 'x.example.com', isPrimary: false }] }),
    ).toThrow(/no primary/);
  });
});
