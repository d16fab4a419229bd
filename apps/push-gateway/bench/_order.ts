import { createEventBus } from '@tideline/bus';
import { busSettings, loadConfig } from '@tideline/config';

const prefix = `ord${Math.random().toString(36).slice(2, 8)}`;
const mk = (name: string) =>
  createEventBus({
    config: loadConfig(busSettings, { env: { TIDELINE_BUS_PREFIX: prefix } }),
    clientName: name,
  });
const pubBus = mk('pub');
const subBus = mk('sub');
await pubBus.start();
await subBus.start();
const seen: number[] = [];
await subBus.subscribe({
  topic: 'websites',
  group: 'gw-x',
  ephemeral: true,
  startAt: 'new',
  concurrency: 1,
  handler: (m) => {
    seen.push(m.json<{ eventId: number }>().eventId);
  },
});
const N = 2000;
for (let i = 1; i <= N; i++) {
  await pubBus.publish('website.update', { eventId: i }, { msgId: String(i), key: 'websites' });
  if (i % 7 === 0) await new Promise((r) => setTimeout(r, 1));
}
const t = Date.now();
while (seen.length < N && Date.now() - t < 10000) await new Promise((r) => setTimeout(r, 20));
let bad = 0;
for (let i = 0; i < seen.length; i++)
  if (seen[i] !== i + 1) {
    bad++;
    if (bad < 10) console.log('at', i, 'got', seen[i], 'prev', seen[i - 1]);
  }
console.log('seen', seen.length, 'out of place', bad, 'dups', seen.length - new Set(seen).size);
await subBus.drain();
await pubBus.drain();
