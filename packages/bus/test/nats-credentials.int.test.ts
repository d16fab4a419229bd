import { randomUUID } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { busSettings, loadConfig } from '@tideline/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusUnavailableError } from '../src/errors.ts';
import { createEventBus } from '../src/factory.ts';
import { NatsEventBus } from '../src/nats/nats-bus.ts';
import { type TestCertificates, testCertificates } from '../src/testing/certificates.ts';
import { busContractSuite } from '../src/testing/contract-suite.ts';
import { eventually } from '../src/testing/wait.ts';
import type { BusMessage, EventBus } from '../src/types.ts';
import { PrivateNatsServer } from './support/private-nats.ts';

const START_TIMEOUT_MS = 10_000;
const DELIVERY_TIMEOUT_MS = 5_000;
const USER = 'tideline';
const PASSWORD = `pw-${randomUUID()}`;
const TOKEN = `tok-${randomUUID()}`;
const WRONG = `wrong-${randomUUID()}`;

function prefix(): string {
  return `auth${randomUUID().replaceAll('-', '').slice(0, 10)}`;
}

/** A bus the way a service builds it: from the TIDELINE_* environment. */
function busFromEnv(env: Record<string, string>): EventBus {
  const config = loadConfig(busSettings, { env: { TIDELINE_BUS_PREFIX: prefix(), ...env } });
  return createEventBus({ config, clientName: 'credentials-test' });
}

async function startError(bus: EventBus): Promise<Error> {
  try {
    await bus.start();
  } catch (error) {
    return error as Error;
  } finally {
    await bus.drain().catch(() => undefined);
  }
  throw new Error('expected the bus to be refused');
}

/** Publishes one website.update through `bus` and waits until a subscriber of the same bus has it. */
async function roundTrip(bus: EventBus): Promise<BusMessage[]> {
  const seen: BusMessage[] = [];
  await bus.start();
  try {
    await bus.subscribe({ topic: 'websites', group: 'g', handler: (m) => void seen.push(m) });
    await bus.publish('website.update', { websiteId: 'w1' }, { msgId: randomUUID() });
    await eventually(() => seen.length === 1, DELIVERY_TIMEOUT_MS);
    return seen;
  } finally {
    await bus.drain();
  }
}

describe('NATS that requires a user and password', () => {
  let server: PrivateNatsServer;
  beforeAll(async () => {
    server = await PrivateNatsServer.start({
      auth: { user: USER, pass: PASSWORD },
      startTimeoutMs: START_TIMEOUT_MS,
    });
  });
  afterAll(async () => {
    await server?.[Symbol.asyncDispose]();
  });

  it('nats - a client without credentials cannot publish a forged website.update', async () => {
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow(
      /Authorization Violation/i,
    );
    const error = await startError(busFromEnv({ TIDELINE_NATS_URL: server.url }));
    expect(error).toBeInstanceOf(BusUnavailableError);
    expect(error.message).toMatch(
      /cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+: .*Authorization Violation/i,
    );
  });

  it('nats - a wrong password is refused with an error that carries neither password', async () => {
    const error = await startError(
      busFromEnv({ TIDELINE_NATS_URL: server.url, TIDELINE_NATS_USER: USER, TIDELINE_NATS_PASSWORD: WRONG }),
    );
    expect(error).toBeInstanceOf(BusUnavailableError);
    expect(error.message).toMatch(/Authorization Violation/i);
    expect(`${error.message} ${String(error.cause)}`).not.toContain(WRONG);
    expect(`${error.message} ${String(error.cause)}`).not.toContain(PASSWORD);
  });

  it('nats - a wrong password in TIDELINE_NATS_URL is refused and never printed', async () => {
    const error = await startError(
      busFromEnv({ TIDELINE_NATS_URL: `nats://${USER}:${WRONG}@127.0.0.1:${server.port}` }),
    );
    expect(error.message).toMatch(/Authorization Violation/i);
    expect(error.message).not.toContain(WRONG);
    expect(error.message).toContain('nats://***@127.0.0.1');
  });

  it('nats - the configured user and password publish and consume', async () => {
    const seen = await roundTrip(
      busFromEnv({
        TIDELINE_NATS_URL: server.url,
        TIDELINE_NATS_USER: USER,
        TIDELINE_NATS_PASSWORD: PASSWORD,
      }),
    );
    expect(seen.map((m) => m.subject)).toEqual(['website.update']);
  });

  it('nats - a user and password in TIDELINE_NATS_URL publish and consume', async () => {
    const seen = await roundTrip(
      busFromEnv({
        TIDELINE_NATS_URL: `nats://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${server.port}`,
      }),
    );
    expect(seen).toHaveLength(1);
  });

  // The whole contract, on a server that refuses anyone without the credentials.
  busContractSuite({
    name: 'nats with user and password',
    create: (options) =>
      new NatsEventBus({ ...options, servers: server.url, credentials: { user: USER, pass: PASSWORD } }),
  });
});

