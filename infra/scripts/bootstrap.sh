#!/usr/bin/env bash
# Makes a clone ready to run: the pinned Node.js (.nvmrc) and the npm dependencies (npm ci, on that
# Node, when node_modules is missing, older than the lock, or without the pinned Node), the generated
# Prisma client, and the local infrastructure; with `--test` also Kafka, Chromium and docker-compose for the test
# suite. Idempotent and quick when nothing is missing; `npm start` and `npm test` run it first, so
# those two commands are the whole set-up on a fresh machine, also where the system's Node is older.
set -euo pipefail
cd "$(dirname "$0")/../.."
source infra/scripts/node-runtime.sh

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] ||
  ! require_pinned_node 2>/dev/null; then
  echo "[bootstrap] installing npm dependencies (npm ci) on Node.js $NODE_PINNED"
  npm_pinned ci --no-audit --no-fund
fi
require_pinned_node
echo "[bootstrap] node $(node -v) ($(command -v node))"
if [ ! -d packages/db/src/generated/prisma ] || [ packages/db/prisma/schema.prisma -nt packages/db/src/generated/prisma ]; then
  npm run --silent db:generate
fi
bash infra/scripts/ensure-services.sh
if [ "${1:-}" = "--test" ]; then
  bash infra/scripts/ensure-chromium.sh
  bash infra/scripts/ensure-compose.sh
  bash infra/scripts/ensure-kubectl.sh
  bash infra/scripts/ensure-prometheus.sh
  bash infra/kafka/kafka.sh start
fi
