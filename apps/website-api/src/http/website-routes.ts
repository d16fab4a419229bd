import { SCOPES, type TokenVerifier } from '@tideline/auth';
import {
  CreateLineGroupBody,
  CreateWebsiteBody,
  DeleteWebsiteBody,
  ListWebsitesQuery,
  UpdateWebsiteBody,
  WebsitePath,
} from '@tideline/contracts';
import { requireScope, validate } from '@tideline/runtime';
import type { FastifyInstance } from 'fastify';
import type { WebsiteStore } from '../domain/ports.ts';
import { type installWriteRateLimit, WRITE_RATE_LIMITED } from './write-rate-limit.ts';

/**
 * The public HTTP API of websites and line groups (`/api/v1`), JSON in and out. Writes are under
 * the write rate limit, which must be installed first ({@link installWriteRateLimit}).
 */
export function registerWebsiteRoutes(
  http: FastifyInstance,
  options: { store: WebsiteStore; verifier: TokenVerifier },
): void {
  const { store, verifier } = options;
  const read = { preHandler: requireScope(verifier, SCOPES.websitesRead) };
  const write = { ...WRITE_RATE_LIMITED, preHandler: requireScope(verifier, SCOPES.websitesWrite) };

  http.post('/api/v1/line-groups/create', write, async (request, reply) => {
    const body = validate(CreateLineGroupBody, request.body, 'line group');
    return reply.code(201).send({ data: await store.createLineGroup(body) });
  });

  http.get('/api/v1/line-groups', read, async () => ({ data: await store.listLineGroups() }));

  http.post('/api/v1/websites/create', write, async (request, reply) => {
    const body = validate(CreateWebsiteBody, request.body, 'website');
    return reply.code(201).send({ data: await store.createWebsite(body) });
  });

  http.post('/api/v1/websites/update', write, async (request) => {
    const body = validate(UpdateWebsiteBody, request.body, 'website update');
    return { data: await store.updateWebsite(body) };
  });

  http.post('/api/v1/websites/delete', write, async (request) => {
    const body = validate(DeleteWebsiteBody, request.body, 'website delete');
    return { data: await store.deleteWebsite(body.website_id) };
  });

  http.get('/api/v1/websites', read, async (request) => {
    const query = validate(ListWebsitesQuery, request.query, 'query');
    const page = await store.listWebsites({ page: query.page, pageSize: query.page_size });
    return { data: page.items, total: page.total, page: query.page, page_size: query.page_size };
  });

  http.get('/api/v1/websites/:id', read, async (request) => {
    const { id } = validate(WebsitePath, request.params, 'path');
    return { data: await store.getWebsite(id) };
  });
}
