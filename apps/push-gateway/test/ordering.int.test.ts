import { SCOPES } from '@tideline/auth';
import { INTERNAL_PATHS, subjects, WebsitesReplay } from '@tideline/contracts';
import { eventually, FaultProxy, testToken } from '@tideline/test-support';
import { expect, it } from 'vitest';
import { closeAll, connectSocket } from './support/client.ts';
import { WebsitesReplica } from './support/replica.ts';
import { NATS_URL } from './support/stack.ts';
import { tokens, World } from './support/world.ts';

const GAP_WAIT_MS = 300;

it('out of order - a source publishing out of order, and losing an event: every client still gets each event once, in order (invariant 4)', async () => {
  // website-api's relay reaches NATS only through this proxy, cut from the start: its events stay
  // in its log, and the test publishes them itself — out of order, and one of them never.
  await using relayPath = await FaultProxy.to(Number(new URL(NATS_URL).port));
  relayPath.cut();
  await using world = await World.start({
    apiEnv: { TIDELINE_NATS_URL: `nats://127.0.0.1:${relayPath.port}` },
    gatewayEnv: { TIDELINE_GATEWAY_GAP_WAIT_MS: String(GAP_WAIT_MS) },
  });
  const socket = await connectSocket(world.gateway.url, testToken('orderly', [SCOPES.websitesRead]));
  const replica = new WebsitesReplica();
  replica.attach(socket);
  try {
    expect(await socket.emitWithAck('request:websites', {})).toEqual({ ok: true });
    const start = replica.lastEventId;
    for (let i = 0; i < 5; i++) await world.createWebsite();
    const logged = WebsitesReplay.parse(
      await world.call(
        'GET',
        `${INTERNAL_PATHS.websitesEvents}?after=${start}&limit=100`,
        undefined,
        tokens.internal,
      ),
    );
    if (logged.kind !== 'events') throw new Error('expected events');
    const byId = new Map(logged.events.map((event) => [event.eventId, event]));
    expect([...byId.keys()]).toEqual([start + 1, start + 2, start + 3, start + 4, start + 5]);

    const bus = await world.stack.bus();
    const publish = (id: number) =>
      bus.publish(subjects.website(byId.get(id)!.type), byId.get(id)!, {
        msgId: String(id),
        key: 'websites',
      });
    // 2 before 1 (reordered); 3 never (lost); then 4 and 5.
    for (const id of [start + 2, start + 1, start + 4, start + 5]) await publish(id);

    expect(await eventually(() => replica.lastEventId === start + 2, 5_000)).toBe(true);
    expect(replica.updates.map((u) => u.eventId)).toEqual([start + 1, start + 2]);
    // 4 and 5 wait for 3, which the repair replays from website-api's log after the gap wait.
    expect(await eventually(() => replica.lastEventId === start + 5, 5_000)).toBe(true);
    expect(replica.updates.map((u) => u.eventId)).toEqual([
      start + 1,
      start + 2,
      start + 3,
      start + 4,
      start + 5,
    ]);
    expect(replica.violations).toEqual([]);
    expect(replica.list()).toEqual(await world.databaseList());

    // The relay comes back and publishes its backlog: nothing reaches the client twice.
    relayPath.restore();
    const next = await world.createWebsite();
    expect(await eventually(() => replica.items.has(next.website_id), 15_000)).toBe(true);
    expect(replica.updates.map((u) => u.eventId)).toEqual([
      start + 1,
      start + 2,
      start + 3,
      start + 4,
      start + 5,
      start + 6,
    ]);
    expect(replica.violations).toEqual([]);

    const metrics = await (await fetch(`${world.gateway.url}/metrics`)).text();
    expect(metrics).toMatch(
      /tideline_gateway_gap_repairs_total\{feed="websites",outcome="started"[^}]*\} [1-9]/,
    );
    expect(metrics).toMatch(/tideline_gateway_out_of_order_events_total\{feed="websites"[^}]*\} [1-9]/);
    expect(metrics).toMatch(
      /tideline_gateway_syncs_total\{feed="websites",mode="replay",reason="gap"[^}]*\} [1-9]/,
    );
  } finally {
    closeAll([socket]);
  }
});
