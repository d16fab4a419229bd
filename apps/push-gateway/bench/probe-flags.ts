/**
 * Node flags of every server run under bench/memory-probe.ts: `gc()` for the probe, and no
 * bytecode flushing — V8 otherwise drops the bytecode of functions unused for a while at some
 * later GC, and when that falls between a round's two readings it takes ~1.7 MB (3.4 KiB per
 * socket at 500 sockets) off that round's figure, on either side (the 8.4 KiB plain outliers).
 * Compiled code is no socket's data; the gateway and the plain server run alike.
 */
export const PROBE_NODE_FLAGS = ['--expose-gc', '--no-flush-bytecode'];
