import { randomUUID } from 'node:crypto';
import { connect, type TidelineClient } from '@tideline/client';
import { tokenFor, WebsiteApiClient } from './http.ts';
import type { Stack } from './stack.ts';

const WAIT_MS = 30_000;
const POLL_MS = 50;

async function until(what: string, predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`traffic: ${what} did not happen within ${WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * A little of every kind of traffic, so the series of every part exist: an SDK client per gateway
 * following websites and the stack's cluster, a line group and `websites` website creates (seen
 * live by the clients), a label change and a heartbeat on a node (the change seen by the clients).
 * Returns the clients (still connected: close them when done).
 */
export async function driveTraffic(stack: Stack, websites = 2): Promise<TidelineClient[]> {
  const api = new WebsiteApiClient(stack);
  const suffix = randomUUID().slice(0, 8);
  const clients = stack.gatewayUrls.map((url) =>
    connect({
      url,
      token: tokenFor(stack, `metrics-reader-${suffix}`, ['websites:read', 'nodes:read']),
      reconnectDelayMs: { initial: 50, max: 500 },
    }),
  );
  const collections = clients.map((c) => ({ websites: c.websites(), nodes: c.nodes(stack.cluster) }));
  await until('clients live', () => clients.every((c) => c.status === 'live'));
  const lineGroup = await api.createLineGroup(`metrics-${suffix}`, `edge-${suffix}.cdn.example.net`);
  const made: number[] = [];
  for (let i = 0; i < websites; i++)
    made.push((await api.create([`www.m${i}-${suffix}.example.com`], lineGroup)).website_id);
  await until('websites seen live', () =>
    collections.every((c) => made.every((id) => c.websites.get(String(id)) !== undefined)),
  );
  const kube = stack.kube;
  if (kube) {
    const node = kube.nodeNames()[0]!;
    kube.heartbeat(node);
    kube.label(node, 'metrics-check', suffix);
    await until('node label seen live', () =>
      collections.every((c) => c.nodes.get(node)?.dynamic.labels['metrics-check'] === suffix),
    );
  }
  return clients;
}
