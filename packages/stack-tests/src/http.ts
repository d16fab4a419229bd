import { signToken } from '@tideline/auth';
import type { WebsiteItem } from '@tideline/contracts';
import type { Stack } from './stack.ts';

export function tokenFor(stack: Stack, sub: string, scopes: string[], expiresInSeconds = 600): string {
  return signToken({ ...stack.jwt, sub, scopes, expiresInSeconds });
}

/** website-api over HTTP, as any client would call it. */
export class WebsiteApiClient {
  private readonly token: string;
  constructor(private readonly stack: Stack) {
    this.token = tokenFor(stack, 'stack-writer', ['websites:read', 'websites:write']);
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.stack.websiteApiUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await response.json()) as T & { error?: unknown };
    if (!response.ok) throw new Error(`${method} ${path} → ${response.status} ${JSON.stringify(json)}`);
    return json;
  }

  async createLineGroup(name: string, cname: string): Promise<number> {
    return (await this.call<{ data: { id: number } }>('POST', '/api/v1/line-groups/create', { name, cname }))
      .data.id;
  }

  async create(domains: string[], lineGroupId: number): Promise<WebsiteItem> {
    return (
      await this.call<{ data: WebsiteItem }>('POST', '/api/v1/websites/create', {
        domains,
        line_group_id: lineGroupId,
      })
    ).data;
  }

  async update(websiteId: number, changes: Record<string, unknown>): Promise<WebsiteItem> {
    return (
      await this.call<{ data: WebsiteItem }>('POST', '/api/v1/websites/update', {
        website_id: websiteId,
        ...changes,
      })
    ).data;
  }

  async remove(websiteId: number): Promise<void> {
    await this.call('POST', '/api/v1/websites/delete', { website_id: websiteId });
  }

  /** Every website, all pages. */
  async list(): Promise<WebsiteItem[]> {
    const out: WebsiteItem[] = [];
    for (let page = 1; ; page++) {
      const body = await this.call<{ data: WebsiteItem[]; total: number }>(
        'GET',
        `/api/v1/websites?page=${page}&page_size=500`,
      );
      out.push(...body.data);
      if (out.length >= body.total || body.data.length === 0) return out;
    }
  }
}
