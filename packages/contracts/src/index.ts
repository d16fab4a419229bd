export {
  ALWAYS_POSSIBLE,
  API_CATALOGUE,
  type ApiRoute,
  type ApiService,
  type ApiServiceName,
  apiServiceNames,
  ClusterParams,
  HttpErrorBody,
  NodeParams,
  ServiceParams,
  UidParams,
  WebsitePath,
} from './api-catalogue.ts';
export { asyncApiDocument, serverEventSchemas, undocumentedEvents } from './asyncapi.ts';
export {
  decodeNodesTopicEvent,
  decodeWebsiteEvent,
  isClusterEvent,
  NodesTopicEvent,
} from './decode.ts';
export { EventId, envelopeOf, SCHEMA_VERSION, TraceContext } from './envelope.ts';
export { ERROR_CODES, type ErrorCode, errorCodes, HTTP_STATUS_OF, TidelineError } from './errors.ts';
export {
  INTERNAL_PATHS,
  INTERNAL_SCOPE,
  NodesReplay,
  NodesSnapshot,
  ReplayQuery,
} from './internal-api.ts';
export { applyNodePatch, nodePatchOf } from './node-patch.ts';
export {
  ClusterEvent,
  ClusterName,
  NODES_TOPIC,
  NodeAddress,
  NodeChange,
  NodeCondition,
  NodeDynamic,
  NodeEvent,
  NodeEventType,
  NodeField,
  NodeName,
  NodePatch,
  NodeStatic,
  NodeView,
  Taint,
} from './nodes.ts';
export {
  CLUSTERS_ADMIN_API,
  ClusterStatus,
  ClusterStatuses,
  ClusterSummaries,
  ClusterSummary,
  KUBECONFIG_MAX_BYTES,
  ListNodesQuery,
  NODES_API,
  NODES_PAGE_SIZE_MAX,
  NodeAnswer,
  NodesPage,
  RegisterClusterBody,
  UnregisterClusterBody,
} from './nodes-api.ts';
export {
  API_VERSION,
  isOperatorRoute,
  openApiDocument,
  type RegisteredRoute,
  undocumentedRoutes,
} from './openapi.ts';
export {
  DEAD_LETTERS_LIMIT_MAX,
  DeadLettersAnswer,
  DeadLettersQuery,
  DeadLetterView,
  GatewayOperatorAnswer,
  OPERATOR_API,
  RelayOperatorAnswer,
  ServicePodsAnswer,
  UserLinksAnswer,
} from './operator-api.ts';
export {
  ReplayFallbackReason,
  type SequenceStep,
  StreamPosition,
  sequenceStep,
} from './position.ts';
export { PushEventName, PushMessage, PushTarget, PushTargetId } from './push.ts';
export { Backoff, type Jitter, type RandomSource, type RetryBackoff, retryDelayMs } from './retry.ts';
export {
  type Ack,
  AuthRefreshPayload,
  type ClientEventName,
  type ClientToServerEvents,
  ConnectedMessage,
  clientEventSchemas,
  type HandshakeErrorData,
  isNodesDeltaUpdate,
  NodesDeltaUpdate,
  NodesInitial,
  NodesRemoved,
  NodesUpdate,
  NodesUpdateMessage,
  ReconnectMessage,
  RequestError,
  RequestWebsitesPayload,
  type ServerToClientEvents,
  SubscribeNodesPayload,
  UnsubscribeNodesPayload,
  WebsitesInitial,
  WebsitesUpdate,
} from './socket.ts';
export {
  GatewayPodState,
  StatefulNamespace,
  StatefulPodId,
  StatefulServiceName,
  StatefulState,
  StatefulUid,
} from './stateful.ts';
export { rooms, subjects, TOPICS, type TopicName, topicNames } from './subjects.ts';
export {
  ContractError,
  type FieldIssue,
  issuesOf,
  type ParseResult,
  parse,
  safeParse,
} from './validation.ts';
export {
  CreateLineGroupBody,
  CreateWebsiteBody,
  DeleteWebsiteBody,
  Domain,
  Id,
  LineGroup,
  ListWebsitesQuery,
  UpdateWebsiteBody,
  WEBSITES_PAGE_SIZE_MAX,
  WEBSITES_TOPIC,
  WebsiteAddEvent,
  WebsiteDeleted,
  WebsiteDeleteEvent,
  WebsiteEvent,
  WebsiteEventType,
  WebsiteItem,
  WebsiteStatus,
  WebsitesReplay,
  WebsitesSnapshot,
  WebsiteUpdateEvent,
} from './websites.ts';
