import { int, ms, seconds } from '../setting.ts';

/** Settings of the soak benchmark (`npm run soak`, apps/push-gateway/bench/soak.ts); not read by any service. */
export const soakSettings = {
  soakSockets: int({
    env: 'TIDELINE_SOAK_SOCKETS',
    min: 1,
    max: 100_000,
    default: 5_000,
    doc: 'Idle sockets the soak benchmark holds open against one gateway, each subscribed to websites (a snapshot, then live updates). Each costs one file descriptor in the benchmark and one in the gateway.',
  }),
  soakDurationSeconds: seconds({
    env: 'TIDELINE_SOAK_DURATION_SECONDS',
    min: 10,
    max: 86_400,
    default: 300,
    doc: 'How long the soak benchmark holds the sockets once all are connected and subscribed.',
  }),
  soakWarmupSeconds: seconds({
    env: 'TIDELINE_SOAK_WARMUP_SECONDS',
    min: 0,
    max: 3_600,
    default: 60,
    doc: 'Samples of the first seconds of the hold are printed but left out of the slope (heap and RSS settle after the connection storm).',
  }),
  soakSampleIntervalMs: ms({
    env: 'TIDELINE_SOAK_SAMPLE_INTERVAL_MS',
    min: 500,
    max: 600_000,
    default: 5_000,
    doc: "How often the soak benchmark has the gateway collect garbage (a full GC through the bench's memory probe) and then reads its RSS and heap from its /metrics.",
  }),
  soakWriteIntervalMs: ms({
    env: 'TIDELINE_SOAK_WRITE_INTERVAL_MS',
    min: 50,
    max: 600_000,
    default: 2_000,
    doc: 'The trickle of writes during the soak: one website update through website-api per this interval, delivered to every socket.',
  }),
  soakMaxHeapSlopeBytesPerMinutePerSocket: int({
    env: 'TIDELINE_SOAK_MAX_HEAP_SLOPE_BYTES_PER_MINUTE_PER_SOCKET',
    min: 0,
    max: 1_000_000,
    default: 200,
    doc: "The soak fails when the gateway's heap in use after a full GC (what it retains: the leak signal) grows faster than this (least-squares slope after the warm-up, per minute, divided by the sockets held). 200 B/min/socket is 1 MB per minute at 5,000 sockets.",
  }),
  soakMaxRssSlopeBytesPerMinutePerSocket: int({
    env: 'TIDELINE_SOAK_MAX_RSS_SLOPE_BYTES_PER_MINUTE_PER_SOCKET',
    min: 0,
    max: 1_000_000,
    default: 2_000,
    doc: "The soak fails when the gateway's RSS grows faster than this (least-squares slope after the warm-up, per minute, per socket). Looser than the heap bound: the allocator grows RSS in steps of tens of MB that a run of minutes cannot tell from a trend; 2,000 B/min/socket is 10 MB per minute at 5,000 sockets.",
  }),
};
