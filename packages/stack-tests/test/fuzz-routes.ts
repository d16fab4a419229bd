import {
  CLUSTERS_ADMIN_API,
  CreateLineGroupBody,
  CreateWebsiteBody,
  DeleteWebsiteBody,
  type ErrorCode,
  INTERNAL_PATHS,
  NODES_API,
  OPERATOR_API,
  RegisterClusterBody,
  UnregisterClusterBody,
  UpdateWebsiteBody,
} from '@tideline/contracts';
import fc from 'fast-check';
import type { z } from 'zod';
import { anyJson, edgeNumber, pathSegment, text } from './fuzz-arbitraries.ts';
import type { AnswerRule } from './fuzz-http.ts';
import { type FuzzService, FuzzStack } from './fuzz-stack.ts';

/** What the fuzz suite attacks: every HTTP route of every service, with what each may answer. */

/**
 * Cases per route. Bounded in count (no wall-clock limit); the sum over every route and socket
 * event is at least 10,000 (fuzz.int.test.ts checks it).
 */
export const RUNS = {
  write: 900,
  read: 350,
  internal: 200,
  admin: 300,
  operator: 150,
  unknownRoute: 250,
  socketEvent: 320,
  handshake: 200,
};

export type ServiceName = FuzzService['name'];

export const AUTH_CODES: ErrorCode[] = ['UNAUTHORIZED', 'TOKEN_EXPIRED', 'FORBIDDEN'];
export const INPUT_CODES: ErrorCode[] = ['VALIDATION_FAILED', ...AUTH_CODES];
export const READ_CODES: ErrorCode[] = [...INPUT_CODES, 'NOT_FOUND'];
export const NO_ROUTE_CODES: ErrorCode[] = ['NOT_FOUND', 'VALIDATION_FAILED'];

export interface RouteSpec {
  name: string;
  service: ServiceName;
  method: 'GET' | 'POST';
  /** The path without the query string. */
  path: fc.Arbitrary<string>;
  query?: string[];
  /**
   * Write routes: the body contract and the fields to attack. When a body the contract accepts
   * could write (`acceptedMayWrite`), only bodies it refuses are sent with a token allowed to
   * write; otherwise accepted bodies are sent too (the fuzz database holds no line group and no
   * website, so a well-formed website change can only be refused: NOT_FOUND, VALIDATION_FAILED).
   */
  body?: { schema: z.ZodType; fields: Record<string, fc.Arbitrary<unknown>>; acceptedMayWrite: boolean };
  rule: AnswerRule;
  runs: number;
}

const clusterSegment = fc.oneof(fc.constant(FuzzStack.CLUSTER), pathSegment);
const segment = (value: string) => fc.constant(value);

