#!/usr/bin/env bash
# Makes a clone ready to run: npm dependencies (npm ci when node_modules is missing or older than
# the lock), the generated Prisma client, and the local infrastructure; with `--test` also Kafka and
# Chromium for the test suite. Idempotent and quick when nothing is missing; `npm start` and
# `npm test` run it first, so those two commands are the whole set-up on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[bootstrap] installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi
if [ ! -d packages/db/src/generated/prisma ] || [ packages/db/prisma/schema.prisma -nt packages/db/src/generated/prisma ]; then
  npm run --silent db:generate
fi
bash infra/scripts/ensure-services.sh
if [ "${1:-}" = "--test" ]; then
  bash infra/scripts/ensure-chromium.sh
  bash infra/kafka/kafka.sh start
fi
