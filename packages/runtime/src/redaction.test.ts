import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createHttpServer } from './http.ts';
import { createLogger } from './logger.ts';
import { createMetrics, Gauge } from './metrics.ts';
import { Readiness } from './readiness.ts';

const PASSWORD = 'hunter2';

function capture() {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  const logger = createLogger({ service: 'test', level: 'info', destination: stream });
  return { logger, text: () => lines.join('\n'), lines };
}

describe('secrets in logs', () => {
  it('logs - an error carrying a URL with credentials is logged redacted', () => {
    const { logger, text, lines } = capture();
    const cause = new Error(`AUTH failed for nats://tideline:${PASSWORD}@nats:4222`);
    const error = Object.assign(
      new Error(`connect ECONNREFUSED redis://:${PASSWORD}@10.0.0.7:6379`, { cause }),
      { url: `postgresql://postgres:${PASSWORD}@db:5432/tideline` },
    );
    logger.error({ err: error }, 'redis failed');
    logger.warn({ error }, 'again, under `error`');
    expect(lines).toHaveLength(2);
    expect(text()).not.toContain(PASSWORD);
    const first = JSON.parse(lines[0]!) as { err: { message: string; url: string; stack: string } };
    expect(first.err.message).toContain('redis://***@10.0.0.7:6379');
    expect(first.err.url).toBe('postgresql://***@db:5432/tideline');
    expect(first.err.stack).toContain('nats://***@nats:4222');
  });

  it('logs - a message or URL field naming a URL with credentials is logged redacted', () => {
    const { logger, text } = capture();
    logger.info(
      { url: `rediss://default:${PASSWORD}@cache:6380` },
      `connecting to nats://${PASSWORD}@nats:4222`,
    );
    logger.info(`token in a query: http://h/x?access_token=${PASSWORD}`);
    expect(text()).not.toContain(PASSWORD);
    expect(text()).toContain('rediss://***@cache:6380');
  });

  it('logs - password, token and secret settings fields and authorization headers are censored', () => {
    const { logger, text } = capture();
    logger.info(
      {
        password: PASSWORD,
        config: {
          redisPassword: PASSWORD,
          jwtSecret: PASSWORD,
          natsToken: PASSWORD,
          kafkaSaslPassword: PASSWORD,
        },
        req: { headers: { authorization: `Bearer ${PASSWORD}` } },
      },
      'start',
    );
    expect(text()).not.toContain(PASSWORD);
    expect(JSON.parse(text()).config.redisPassword).toBe('***');
  });
});

describe('secrets in metrics', () => {
  it('metrics - a label value carrying a URL with credentials is exposed redacted on /metrics', async () => {
    const registry = createMetrics('test');
    const gauge = new Gauge({
      name: 'tideline_test_upstream_up',
      help: 'test gauge',
      labelNames: ['target'] as const,
      registers: [registry],
    });
    gauge.set({ target: `redis://:${PASSWORD}@cache:6379` }, 1);
    gauge.set({ target: `nats://u:${PASSWORD}@nats:4222` }, 1);
    const http = createHttpServer({
      logger: createLogger({ service: 'test', level: 'silent' }),
      metrics: registry,
      readiness: new Readiness(1_000),
      bodyLimitBytes: 1024,
    });
    try {
      const response = await http.inject({ method: 'GET', url: '/metrics' });
      expect(response.statusCode).toBe(200);
      expect(response.body).not.toContain(PASSWORD);
      expect(response.body).toContain('tideline_test_upstream_up{target="redis://***@cache:6379"');
      expect(response.body).toContain('tideline_test_upstream_up{target="nats://***@nats:4222"');
    } finally {
      await http.close();
    }
  });
});
