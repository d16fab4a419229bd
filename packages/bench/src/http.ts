import http from 'node:http';

/** What a server answered: its status, headers and whole body as text. */
export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  /** Sent as is (JSON.stringify it first). */
  body?: string;
}

/**
 * The load generators' HTTP client: node:http over a keep-alive agent, the whole body read as text.
 *
 * Not `fetch`: undici's WHATWG layer costs ~130 µs more CPU per request than node:http on this
 * machine (8 clients, a small JSON POST: ~180 vs ~50 µs per request for client and server
 * together), several times what a service under test spends on a write. On two cores that CPU is
 * taken from the processes being measured, so the load generator must be as lean as the baselines'
 * own clients (`pg`, redis-benchmark).
 */
export class BenchHttpClient {
  private readonly agent: http.Agent;

  /** `maxSockets`: connections per host, at least the number of concurrent clients. */
  constructor(options: { maxSockets: number }) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets });
  }

  async request(url: string, init: HttpRequest = {}): Promise<HttpAnswer> {
    try {
      return await this.send(url, init);
    } catch (error) {
      // A kept-alive connection the server closed as it was reused: nothing was answered, so the
      // request is sent once more on a new one (what Node's docs advise for `reusedSocket`).
      if ((error as { reusedSocket?: boolean }).reusedSocket !== true) throw error;
      return this.send(url, init);
    }
  }

  /** The answer's body parsed as JSON, beside its status. */
  async json<T = unknown>(url: string, init: HttpRequest = {}): Promise<{ status: number; body: T }> {
    const answer = await this.request(url, init);
    return { status: answer.status, body: JSON.parse(answer.body) as T };
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private send(url: string, init: HttpRequest): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const request = http.request(
        url,
        { method: init.method ?? 'GET', headers: init.headers ?? {}, agent: this.agent },
        (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            body += chunk;
          });
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
          );
          response.on('error', reject);
        },
      );
      request.on('error', (error) => {
        reject(Object.assign(error, { reusedSocket: request.reusedSocket }));
      });
      request.end(init.body);
    });
  }
}
