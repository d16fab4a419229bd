import { issuesOf } from '@tideline/contracts';
import { currentTraceCarrier, inSpan, SpanKind } from '@tideline/runtime';
import type { z } from 'zod';
import { SourceNotFoundError, SourceUnavailableError } from '../domain/errors.ts';
import type { SourceBreaker } from './source-breaker.ts';

export interface InternalHttpClientOptions {
  /** Base URL of the service, e.g. `http://127.0.0.1:3001`. */
  baseUrl: string;
  /** The bearer token to present (a service token with scope `internal`). */
  token: () => string;
  timeoutMs: number;
  /** Called once per request with its outcome, for metrics. */
  onResponse?: (path: string, outcome: 'ok' | 'not-found' | 'error') => void;
  /** Every request goes through it: while it is open, requests fail at once without being sent. */
  breaker?: SourceBreaker;
}

type Query = Record<string, string | number | undefined>;

/**
 * GETs another service's `/internal/*` endpoints and validates the answer with its contract.
 * Every failure is typed: the service is unreachable, slow, erroring or answering garbage →
 * {@link SourceUnavailableError}; 404 → {@link SourceNotFoundError}.
 */
export class InternalHttpClient {
  constructor(private readonly options: InternalHttpClientOptions) {}

  /**
   * Through the breaker (when given): while it is open, the call fails at once without being sent.
   * One CLIENT span per call (when tracing is on); its trace context travels in the request headers.
   */
  get<S extends z.ZodType>(path: string, query: Query, schema: S): Promise<z.output<S>> {
    return inSpan(
      `GET ${path}`,
      { kind: SpanKind.CLIENT, attributes: { 'http.request.method': 'GET', 'url.path': path } },
      () => {
        const breaker = this.options.breaker;
        return breaker
          ? breaker.execute(() => this.fetchValidated(path, query, schema))
          : this.fetchValidated(path, query, schema);
      },
    );
  }

  private async fetchValidated<S extends z.ZodType>(
    path: string,
    query: Query,
    schema: S,
  ): Promise<z.output<S>> {
    const url = new URL(path, this.options.baseUrl);
    for (const [name, value] of Object.entries(query))
      if (value !== undefined) url.searchParams.set(name, String(value));
    let response: Response;
    try {
      response = await fetch(url, {
        headers: {
          authorization: `Bearer ${this.options.token()}`,
          accept: 'application/json',
          ...currentTraceCarrier(),
        },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      this.options.onResponse?.(path, 'error');
      throw new SourceUnavailableError(`GET ${url.pathname} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (response.status === 404) {
      await response.body?.cancel();
      this.options.onResponse?.(path, 'not-found');
      throw new SourceNotFoundError(`GET ${url.pathname} answered 404`);
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      this.options.onResponse?.(path, 'error');
      throw new SourceUnavailableError(`GET ${url.pathname} answered ${response.status} without JSON`, {
        cause: error,
        status: response.status,
      });
    }
    if (!response.ok) {
      this.options.onResponse?.(path, 'error');
      throw new SourceUnavailableError(
        `GET ${url.pathname} answered ${response.status}: ${JSON.stringify(body).slice(0, 200)}`,
        { status: response.status },
      );
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      this.options.onResponse?.(path, 'error');
      const fields = issuesOf(parsed.error)
        .slice(0, 5)
        .map((f) => `${f.path || '(root)'}: ${f.message}`)
        .join('; ');
      throw new SourceUnavailableError(`GET ${url.pathname} answered outside its contract: ${fields}`);
    }
    this.options.onResponse?.(path, 'ok');
    return parsed.data;
  }
}
