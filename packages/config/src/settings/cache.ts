import { bool, int, port, str } from '../setting.ts';

/** Settings of apps/cache. */
export const cacheSettings = {
  port: port({
    env: 'TIDELINE_CACHE_PORT',
    default: 3002,
    allowZero: true,
    doc: 'HTTP port of cache (0 picks a free port).',
  }),
  host: str({ env: 'TIDELINE_CACHE_HOST', default: '0.0.0.0', doc: 'Address cache listens on.' }),
  cacheNodeHistorySize: int({
    env: 'TIDELINE_CACHE_NODE_HISTORY_SIZE',
    min: 1,
    max: 1_000_000,
    default: 500,
    doc: 'Node events kept per cluster for replay (resume from lastEventId); a resume from further back falls back to a snapshot.',
  }),
  cachePageSizeDefault: int({
    env: 'TIDELINE_CACHE_PAGE_SIZE_DEFAULT',
    min: 1,
    max: 100_000,
    default: 100,
    doc: 'Nodes per page of GET /api/v1/clusters/:cluster/nodes when page_size is not given.',
  }),
  cachePageSizeMax: int({
    env: 'TIDELINE_CACHE_PAGE_SIZE_MAX',
    min: 1,
    max: 100_000,
    default: 5_000,
    doc: 'Largest page_size a node list accepts (larger is refused with VALIDATION_FAILED).',
  }),
  cacheCatchUpPageSize: int({
    env: 'TIDELINE_CACHE_CATCH_UP_PAGE_SIZE',
    min: 1,
    max: 100_000,
    default: 2_000,
    doc: 'Events read per request while the cache rebuilds itself from the nodes topic at start.',
  }),
  cacheCatchUpEndReads: int({
    env: 'TIDELINE_CACHE_CATCH_UP_END_READS',
    min: 1,
    max: 100,
    default: 3,
    doc: 'Consecutive empty reads that confirm the end of the nodes topic while the cache rebuilds (a broker fetch can come back short or empty under load before the end; at the true end a read answers at once).',
  }),
  cacheCompactAfterCatchUp: bool({
    env: 'TIDELINE_CACHE_COMPACT_AFTER_CATCH_UP',
    default: true,
    doc: "Once the rebuild from the nodes topic is done, run one full, memory-reducing garbage collection before turning ready (V8 compacts the heap and hands back the pages the rebuild's garbage left pooled; ~0.2 s at 50,000 nodes, ~60 MiB less RSS, npm run bench:nodes).",
  }),
};
