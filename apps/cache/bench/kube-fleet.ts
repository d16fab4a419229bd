/**
 * The benchmark's Kubernetes API servers, in a process of their own (a real API server is not in
 * the informer's process either). Driven over IPC by nodes.bench.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeTestServer } from '@tideline/kube-test-server';

type Command =
  | { cmd: 'start'; clusters: number; nodes: number; historyWindow: number }
  | { cmd: 'heartbeats'; rounds: number }
  | { cmd: 'changes'; perCluster: number }
  | { cmd: 'counters' }
  | { cmd: 'stop' };

const servers: { name: string; server: KubeTestServer }[] = [];
const dir = mkdtempSync(join(tmpdir(), 'tideline-bench-kube-'));
const send = (message: unknown) => process.send?.(message);
let flip = 0;

process.on('message', async (message: Command) => {
  switch (message.cmd) {
    case 'start': {
      const entries: string[] = [];
      for (let i = 0; i < message.clusters; i++) {
        const name = `bench-${String(i).padStart(2, '0')}`;
        const server = await KubeTestServer.start({
          historyWindow: message.historyWindow,
          bookmarkIntervalMs: 5_000,
        });
        server.addNodes(message.nodes);
        servers.push({ name, server });
        entries.push(`${name}=${server.writeKubeconfig(join(dir, `${name}.yaml`), { cluster: name })}`);
      }
      send({
        entries,
        urls: servers.map((s) => s.server.url),
        token: servers[0]?.server.token,
        tokens: servers.map((s) => s.server.token),
      });
      break;
    }
    case 'heartbeats': {
      const started = performance.now();
      let updates = 0;
      for (let round = 0; round < message.rounds; round++) {
        for (const { server } of servers) updates += server.heartbeatAll();
        await new Promise((resolve) => setImmediate(resolve));
      }
      send({ updates, ms: performance.now() - started });
      break;
    }
    case 'changes': {
      let changes = 0;
      flip += 1;
      for (const { server } of servers) {
        const names = server.nodeNames();
        for (let i = 0; i < message.perCluster; i++) {
          server.label(names[(i * 37 + flip) % names.length]!, 'bench/flip', String(flip));
          changes += 1;
        }
      }
      send({ changes });
      break;
    }
    case 'counters':
      send({ counters: servers.map((s) => ({ name: s.name, ...s.server.counters })) });
      break;
    case 'stop':
      for (const { server } of servers) await server.close();
      rmSync(dir, { recursive: true, force: true });
      send({ stopped: true });
      process.exit(0);
  }
});
send({ ready: true });
