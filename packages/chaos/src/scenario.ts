import { randomUUID } from 'node:crypto';
import { signToken } from '@tideline/auth';
import { type ConfigOf, chaosSettings, loadConfig } from '@tideline/config';
import { type CheckFailure, type CheckReport, checkHistory, formatReport } from './checker.ts';
import { RecordingClient } from './recorder.ts';
import { createRng, type Rng } from './rng.ts';
import { type BusKind, type ChaosStack, type ChaosStackOptions, startChaosStack } from './stack.ts';
import { LocalTruth, type TruthSource } from './truth.ts';
import { runWriters, type WriteRecord } from './writers.ts';

export type ChaosSettings = ConfigOf<typeof chaosSettings>;

/** The chaos settings from the environment (TIDELINE_CHAOS_*), defaults otherwise. */
export function loadChaosSettings(env: Record<string, string | undefined> = process.env): ChaosSettings {
  return loadConfig(chaosSettings, { env });
}

/** One fault of a run, with when it struck and healed, and how long until every client was live again. */
export interface FaultRecord {
  label: string;
  /** The feed the fault interrupts ('websites' or 'nodes'): live again means an update of it; unset: any update. */
  feed?: 'websites' | 'nodes';
  injectedAt: number;
  healedAt?: number;
  /** From the heal until every client had received a delivery again (ms); undefined if one never did. */
  liveAgainMs?: number;
}

/** What a fault function may use. */
export interface ScenarioContext {
  stack: ChaosStack;
  rng: Rng;
  settings: ChaosSettings;
  /** The recorded clients (all judged by the checker). */
  clients: RecordingClient[];
  /**
   * Marks a fault as injected now (counted in the summary). `feed`: the feed it interrupts, whose
   * next update after the heal means "live again" (default: any update).
   */
  inject(label: string, feed?: 'websites' | 'nodes'): void;
  /** Marks the last injected fault healed now: "time until live again" is measured from here. */
  healed(): void;
  /** Another recorded client, judged like the others (e.g. one that syncs during an outage), on gateway `gateway`. */
  addClient(gateway?: number): RecordingClient;
  /**
   * True once no more writes can come before the heal: every writer waits at the hold point (or
   * all writes were sent). A fault that waits for writes during its outage must also stop waiting
   * then, or it waits for writers that wait for it.
   */
  writersHeld(): boolean;
  /** Aborted when the fault outlived its bound: the run has given up on it, so it must not go on (waitFor throws). */
  signal: AbortSignal;
  /** Polls `condition` every poll interval until true, or throws after `timeoutMs` (default: the fault timeout) or once `signal` aborts. */
  waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs?: number): Promise<void>;
  /** A scenario-specific check: a line in the report; a false one fails the verdict. */
  check(ok: boolean, text: string): void;
  /** A value of a Prometheus metric at `url`/metrics (labels must all match), undefined if absent. */
  metric(url: string, name: string, labels?: Record<string, string>): Promise<number | undefined>;
  /** Samples a metric every poll interval until the returned stop is called; resolves to the values seen. */
  sampleMetric(url: string, name: string, labels?: Record<string, string>): () => Promise<number[]>;
  log(line: string): void;
}

export type FaultFn = (stack: ChaosStack, rng: Rng, context: ScenarioContext) => Promise<void>;

export interface ScenarioOptions {
  name: string;
  /** The transport when the runner starts its own stack (default: TIDELINE_BUS, else nats). */
  bus?: BusKind;
  seed: number;
  /** Writes to send in all. */
  writes: number;
  writers?: number;
  clients?: number;
  fault?: FaultFn;
  /** Run on this stack (left running); without it the runner starts one with `stackOptions` and stops it. */
  stack?: ChaosStack;
  stackOptions?: ChaosStackOptions;
  /** Where the truth comes from (default: {@link LocalTruth} of the stack). */
  truth?: TruthSource;
  settings?: Partial<ChaosSettings>;
  /** Where lines go as the run proceeds (default: nowhere; the report holds them). */
  log?: (line: string) => void;
}