export const ROUTES: RouteSpec[] = [
  // ---- website-api: writes ----
  {
    name: 'POST /api/v1/line-groups/create',
    service: 'website-api',
    method: 'POST',
    path: segment('/api/v1/line-groups/create'),
    body: { schema: CreateLineGroupBody, fields: { name: text, cname: text }, acceptedMayWrite: true },
    rule: { ok: [], codes: INPUT_CODES },
    runs: RUNS.write,
  },
  {
    name: 'POST /api/v1/websites/create',
    service: 'website-api',
    method: 'POST',
    path: segment('/api/v1/websites/create'),
    body: {
      schema: CreateWebsiteBody,
      fields: {
        domains: fc.array(text, { maxLength: 120 }),
        line_group_id: edgeNumber,
        https_enabled: anyJson,
        status: text,
      },
      acceptedMayWrite: false,
    },
    rule: { ok: [], codes: READ_CODES },
    runs: RUNS.write,
  },
  {
    name: 'POST /api/v1/websites/update',
    service: 'website-api',
    method: 'POST',
    path: segment('/api/v1/websites/update'),
    body: {
      schema: UpdateWebsiteBody,
      fields: {
        website_id: edgeNumber,
        domains: fc.array(text, { maxLength: 120 }),
        line_group_id: edgeNumber,
        https_enabled: anyJson,
        status: text,
      },
      acceptedMayWrite: false,
    },
    rule: { ok: [], codes: READ_CODES },
    runs: RUNS.write,
  },
  {
    name: 'POST /api/v1/websites/delete',
    service: 'website-api',
    method: 'POST',
    path: segment('/api/v1/websites/delete'),
    body: { schema: DeleteWebsiteBody, fields: { website_id: edgeNumber }, acceptedMayWrite: false },
    rule: { ok: [], codes: READ_CODES },
    runs: RUNS.write,
  },
  // ---- website-api: reads ----
  {
    name: 'GET /api/v1/line-groups',
    service: 'website-api',
    method: 'GET',
    path: segment('/api/v1/line-groups'),
    query: ['page'],
    rule: { ok: [200], codes: INPUT_CODES },
    runs: RUNS.read,
  },
  {
    name: 'GET /api/v1/websites',
    service: 'website-api',
    method: 'GET',
    path: segment('/api/v1/websites'),
    query: ['page', 'page_size'],
    rule: { ok: [200], codes: INPUT_CODES },
    runs: RUNS.read,
  },
  {
    name: 'GET /api/v1/websites/:id',
    service: 'website-api',
    method: 'GET',
    path: pathSegment.map((id) => `/api/v1/websites/${id}`),
    rule: { ok: [200], codes: READ_CODES },
    runs: RUNS.read,
  },
  {
    name: 'GET /internal/v1/websites/snapshot',
    service: 'website-api',
    method: 'GET',
    path: segment(INTERNAL_PATHS.websitesSnapshot),
    query: ['after'],
    rule: { ok: [200], codes: INPUT_CODES },
    runs: RUNS.internal,
  },
  {
    name: 'GET /internal/v1/websites/events',
    service: 'website-api',
    method: 'GET',
    path: segment(INTERNAL_PATHS.websitesEvents),
    query: ['after', 'limit', 'version'],
    rule: { ok: [200], codes: INPUT_CODES },
    runs: RUNS.internal,
  },
  // ---- cache ----
  {
    name: 'GET /api/v1/clusters (cache)',
    service: 'cache',
    method: 'GET',
    path: segment(NODES_API.clusters),
    rule: { ok: [200], codes: INPUT_CODES },
    runs: RUNS.read,
  },
  {
    name: 'GET /api/v1/clusters/:cluster/nodes',
    service: 'cache',
    method: 'GET',
    path: clusterSegment.map((c) => NODES_API.nodes(c)),
    query: ['labelSelector', 'schedulable', 'ready', 'page', 'page_size'],
    rule: { ok: [200], codes: READ_CODES },
    runs: RUNS.read,
  },
  {
    name: 'GET /api/v1/clusters/:cluster/nodes/:name',
    service: 'cache',
    method: 'GET',
    path: fc
      .tuple(clusterSegment, fc.oneof(fc.constant('node-1'), pathSegment))
      .map(([c, n]) => NODES_API.node(c, n)),
    rule: { ok: [200], codes: READ_CODES },
    runs: RUNS.read,
  },
  {
    name: 'GET /internal/v1/clusters/:cluster/nodes/snapshot',
    service: 'cache',
    method: 'GET',
    path: clusterSegment.map((c) => INTERNAL_PATHS.nodesSnapshot(c)),
    rule: { ok: [200], codes: READ_CODES },
    runs: RUNS.internal,
  },
  {
    name: 'GET /internal/v1/clusters/:cluster/nodes/events',
    service: 'cache',
    method: 'GET',
    path: clusterSegment.map((c) => INTERNAL_PATHS.nodesEvents(c)),
    query: ['after', 'limit'],
    rule: { ok: [200], codes: READ_CODES },
    runs: RUNS.internal,
  },
  {
    name: 'GET /api/v1/operator/users/:uid/links',
    service: 'cache',
    method: 'GET',
    path: pathSegment.map((uid) => OPERATOR_API.userLinks(uid)),
    rule: { ok: [200], codes: READ_CODES },
    runs: RUNS.operator,
  },
  {
    name: 'GET /api/v1/operator/services/:service/pods',
    service: 'cache',
    method: 'GET',
    path: fc.oneof(fc.constant('push-gateway'), pathSegment).map((s) => OPERATOR_API.servicePods(s)),
    rule: { ok: [200], codes: READ_CODES },
    runs: RUNS.operator,
  },
  // ---- informer ----
  {
    name: 'GET /api/v1/clusters (informer)',
    service: 'informer',
    method: 'GET',
    path: segment(CLUSTERS_ADMIN_API.list),
    rule: { ok: [200], codes: INPUT_CODES },
    runs: RUNS.admin,
  },
  {
    name: 'POST /api/v1/clusters/register',
    service: 'informer',
    method: 'POST',
    path: segment(CLUSTERS_ADMIN_API.register),
    body: {
      schema: RegisterClusterBody,
      fields: {
        name: fc.oneof(fc.constant('fuzz-new'), text),
        kubeconfig: text,
        kubeconfigPath: text,
        context: text,
      },
      acceptedMayWrite: true,
    },
    rule: { ok: [], codes: [...INPUT_CODES, 'CONFLICT'] },
    runs: RUNS.admin,
  },
  {
    name: 'POST /api/v1/clusters/unregister',
    service: 'informer',
    method: 'POST',
    path: segment(CLUSTERS_ADMIN_API.unregister),
    body: {
      schema: UnregisterClusterBody,
      fields: { name: fc.oneof(fc.constant(FuzzStack.CLUSTER), text) },
      acceptedMayWrite: true,
    },
    rule: { ok: [], codes: READ_CODES },
    runs: RUNS.admin,
  },
  // ---- the operator endpoints of the gateway ----
  ...(['/healthz', '/readyz', '/metrics'] as const).map(
    (path): RouteSpec => ({
      name: `GET ${path} (push-gateway)`,
      service: 'push-gateway',
      method: 'GET',
      path: segment(path),
      query: ['x'],
      rule: { ok: [200], codes: ['VALIDATION_FAILED'] },
      runs: RUNS.operator,
    }),
  ),
  {
    name: 'GET /socket.io/ (engine.io polling and handshake)',
    service: 'push-gateway',
    method: 'GET',
    path: fc.constantFrom('/socket.io/', '/socket.io'),
    query: ['EIO', 'transport', 'sid', 't', 'b64'],
    rule: {
      ok: [200],
      codes: ['BAD_REQUEST', 'VALIDATION_FAILED', 'UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND'],
    },
    runs: RUNS.operator,
  },
];

export const UNKNOWN_METHODS = [
  'GET',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'TRACE',
  'PROPFIND',
  'FOO',
];
export const SERVICES: ServiceName[] = ['website-api', 'cache', 'informer', 'push-gateway'];
