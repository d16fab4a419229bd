#!/usr/bin/env bash
# npm run soak: raises the open-file limit to the hard limit for this process tree (one descriptor
# per socket on each side), then runs the soak benchmark (settings: TIDELINE_SOAK_*).
set -euo pipefail
cd "$(dirname "$0")/../../.."
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export TIDELINE_SOAK_FD_LIMIT="$(ulimit -n)"
exec node --import tsx apps/push-gateway/bench/soak.ts
