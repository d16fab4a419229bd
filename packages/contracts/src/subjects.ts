import type { ClusterName } from './nodes.ts';
import type { PushTarget } from './push.ts';
import type { WebsiteEventType } from './websites.ts';

/**
 * The topics of the bus. A topic is a JetStream stream or a Kafka topic; its subjects are the
 * message names inside it. Order is kept per topic and ordering key.
 */
export const TOPICS = {
  websites: { subjects: 'website.>', description: 'committed website changes, keyed by topic (total order)' },
  nodes: {
    subjects: 'node.>',
    description: 'meaningful node changes and cluster lifecycle, keyed by cluster',
  },
  push: { subjects: 'push.>', description: 'targeted pushes from backend services to users and rooms' },
} as const;
export type TopicName = keyof typeof TOPICS;
export const topicNames = Object.keys(TOPICS) as TopicName[];

export const subjects = {
  website: (type: WebsiteEventType) => `website.${type}` as const,
  node: (cluster: ClusterName, type: string) => `node.${cluster}.${type}` as const,
  push: (target: PushTarget) =>
    target.kind === 'user' ? (`push.user.${target.uid}` as const) : (`push.room.${target.room}` as const),
};

/** Socket.IO room names. */
export const rooms = {
  websites: 'websites',
  nodes: (cluster: ClusterName) => `nodes:${cluster}` as const,
  /** The sockets of one gateway that follow a cluster with delta updates (see `subscribe:nodes`). */
  nodesDelta: (cluster: ClusterName) => `nodes:${cluster}:delta` as const,
  user: (uid: string) => `user:${uid}` as const,
  room: (room: string) => `room:${room}` as const,
};
