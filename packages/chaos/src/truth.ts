import { createEventBus, type EventBus, readTopic } from '@tideline/bus';
import { busSettings, loadConfig } from '@tideline/config';
import {
  decodeNodesTopicEvent,
  isClusterEvent,
  NODES_TOPIC,
  type NodeView,
  type WebsiteItem,
} from '@tideline/contracts';
import type { KubeTestServer } from '@tideline/kube-test-server';
import pg from 'pg';

/** A website as the checker compares it (what the database says; `updated_at` is left out). */
export interface WebsiteTruth {
  website_id: number;
  primary_domain: string;
  /** Every domain, sorted. */
  domains: string[];
  cname: string;
  line_group: { id: number; name: string };
  https_enabled: boolean;
  status: string;
}

/** A node as the checker compares it: what operators change and watch. */
export interface NodeTruth {
  name: string;
  labels: Record<string, string>;
  /** Sorted by key, then effect. */
  taints: { key: string; value?: string | undefined; effect: string }[];
  unschedulable: boolean;
  /** Sorted by type; status only (reasons and times are not compared). */
  conditions: { type: string; status: string }[];
}

/** One event of the websites log (`ws_events`). */
export interface WebsiteEventTruth {
  id: number;
  type: string;
  websiteId: number;
}

/**
 * Where the checker reads the truth: the database (websites, `ws_events`), the nodes topic on the
 * bus, and the Kubernetes API server. Never what a service believes. Local runs use
 * {@link LocalTruth}; another topology (containers) supplies its own.
 */
export interface TruthSource {
  /** Every website row now. */
  websites(): Promise<WebsiteTruth[]>;
  /** The websites log's events with `afterId < id ≤ upToId` (upToId: the last), in id order. */
  websiteEvents(afterId: number, upToId?: number): Promise<WebsiteEventTruth[]>;
  /** The last id of the websites log (0 when empty). */
  lastWebsiteEventId(): Promise<number>;
  /** The nodes of `cluster` as the Kubernetes API server has them now. */
  nodes(cluster: string): Promise<NodeTruth[]>;
  /**
   * Ids of the NODE events of `cluster` on the nodes topic (cluster events, which clients never
   * receive as updates, left out), each once, ascending.
   */
  nodeEventIds(cluster: string): Promise<number[]>;
  close(): Promise<void>;
}

// ---- projections (shared with the checker so both sides are compared the same way) ---------------

export function websiteTruthOf(item: WebsiteItem): WebsiteTruth {
  return {
    website_id: item.website_id,
    primary_domain: item.primary_domain,
    domains: [...item.domains].sort(),
    cname: item.cname,
    line_group: { id: item.line_group.id, name: item.line_group.name },
    https_enabled: item.https_enabled,
    status: item.status,
  };
}

function sortTaints<T extends { key: string; effect: string }>(taints: T[]): T[] {
  return [...taints].sort((a, b) => a.key.localeCompare(b.key) || a.effect.localeCompare(b.effect));
}

function sortConditions(conditions: { type: string; status: string }[]): { type: string; status: string }[] {
  return conditions
    .map((c) => ({ type: c.type, status: c.status }))
    .sort((a, b) => a.type.localeCompare(b.type));
}

export function nodeTruthOfView(view: NodeView): NodeTruth {
  return {
    name: view.name,
    labels: { ...view.dynamic.labels },
    taints: sortTaints(
      view.dynamic.taints.map((t) => ({
        key: t.key,
        ...(t.value ? { value: t.value } : {}),
        effect: t.effect,
      })),
    ),
    unschedulable: view.dynamic.unschedulable,
    conditions: sortConditions(view.dynamic.conditions),
  };
}

type KubeNode = ReturnType<KubeTestServer['listNodes']>[number];

export function nodeTruthOfKube(node: KubeNode): NodeTruth {
  return {
    name: node.metadata.name,
    labels: { ...node.metadata.labels },
    taints: sortTaints(
      (node.spec.taints ?? []).map((t) => ({
        key: t.key,
        ...(t.value ? { value: t.value } : {}),
        effect: t.effect,
      })),
    ),
    unschedulable: node.spec.unschedulable === true,
    conditions: sortConditions(node.status.conditions),
  };
}

