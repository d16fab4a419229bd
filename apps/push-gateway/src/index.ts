export { type PushGatewayConfig, pushGatewaySettings } from './config.ts';
export { ClusterFeeds } from './domain/cluster-feeds.ts';
export {
  Feed,
  type FeedMember,
  type FeedObserver,
  type FeedOptions,
  SyncOverflowError,
  type SyncRequest,
} from './domain/feed.ts';
export { nodeUpdateOf, websiteUpdateOf } from './domain/messages.ts';
export {
  type FeedReplay,
  type FeedSource,
  type NodesSource,
  type ReplayRequest,
  SourceNotFoundError,
  SourceUnavailableError,
  type WebsitesSource,
} from './domain/ports.ts';
export { SingleFlight } from './domain/single-flight.ts';
export {
  type PushGatewayOptions,
  type RunningPushGateway,
  SERVICE_NAME,
  startPushGateway,
} from './gateway.ts';
export type { DrainingErrorData } from './socket/handshake.ts';
export type { GatewayServer, GatewaySocket, SocketData } from './socket/types.ts';
