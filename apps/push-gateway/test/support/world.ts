import { SCOPES } from '@tideline/auth';
import {
  INTERNAL_PATHS,
  type LineGroup,
  type WebsiteItem,
  WebsiteItem as WebsiteItemSchema,
  WebsitesReplay,
} from '@tideline/contracts';
import { TestDatabase, testServiceToken, testToken } from '@tideline/test-support';
import { startWebsiteApi, type WebsiteApi } from '@tideline/website-api';
import type { PushGatewayOptions, RunningPushGateway } from '../../src/service.ts';
import { CountingProxy } from './proxies.ts';
import { TestStack } from './stack.ts';

export const tokens = {
  writer: testToken('writer', [SCOPES.websitesRead, SCOPES.websitesWrite]),
  internal: testServiceToken('service:gateway-test'),
};

export interface WorldOptions {
  /** Gateways started in this process. */
  gateways?: number;
  gatewayEnv?: Record<string, string>;
  apiEnv?: Record<string, string>;
  gatewayOptions?: PushGatewayOptions;
}

/**
 * A test's whole stack on the real servers: its own PostgreSQL database, a real website-api on it
 * (behind a counting proxy, so a test sees how many snapshot/replay queries reached it), and
 * gateways on the shared NATS and Redis with a private prefix.
 */
export class World {
  readonly gateways: RunningPushGateway[] = [];
  private lineGroupId: number | undefined;
  private domainSeq = 0;

  private constructor(
    readonly stack: TestStack,
    readonly database: TestDatabase,
    readonly api: WebsiteApi,
    readonly proxy: CountingProxy,
    private readonly options: WorldOptions,
  ) {}

  static async start(options: WorldOptions = {}): Promise<World> {
    const database = await TestDatabase.create('tideline_gw');
    const stack = new TestStack();
    let api: WebsiteApi | undefined;
    try {
      api = await startWebsiteApi({
        source: {
          env: stack.env({
            TIDELINE_LOG_LEVEL: 'error',
            TIDELINE_WEBSITE_API_PORT: '0',
            TIDELINE_WEBSITE_API_HOST: '127.0.0.1',
            TIDELINE_DATABASE_URL: database.url,
            TIDELINE_WEBSITE_API_RELAY_INTERVAL_MS: '100',
            // Counts of this world only, and no limit: these tests are not about it (website-api's are).
            TIDELINE_WEBSITE_API_WRITE_RATE_LIMIT_KEY_PREFIX: `${stack.namespace}:writes:`,
            TIDELINE_WEBSITE_API_WRITE_RATE_LIMIT_MAX: '1000000',
            ...options.apiEnv,
          }),
        },
      });
      const proxy = await CountingProxy.to(api.url);
      const world = new World(stack, database, api, proxy, options);
      for (let i = 0; i < (options.gateways ?? 1); i++) await world.addGateway();
      return world;
    } catch (error) {
      await api?.stop('start failed');
      await stack[Symbol.asyncDispose]();
      await database[Symbol.asyncDispose]();
      throw error;
    }
  }

  /** The environment a gateway of this world runs with (in process or as a child process). */
  gatewayEnv(overrides: Record<string, string> = {}): Record<string, string> {
    return { TIDELINE_GATEWAY_WEBSITE_API_URL: this.proxy.url, ...this.options.gatewayEnv, ...overrides };
  }

  async addGateway(overrides: Record<string, string> = {}): Promise<RunningPushGateway> {
    const gateway = await this.stack.gateway(this.gatewayEnv(overrides), this.options.gatewayOptions);
    this.gateways.push(gateway);
    return gateway;
  }

  get gateway(): RunningPushGateway {
    return this.gateways[0]!;
  }

  // ---- writing through website-api's public HTTP API ------------------------------------------

  async call<T>(method: 'GET' | 'POST', path: string, body?: unknown, token = tokens.writer): Promise<T> {
    const response = await fetch(this.api.url + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
    return JSON.parse(text) as T;
  }

  private async ensureLineGroup(): Promise<number> {
    if (this.lineGroupId === undefined) {
      const name = `lg-${this.stack.id}`;
      const answer = await this.call<{ data: LineGroup }>('POST', '/api/v1/line-groups/create', {
        name,
        cname: `${name}.cdn.example.net`,
      });
      this.lineGroupId = answer.data.id;
    }
    return this.lineGroupId;
  }

  async createWebsite(overrides: { https_enabled?: boolean } = {}): Promise<WebsiteItem> {
    const lineGroupId = await this.ensureLineGroup();
    const n = ++this.domainSeq;
    const answer = await this.call<{ data: WebsiteItem }>('POST', '/api/v1/websites/create', {
      domains: [`site${n}.w${this.stack.id}.example.com`],
      line_group_id: lineGroupId,
      ...overrides,
    });
    return WebsiteItemSchema.parse(answer.data);
  }

  async updateWebsite(
    websiteId: number,
    changes: { https_enabled?: boolean; status?: string },
  ): Promise<WebsiteItem> {
    const answer = await this.call<{ data: WebsiteItem }>('POST', '/api/v1/websites/update', {
      website_id: websiteId,
      ...changes,
    });
    return WebsiteItemSchema.parse(answer.data);
  }

  async deleteWebsite(websiteId: number): Promise<void> {
    await this.call('POST', '/api/v1/websites/delete', { website_id: websiteId });
  }

  // ---- reading the truth ------------------------------------------------------------------------

  /** Every website as website-api's public list answers it, by id. */
  async databaseList(): Promise<WebsiteItem[]> {
    const all: WebsiteItem[] = [];
    for (let page = 1; page <= 1_000; page++) {
      const answer = await this.call<{ data: WebsiteItem[]; total: number }>(
        'GET',
        `/api/v1/websites?page=${page}&page_size=500`,
      );
      all.push(...answer.data);
      if (all.length >= answer.total || answer.data.length === 0) break;
    }
    return all.sort((a, b) => a.website_id - b.website_id);
  }

  /** The ids of the events logged after `after` (from website-api's replay endpoint). */
  async eventIdsAfter(after: number): Promise<number[]> {
    const answer = WebsitesReplay.parse(
      await this.call(
        'GET',
        `${INTERNAL_PATHS.websitesEvents}?after=${after}&limit=10000`,
        undefined,
        tokens.internal,
      ),
    );
    if (answer.kind !== 'events') throw new Error(`replay fell back: ${answer.reason}`);
    return answer.events.map((event) => event.eventId);
  }

  async lastEventId(): Promise<number> {
    const snapshot = await this.call<{ lastEventId: number }>(
      'GET',
      INTERNAL_PATHS.websitesSnapshot,
      undefined,
      tokens.internal,
    );
    return snapshot.lastEventId;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.api.stop('test done');
    await this.stack[Symbol.asyncDispose]();
    await this.proxy[Symbol.asyncDispose]();
    await this.database[Symbol.asyncDispose]();
  }
}