const WEBSITES_SQL = `
  SELECT w.id AS website_id, w.https_enabled, w.status::text AS status,
         lg.id AS line_group_id, lg.name AS line_group_name, lg.cname,
         (SELECT d.domain FROM website_domains d WHERE d.website_id = w.id AND d.is_primary) AS primary_domain,
         ARRAY(SELECT d.domain FROM website_domains d WHERE d.website_id = w.id ORDER BY d.domain) AS domains
    FROM websites w JOIN line_groups lg ON lg.id = w.line_group_id
   ORDER BY w.id`;

/**
 * The truth of a local stack: PostgreSQL directly (not through website-api), the nodes topic
 * through a bus client of its own (read with readTopic, decoded by the contracts' one decoder),
 * and the Kubernetes API test server in this process.
 */
export class LocalTruth implements TruthSource {
  private readonly pool: pg.Pool;
  private readonly nodesTopic: NodesTopicTruth;

  constructor(
    private readonly options: {
      databaseUrl: string;
      busEnv: Record<string, string>;
      kube: KubeTestServer;
      /** Page size of the topic reads. */
      pageSize?: number;
    },
  ) {
    this.pool = new pg.Pool({ connectionString: options.databaseUrl, max: 2 });
    this.nodesTopic = new NodesTopicTruth(options.busEnv, 'chaos-truth', options.pageSize);
  }

  async websites(): Promise<WebsiteTruth[]> {
    const { rows } = await this.pool.query(WEBSITES_SQL);
    return rows.map((r) => ({
      website_id: Number(r.website_id),
      primary_domain: String(r.primary_domain),
      domains: (r.domains as string[]).slice().sort(),
      cname: String(r.cname),
      line_group: { id: Number(r.line_group_id), name: String(r.line_group_name) },
      https_enabled: Boolean(r.https_enabled),
      status: String(r.status),
    }));
  }

  async websiteEvents(afterId: number, upToId?: number): Promise<WebsiteEventTruth[]> {
    const { rows } = await this.pool.query(
      `SELECT id, event_type::text AS type, payload->>'website_id' AS website_id
         FROM ws_events WHERE topic = 'websites' AND id > $1 AND ($2::bigint IS NULL OR id <= $2)
        ORDER BY id`,
      [afterId, upToId ?? null],
    );
    return rows.map((r) => ({ id: Number(r.id), type: String(r.type), websiteId: Number(r.website_id) }));
  }

  async lastWebsiteEventId(): Promise<number> {
    const { rows } = await this.pool.query(
      `SELECT coalesce(max(id), 0) AS id FROM ws_events WHERE topic = 'websites'`,
    );
    return Number(rows[0].id);
  }

  async nodes(): Promise<NodeTruth[]> {
    return this.options.kube
      .listNodes()
      .map(nodeTruthOfKube)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  nodeEventIds(cluster: string): Promise<number[]> {
    return this.nodesTopic.ids(cluster);
  }

  async close(): Promise<void> {
    await this.nodesTopic.close();
    await this.pool.end();
  }
}

/**
 * The nodes topic's event ids of one cluster, each once and ascending, read through a bus client of
 * its own (opened on first use with `busEnv`, read with readTopic, decoded by the contracts' one
 * decoder; cluster events left out).
 */
export class NodesTopicTruth {
  private bus: EventBus | undefined;

  constructor(
    private readonly busEnv: Record<string, string>,
    private readonly clientName: string,
    private readonly pageSize = 1_000,
  ) {}

  async ids(cluster: string): Promise<number[]> {
    if (!this.bus) {
      this.bus = createEventBus({
        config: loadConfig(busSettings, { env: this.busEnv }),
        clientName: this.clientName,
      });
      await this.bus.start();
    }
    const ids = new Set<number>();
    for await (const message of readTopic(this.bus, { topic: NODES_TOPIC, pageSize: this.pageSize })) {
      const decoded = decodeNodesTopicEvent(message.data);
      if (!decoded.ok || decoded.value.data.cluster !== cluster || isClusterEvent(decoded.value)) continue;
      ids.add(decoded.value.eventId);
    }
    return [...ids].sort((a, b) => a - b);
  }

  async close(): Promise<void> {
    await this.bus?.drain();
  }
}
