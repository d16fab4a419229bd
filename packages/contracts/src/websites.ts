import { z } from 'zod';
import { EventId, envelopeOf } from './envelope.ts';
import { ReplayFallbackReason } from './position.ts';

/** A fully qualified domain name, lower case, without a trailing dot (RFC 1123 labels). */
export const Domain = z
  .string()
  .trim()
  .toLowerCase()
  .max(253, 'must be at most 253 characters')
  .regex(
    /^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/,
    'must be a fully qualified domain name such as www.example.com',
  );

export const WebsiteStatus = z.enum(['active', 'paused', 'deleting']);
export type WebsiteStatus = z.infer<typeof WebsiteStatus>;

export const Id = z.number().int().positive().max(2_147_483_647);

export const LineGroup = z.object({
  id: Id,
  name: z.string().min(1).max(128),
  cname: Domain,
});
export type LineGroup = z.infer<typeof LineGroup>;

/** The website list item: the shape the HTTP API answers and every website event carries. */
export const WebsiteItem = z.object({
  website_id: Id,
  primary_domain: Domain,
  /** Every domain of the website, primary first. */
  domains: z.array(Domain).min(1),
  cname: Domain,
  line_group: z.object({ id: Id, name: z.string() }),
  https_enabled: z.boolean(),
  status: WebsiteStatus,
  updated_at: z.iso.datetime({ offset: true }),
});
export type WebsiteItem = z.infer<typeof WebsiteItem>;

const DomainList = z
  .array(Domain)
  .min(1, 'must name at least one domain')
  .max(100, 'must name at most 100 domains')
  .refine((list) => new Set(list).size === list.length, 'must not repeat a domain');

// ---- HTTP bodies -------------------------------------------------------------------------------

export const CreateLineGroupBody = z
  .object({ name: z.string().trim().min(1).max(128), cname: Domain })
  .strict();
export type CreateLineGroupBody = z.infer<typeof CreateLineGroupBody>;

export const CreateWebsiteBody = z
  .object({
    domains: DomainList,
    line_group_id: Id,
    https_enabled: z.boolean().default(false),
    status: WebsiteStatus.default('active'),
  })
  .strict();
export type CreateWebsiteBody = z.infer<typeof CreateWebsiteBody>;

export const UpdateWebsiteBody = z
  .object({
    website_id: Id,
    domains: DomainList.optional(),
    line_group_id: Id.optional(),
    https_enabled: z.boolean().optional(),
    status: WebsiteStatus.optional(),
  })
  .strict();
export type UpdateWebsiteBody = z.infer<typeof UpdateWebsiteBody>;

export const DeleteWebsiteBody = z.object({ website_id: Id }).strict();
export type DeleteWebsiteBody = z.infer<typeof DeleteWebsiteBody>;

/** The largest `page_size` a website list accepts; larger is refused with VALIDATION_FAILED. */
export const WEBSITES_PAGE_SIZE_MAX = 500;

export const ListWebsitesQuery = z
  .object({
    page: z.coerce.number().int().min(1).default(1),
    page_size: z.coerce.number().int().min(1).max(WEBSITES_PAGE_SIZE_MAX).default(50),
  })
  .strict();
export type ListWebsitesQuery = z.infer<typeof ListWebsitesQuery>;

// ---- events ------------------------------------------------------------------------------------

export const WEBSITES_TOPIC = 'websites' as const;
export const WebsiteEventType = z.enum(['add', 'update', 'delete']);
export type WebsiteEventType = z.infer<typeof WebsiteEventType>;

export const WebsiteDeleted = z.object({ website_id: Id });

export const WebsiteAddEvent = envelopeOf(WEBSITES_TOPIC, z.literal('add'), WebsiteItem);
export const WebsiteUpdateEvent = envelopeOf(WEBSITES_TOPIC, z.literal('update'), WebsiteItem);
export const WebsiteDeleteEvent = envelopeOf(WEBSITES_TOPIC, z.literal('delete'), WebsiteDeleted);
/** A committed website change, as published by website-api's relay from its event log. */
export const WebsiteEvent = z.discriminatedUnion('type', [
  WebsiteAddEvent,
  WebsiteUpdateEvent,
  WebsiteDeleteEvent,
]);
export type WebsiteEvent = z.infer<typeof WebsiteEvent>;

/** What the snapshot query answers: the list exactly as of `lastEventId` in log epoch `version`. */
export const WebsitesSnapshot = z.object({
  items: z.array(WebsiteItem),
  total: z.number().int().nonnegative(),
  version: z.string().min(1),
  lastEventId: z.number().int().nonnegative(),
});
export type WebsitesSnapshot = z.infer<typeof WebsitesSnapshot>;

/**
 * What the replay query answers: either every event after `after` (at most `limit`, in id order),
 * or `fallback` with the reason the caller must take a snapshot instead.
 */
export const WebsitesReplay = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('events'), version: z.string(), events: z.array(WebsiteEvent) }),
  z.object({
    kind: z.literal('fallback'),
    version: z.string(),
    reason: ReplayFallbackReason.exclude(['unknown-cluster']),
  }),
]);
export type WebsitesReplay = z.infer<typeof WebsitesReplay>;

export { EventId };
