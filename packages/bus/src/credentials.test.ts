import { busSettings, ConfigError, loadConfig } from '@tideline/config';
import { describe, expect, it } from 'vitest';
import { kafkaSecurity, natsCredentials } from './factory.ts';
import { natsConnectParts, printableServers } from './nats/credentials.ts';

const config = (env: Record<string, string>) => loadConfig(busSettings, { env });

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('broker credentials from the configuration', () => {
  it('natsConnectParts - user and password in the URL leave the server list (nats.js would not read them)', () => {
    expect(natsConnectParts('nats://u:p%40ss@h:4222')).toEqual({
      servers: ['nats://h:4222'],
      user: 'u',
      pass: 'p@ss',
    });
    expect(natsConnectParts('nats://tok@h:4222')).toEqual({ servers: ['nats://h:4222'], token: 'tok' });
    expect(natsConnectParts('tls://h:4222')).toEqual({ servers: ['tls://h:4222'], tls: {} });
  });

  it('natsConnectParts - configured credentials win over the URL', () => {
    expect(natsConnectParts('nats://u:old@h:4222', { user: 'v', pass: 'new' })).toMatchObject({
      servers: ['nats://h:4222'],
      user: 'v',
      pass: 'new',
    });
  });

  it('printableServers - a server list never prints its credentials', () => {
    expect(printableServers(['nats://u:secret@a:4222', 'nats://tok@b:4222'])).toBe(
      'nats://***@a:4222,nats://***@b:4222',
    );
  });

  it('config - a NATS user without a password is refused, naming the missing variable', () => {
    const error = configError(() => natsCredentials(config({ TIDELINE_NATS_USER: 'u' })));
    expect(error.variable).toBe('TIDELINE_NATS_PASSWORD');
  });

  it('config - a NATS token besides a user is refused without printing the token', () => {
    const error = configError(() =>
      natsCredentials(
        config({ TIDELINE_NATS_USER: 'u', TIDELINE_NATS_PASSWORD: 'p', TIDELINE_NATS_TOKEN: 'tok-secret' }),
      ),
    );
    expect(error.variable).toBe('TIDELINE_NATS_TOKEN');
    expect(error.message).not.toContain('tok-secret');
  });

  it('config - a Kafka SASL mechanism without a password is refused, naming the variable', () => {
    const error = configError(() =>
      kafkaSecurity(
        config({ TIDELINE_KAFKA_SASL_MECHANISM: 'scram-sha-512', TIDELINE_KAFKA_SASL_USERNAME: 'u' }),
      ),
    );
    expect(error.variable).toBe('TIDELINE_KAFKA_SASL_PASSWORD');
  });

  it('kafkaSecurity - SCRAM and TLS settings become client options', () => {
    expect(
      kafkaSecurity(
        config({
          TIDELINE_KAFKA_SASL_MECHANISM: 'scram-sha-256',
          TIDELINE_KAFKA_SASL_USERNAME: 'u',
          TIDELINE_KAFKA_SASL_PASSWORD: 'p',
          TIDELINE_KAFKA_TLS: 'true',
        }),
      ),
    ).toEqual({ sasl: { mechanism: 'SCRAM-SHA-256', username: 'u', password: 'p' }, tls: {} });
    expect(kafkaSecurity(config({}))).toEqual({});
  });
});