export interface ScenarioReport extends CheckReport {
  name: string;
  bus: BusKind;
  seed: number;
  faults: FaultRecord[];
  writes: WriteRecord[];
  durationMs: number;
  /** One line per check, the smallest failing segment, the summary line. */
  text: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A value of a Prometheus text exposition; labels must all match. */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** The Kubernetes test server changing nodes at a set rate (cordon, labels, taints, readiness, add/delete) until stopped. */
function changeNodes(stack: ChaosStack, rng: Rng, intervalMs: number): { stop(): Promise<number> } {
  let running = true;
  let changes = 0;
  let added = 0;
  const loop = (async () => {
    while (running) {
      const names = stack.kube.nodeNames();
      const name = rng.pick(names);
      const roll = rng.next();
      if (roll < 0.2) {
        if (stack.kube.getNode(name)?.spec.unschedulable) stack.kube.uncordon(name);
        else stack.kube.cordon(name);
      } else if (roll < 0.45) stack.kube.label(name, 'chaos-tier', rng.pick(['a', 'b', 'c', 'd']));
      else if (roll < 0.6) {
        if (stack.kube.getNode(name)?.spec.taints?.some((t) => t.key === 'chaos'))
          stack.kube.untaint(name, 'chaos');
        else stack.kube.taint(name, { key: 'chaos', value: 'x', effect: 'NoSchedule' });
      } else if (roll < 0.85)
        stack.kube.setCondition(name, 'Ready', rng.pick(['True', 'False'] as const), 'Chaos');
      else if (roll < 0.93 && names.length < 9) {
        // A shared stack outlives a run: an earlier run with the same seed may have added this name.
        const node = `chaos-node-${++added}-${rng.int(0, 1e6)}`;
        if (!stack.kube.getNode(node)) stack.kube.addNode(node);
      } else if (names.length > 4) stack.kube.deleteNode(name);
      changes += 1;
      await sleep(intervalMs);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return changes;
    },
  };
}

/**
 * One chaos scenario: recorded clients spread over the gateways, writers on the HTTP API, the test
 * cluster changing nodes; the fault strikes once `chaosFaultAtPercent` of the writes were sent (the
 * writers hold at `chaosHoldAtPercent` until it healed); then every client must catch up and the
 * checker judges the whole history against the truth.
 */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioReport> {
  const settings: ChaosSettings = { ...loadChaosSettings(), ...options.settings };
  const started = performance.now();
  const lines: string[] = [];
  const log = (line: string) => {
    lines.push(line);
    options.log?.(line);
  };
  /** A phase of the run with its time since the start (where the minutes go, in the report). */
  const phase = (what: string) => log(`  +${Math.round(performance.now() - started)} ms ${what}`);
  const ownStack = !options.stack;
  const stack =
    options.stack ??
    (await startChaosStack({ ...options.stackOptions, ...(options.bus ? { bus: options.bus } : {}) }));
  const truth =
    options.truth ??
    new LocalTruth({ databaseUrl: stack.databaseUrl, busEnv: stack.busEnv, kube: stack.kube });
  const rng = createRng(options.seed);
  const clients: RecordingClient[] = [];
  const faults: FaultRecord[] = [];
  const extra: { ok: boolean; text: string }[] = [];
  const token = (sub: string, scopes: string[]) =>
    signToken({ ...stack.jwt, sub, scopes, expiresInSeconds: 3_600 });
  const readerToken = token('chaos-reader', ['websites:read', 'nodes:read']);
  const addClient = (gateway = clients.length % stack.gatewayUrls.length): RecordingClient => {
    const urls = stack.gatewayUrls.map(
      (_, i) => stack.gatewayUrls[(gateway + i) % stack.gatewayUrls.length]!,
    );
    const client = new RecordingClient({
      name: `c${clients.length + 1}`,
      urls,
      token: readerToken,
      websites: true,
      clusters: [stack.cluster],
      reconnectDelayMs: { initial: settings.chaosReconnectDelayMs, max: settings.chaosReconnectMaxDelayMs },
    });
    clients.push(client);
    return client;
  };
  const waitFor = async (
    what: string,
    condition: () => boolean | Promise<boolean>,
    timeoutMs = settings.chaosFaultTimeoutMs,
  ) => {
    const deadline = performance.now() + timeoutMs;
    while (!(await condition())) {
      if (faultAbort.signal.aborted)
        throw new Error(`${options.name}: ${what}: abandoned, the fault outlived its bound`);
      if (performance.now() >= deadline)
        throw new Error(`${options.name}: ${what} not within ${timeoutMs} ms`);
      await sleep(settings.chaosPollIntervalMs);
    }
  };
  const metric = async (url: string, name: string, labels?: Record<string, string>) => {
    try {
      return metricValue(await (await fetch(`${url}/metrics`)).text(), name, labels);
    } catch {
      return undefined;
    }
  };
  const writerCount = options.writers ?? settings.chaosWriters;
  let writersWaiting = 0;
  let writesDone = false;
  const faultAbort = new AbortController();
  const context: ScenarioContext = {
    stack,
    rng,
    settings,
    clients,
    inject: (label, feed) => {
      faults.push({ label, injectedAt: performance.now(), ...(feed ? { feed } : {}) });
      phase(`fault: ${label}`);
    },
    healed: () => {
      const fault = faults.at(-1);
      if (fault && fault.healedAt === undefined) {
        fault.healedAt = performance.now();
        phase(`healed: ${fault.label}`);
      }
      releaseWriters();
    },
    addClient,
    writersHeld: () => writesDone || writersWaiting >= writerCount,
    signal: faultAbort.signal,
    waitFor,
    check: (ok, text) => {
      extra.push({ ok, text: `${ok ? 'ok  ' : 'FAIL'} ${text}` });
    },
    metric,
    sampleMetric: (url, name, labels) => {
      const seen: number[] = [];
      let running = true;
      const loop = (async () => {
        while (running) {
          const value = await metric(url, name, labels);
          if (value !== undefined && seen.at(-1) !== value) seen.push(value);
          await sleep(settings.chaosPollIntervalMs);
        }
      })();
      // Stopping takes one last sample, so the sequence ends with the value at the moment of the
      // stop (the loop's last sample may be a poll interval old).
      return async () => {
        running = false;
        await loop;
        const last = await metric(url, name, labels);
        if (last !== undefined && seen.at(-1) !== last) seen.push(last);
        return seen;
      };
    },
    log,
  };

  // Writers past the hold point wait for the heal (or the end of the fault function), not for the
  // checks a fault function makes after healing: writes must follow the heal at once.
  let releaseWriters: () => void = () => {};
  const writersReleased = new Promise<void>((resolve) => {
    releaseWriters = resolve;
  });
  let faultError: unknown;
  let writes: WriteRecord[] = [];
  let nodeChanges = 0;
  try {
    log(`${options.name} (bus ${stack.bus}, seed ${options.seed}, ${options.writes} writes)`);
    const lineGroupId = await createLineGroup(
      stack,
      token('chaos-writer', ['websites:read', 'websites:write']),
      options.name,
    );
    for (let i = 0; i < (options.clients ?? settings.chaosClients); i++) addClient();
    await waitFor('every client live', () => clients.every((c) => c.sdk.status === 'live'));
    phase('clients live; writers and node changes start');

    const nodes = changeNodes(stack, rng.fork(), settings.chaosNodeChangeIntervalMs);
    const faultAt = Math.floor((options.writes * settings.chaosFaultAtPercent) / 100);
    const holdAt = Math.max(faultAt, Math.floor((options.writes * settings.chaosHoldAtPercent) / 100));
    let faultRun: Promise<void> | undefined;
    const startFault = () => {
      if (faultRun || !options.fault) return;
      const fault = options.fault;
      faultRun = (async () => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const running = fault(stack, rng.fork(), context);
        try {
          await Promise.race([
            running,
            new Promise((_, reject) => {
              timer = setTimeout(
                () => reject(new Error(`the fault did not finish within ${settings.chaosFaultTimeoutMs} ms`)),
                settings.chaosFaultTimeoutMs,
              );
            }),
          ]);
        } catch (error) {
          faultError = error;
          // Given up on: stop it at its next wait, and let it end before the run goes on, so it
          // cannot restart a broker in the background while the history is checked.
          faultAbort.abort();
          await running.catch(() => {});
        } finally {
          clearTimeout(timer);
          context.healed();
        }
      })();
    };
    if (faultAt === 0) startFault();
    writes = await runWriters({
      websiteApiUrl: stack.websiteApiUrl,
      token: token('chaos-writer', ['websites:read', 'websites:write']),
      lineGroupId,
      writers: options.writers ?? settings.chaosWriters,
      total: options.writes,
      intervalMs: settings.chaosWriteIntervalMs,
      rng: rng.fork(),
      domainPrefix: `${options.name
        .replace(/[^a-z0-9]+/gi, '-')
        .toLowerCase()
        .slice(0, 30)}-${randomUUID().slice(0, 6)}`,
      afterWrite: async (sent) => {
        if (sent >= faultAt) startFault();
        if (sent >= holdAt && faultRun) {
          writersWaiting += 1;
          await writersReleased;
          writersWaiting -= 1;
        }
      },
    });
    writesDone = true;
    phase('writes done');
    startFault();
    await faultRun;
    nodeChanges = await nodes.stop();
    phase('fault done, node changes stopped; checking');
  } catch (error) {
    faultError ??= error;
  }

  const checkStarted = performance.now();
  const report = await checkHistory({
    clients,
    truth,
    writes,
    faults: faults.length,
    catchUpTimeoutMs: settings.chaosCatchUpTimeoutMs,
    pollIntervalMs: settings.chaosPollIntervalMs,
  }).catch((error: unknown) => {
    // The truth unreachable after a fault that failed (a broker never restarted): the fault's own
    // error is the cause to report, not only the check's.
    if (!faultError) throw error;
    const fault = faultError instanceof Error ? faultError.message : String(faultError);
    throw new Error(`${fault}; then the check could not read the truth: ${(error as Error).message}`, {
      cause: error,
    });
  });
  for (const fault of faults) {
    if (fault.healedAt === undefined) continue;
    const firsts = clients.map((c) => c.firstDeliveryAfter(fault.healedAt!, fault.feed));
    if (firsts.every((t) => t !== undefined))
      fault.liveAgainMs = Math.round(Math.max(...(firsts as number[])) - fault.healedAt);
  }
  const failures: CheckFailure[] = [...report.failures];
  if (faultError) {
    const message = faultError instanceof Error ? faultError.message : String(faultError);
    extra.push({ ok: false, text: `FAIL the run: ${message}` });
  }
  for (const e of extra.filter((x) => !x.ok))
    failures.push({
      kind: 'scenario',
      client: '-',
      feed: 'writes',
      gateway: '-',
      expected: 'true',
      got: e.text,
      span: Number.MAX_SAFE_INTEGER,
    });
  extra.push({
    ok: true,
    text: `info node changes ${nodeChanges}; faults ${faults.map((f) => `${f.label} (live again ${f.liveAgainMs ?? '?'} ms)`).join(', ') || 'none'}`,
  });
  const merged: CheckReport = {
    ...report,
    lines: [...report.lines, ...extra],
    failures,
    verdict: failures.length === 0 ? 'passed' : 'failed',
  };
  phase(`checked (${Math.round(performance.now() - checkStarted)} ms)`);
  const text = [...lines, formatReport(`${options.name} [${stack.bus}]`, merged)].join('\n');
  for (const c of clients) c.close();
  if (!options.truth) await truth.close();
  if (ownStack) await stack.stop();
  return {
    ...merged,
    name: options.name,
    bus: stack.bus,
    seed: options.seed,
    faults,
    writes,
    durationMs: Math.round(performance.now() - started),
    text,
  };
}

async function createLineGroup(stack: ChaosStack, token: string, name: string): Promise<number> {
  const suffix = randomUUID().slice(0, 8);
  const response = await fetch(`${stack.websiteApiUrl}/api/v1/line-groups/create`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `chaos ${name} ${suffix}`, cname: `edge-${suffix}.chaos.example.net` }),
  });
  if (response.status !== 201) throw new Error(`line group: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { data: { id: number } }).data.id;
}
