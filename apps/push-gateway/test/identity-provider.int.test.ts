import { SCOPES } from '@tideline/auth';
import { TestIdentityProvider } from '@tideline/auth/testing';
import type { Ack, WebsitesInitial, WebsitesUpdate } from '@tideline/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, connectSocket, openSocket, refused, type TestSocket } from './support/client.ts';
import { World } from './support/world.ts';

/** Service tokens between gateway and website-api have a key of their own: users' keys live at the identity provider. */
const SERVICE_SECRET = 'a-service-secret-for-this-test-of-32-bytes+';

let idp: TestIdentityProvider;
let world: World;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  idp = await TestIdentityProvider.start();
  world = await World.start({
    gateways: 0,
    // website-api keeps /internal/* on its management listener; the gateway is pointed there.
    apiEnv: { TIDELINE_MANAGEMENT_PORT: '0', TIDELINE_SERVICE_JWT_SECRET: SERVICE_SECRET },
  });
  await world.addGateway({
    TIDELINE_GATEWAY_WEBSITE_API_URL: world.api.managementUrl!,
    TIDELINE_SERVICE_JWT_SECRET: SERVICE_SECRET,
    TIDELINE_JWT_JWKS_URL: idp.jwksUrl,
    // Refetch at once on an unknown kid, so the rotation is seen by the next token.
    TIDELINE_JWT_JWKS_COOLDOWN_MS: '0',
    TIDELINE_JWT_SCOPE_CLAIM: 'scp',
  });
});

afterAll(async () => {
  closeAll(sockets);
  await world?.[Symbol.asyncDispose]();
  await idp?.close();
});

function initialOf(socket: TestSocket): Promise<WebsitesInitial> {
  return new Promise((resolve) => socket.once('websites:initial', resolve));
}

describe('tokens of an identity provider (JWKS)', () => {
  it('jwks rotation - mid-session auth:refresh with a token of the new key succeeds; a token of a key no longer published is refused', async () => {
    const website = await world.createWebsite();
    const first = await idp.createKey('RS256');
    idp.publish(first);
    const scp = { scp: [SCOPES.websitesRead] };

    // Scopes in an array claim (`scp`) authorise the session.
    const socket = await connectSocket(world.gateway.url, await idp.sign(first, { sub: 'ann', claims: scp }));
    sockets.push(socket);
    const initial = initialOf(socket);
    expect(await socket.emitWithAck('request:websites', {})).toEqual({ ok: true });
    expect((await initial).items.map((item) => item.website_id)).toContain(website.website_id);

    // The provider rotates: the new key is published, the old one withdrawn.
    const second = await idp.createKey('ES256');
    idp.publish(second);
    const refreshed: Ack = await socket.emitWithAck('auth:refresh', {
      token: await idp.sign(second, { sub: 'ann', claims: scp }),
    });
    expect(refreshed).toEqual({ ok: true });
    // The session goes on under the new key: a website created now reaches it live (asking for a
    // snapshot again this soon would meet the re-snapshot limit, which is not what this test is about).
    const updates: WebsitesUpdate[] = [];
    socket.on('websites:update', (update: WebsitesUpdate) => updates.push(update));
    const later = await world.createWebsite();
    await expect
      .poll(() => updates.find((u) => u.type === 'add' && u.data.website_id === later.website_id)?.eventId)
      .toBeGreaterThan((await initial).lastEventId);

    const withdrawn = await idp.sign(first, { sub: 'ann', claims: scp });
    const stale: Ack = await socket.emitWithAck('auth:refresh', { token: withdrawn });
    expect(stale).toMatchObject({ ok: false, code: 'UNAUTHORIZED', event: 'auth:refresh' });
    const error = await refused(openSocket(world.gateway.url, withdrawn));
    expect(error.data).toEqual({ code: 'UNAUTHORIZED', reason: 'bad-signature' });
    expect(socket.connected).toBe(true);
  });

  it('scp array - a token whose scopes come in an array claim is authorised', async () => {
    const website = await world.createWebsite();
    const kid = await idp.createKey('RS256');
    idp.publish(kid);
    const socket = await connectSocket(
      world.gateway.url,
      await idp.sign(kid, { sub: 'dana', claims: { scp: [SCOPES.websitesRead] } }),
    );
    sockets.push(socket);
    const initial = initialOf(socket);
    expect(await socket.emitWithAck('request:websites', {})).toEqual({ ok: true });
    expect((await initial).items.map((item) => item.website_id)).toContain(website.website_id);
  });

  it('scp array - a token without websites:read in its array claim is refused the websites feed', async () => {
    const kid = await idp.createKey('ES256');
    idp.publish(kid);
    const socket = await connectSocket(
      world.gateway.url,
      await idp.sign(kid, { sub: 'bob', claims: { scp: [SCOPES.nodesRead], scope: SCOPES.websitesRead } }),
    );
    sockets.push(socket);
    expect(await socket.emitWithAck('request:websites', {})).toMatchObject({ ok: false, code: 'FORBIDDEN' });
  });

  it('jwks unreachable - handshakes are refused with UNAUTHORIZED/keys-unavailable, nothing secret in the answer', async () => {
    const kid = await idp.createKey('RS256');
    idp.publish(kid);
    idp.down = true;
    try {
      const error = await refused(openSocket(world.gateway.url, await idp.sign(kid, { sub: 'carol' })));
      expect(error.data).toEqual({ code: 'UNAUTHORIZED', reason: 'keys-unavailable' });
      expect(error.message).not.toContain(idp.jwksUrl);
    } finally {
      idp.down = false;
    }
  });
});
