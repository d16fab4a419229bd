/** What a website is loaded with to become a list item: its line group and its domains in insertion order. */
export const WEBSITE_WITH_RELATIONS = {
  lineGroup: true,
  domains: { orderBy: { id: 'asc' } },
} as const;