describe('NATS that requires a token', () => {
  let server: PrivateNatsServer;
  beforeAll(async () => {
    server = await PrivateNatsServer.start({ auth: { token: TOKEN }, startTimeoutMs: START_TIMEOUT_MS });
  });
  afterAll(async () => {
    await server?.[Symbol.asyncDispose]();
  });

  it('nats - a client with a wrong token cannot connect, and the error does not carry it', async () => {
    const error = await startError(busFromEnv({ TIDELINE_NATS_URL: server.url, TIDELINE_NATS_TOKEN: WRONG }));
    expect(error).toBeInstanceOf(BusUnavailableError);
    expect(error.message).toMatch(/Authorization Violation/i);
    expect(`${error.message} ${String(error.cause)}`).not.toContain(WRONG);
  });

  it('nats - the configured token publishes and consumes', async () => {
    const seen = await roundTrip(busFromEnv({ TIDELINE_NATS_URL: server.url, TIDELINE_NATS_TOKEN: TOKEN }));
    expect(seen).toHaveLength(1);
  });

  it('nats - a token in TIDELINE_NATS_URL publishes and consumes', async () => {
    const seen = await roundTrip(
      busFromEnv({ TIDELINE_NATS_URL: `nats://${TOKEN}@127.0.0.1:${server.port}` }),
    );
    expect(seen).toHaveLength(1);
  });
});

describe('NATS over TLS with a user and password', () => {
  let server: PrivateNatsServer;
  let certificates: TestCertificates;
  let otherAuthority: TestCertificates;
  beforeAll(async () => {
    certificates = testCertificates();
    otherAuthority = testCertificates();
    server = await PrivateNatsServer.start({
      auth: { user: USER, pass: PASSWORD },
      startTimeoutMs: START_TIMEOUT_MS,
      tls: { certFile: certificates.certFile, keyFile: certificates.keyFile },
    });
  });
  afterAll(async () => {
    await server?.[Symbol.asyncDispose]();
    await certificates?.[Symbol.asyncDispose]();
    await otherAuthority?.[Symbol.asyncDispose]();
  });

  const tlsUrl = () => `tls://127.0.0.1:${server.port}`;

  it('nats - tls:// with the configured CA verifies the server, then the user publishes and consumes', async () => {
    const seen = await roundTrip(
      busFromEnv({
        TIDELINE_NATS_URL: tlsUrl(),
        TIDELINE_NATS_TLS_CA_FILE: certificates.caFile,
        TIDELINE_NATS_USER: USER,
        TIDELINE_NATS_PASSWORD: PASSWORD,
      }),
    );
    expect(seen).toHaveLength(1);
  });

  it('nats - a server whose certificate the configured CA did not sign is refused (no credentials sent to an impostor)', async () => {
    const error = await startError(
      busFromEnv({
        TIDELINE_NATS_URL: tlsUrl(),
        TIDELINE_NATS_TLS_CA_FILE: otherAuthority.caFile,
        TIDELINE_NATS_USER: USER,
        TIDELINE_NATS_PASSWORD: PASSWORD,
      }),
    );
    expect(error).toBeInstanceOf(BusUnavailableError);
    expect(error.message).toMatch(/certificate/i);
    expect(error.message).not.toContain(PASSWORD);
  });
});
