#!/usr/bin/env bash
# `npm run test:compose`: the compose-based integration suite. Runs docker-compose.yml itself (the
# production path, unchanged) with the demo cluster (infra/compose/demo.yml) on podman, from images
# built on this machine, then:
#   0. checks the images: Prometheus (observability profile) builds and promtool accepts its
#      configuration; the console serves tokens in development only
#   1. waits until every service is healthy (health-pump.sh runs the health checks: no systemd),
#      each app container running node on its compiled service (no npm/npx/tsx)
#   2. the stack-level scenarios against the containers (packages/stack-tests, TIDELINE_STACK_*)
#   3. the browser test (the console in Chromium) against the containers
#   4. a fault round through the container engine under the history checker
#      (packages/stack-tests/test/compose-faults.int.test.ts: kill -9 a gateway container,
#      restart NATS, restart Redis; 0 lost / duplicated / reordered required)
#   5. `docker-compose stop` of a gateway: it drains and exits 0 within its stop_grace_period
# and always `compose down -v` at the end. Prints `compose: N passed, N failed` (exit 1 on failure)
# with the time of each phase.
#
# Environment (all optional):
#   TIDELINE_COMPOSE_UP_TIMEOUT_SECONDS   how long the stack may take to become healthy (default 300)
#   TIDELINE_COMPOSE_KEEP=1               leave the stack running (no down -v) for a look around
#   TIDELINE_COMPOSE_REBUILD_BASE=1       rebuild the Debian-based base images (build-images.sh)
# Needs root (podman rootful, debootstrap) on Debian 12; infra/scripts/ensure-podman.sh installs the tools.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
# shellcheck source=../scripts/node-runtime.sh
source infra/scripts/node-runtime.sh
PODMAN_DIR="$ROOT/infra/compose/podman"
export CONTAINERS_CONF="$PODMAN_DIR/containers.conf"
UP_TIMEOUT_SECONDS="${TIDELINE_COMPOSE_UP_TIMEOUT_SECONDS:-300}"
PROJECT="tlcompose$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
WORK="$(mktemp -d /tmp/tideline-compose.XXXXXX)"
export DOCKER_HOST="unix://$WORK/podman.sock"
SERVING=(website-api cache informer push-gateway-1 push-gateway-2)

passed=0
failed=0
timings=()
started_at=$(date +%s)
phase_started=$started_at
log() { echo "[compose] $*"; }
check() { # <name> <exit status>
  if [ "$2" = 0 ]; then passed=$((passed + 1)); log "PASS $1"; else failed=$((failed + 1)); log "FAIL $1"; fi
}
phase_done() {
  local now
  now=$(date +%s)
  timings+=("$1 $((now - phase_started)) s")
  phase_started=$now
}
summary() {
  log "timings: ${timings[*]/#/| } | total $(($(date +%s) - started_at)) s"
  echo "compose: $passed passed, $failed failed"
}

DC=(docker-compose -p "$PROJECT" --project-directory "$ROOT" --env-file "$WORK/stack.env"
  -f "$ROOT/docker-compose.yml" -f "$ROOT/infra/compose/demo.yml" -f "$WORK/local.yml")
cleanup() {
  if [ "${TIDELINE_COMPOSE_KEEP:-0}" = 1 ]; then
    log "kept: DOCKER_HOST=$DOCKER_HOST CONTAINERS_CONF=$CONTAINERS_CONF ${DC[*]} ps"
    return
  fi
  if [ -S "$WORK/podman.sock" ]; then
    "${DC[@]}" down -v --timeout 30 >"$WORK/down.log" 2>&1 || log "compose down failed (see $WORK/down.log)"
  fi
  for pid_file in "$WORK/pump.pid" "$WORK/service.pid"; do
    [ -f "$pid_file" ] && kill "$(cat "$pid_file")" 2>/dev/null
  done
  rm -f "$WORK/stack.env"
}
finish() {
  local status=$?
  cleanup
  summary
  [ "$failed" = 0 ] && [ "$status" = 0 ] && exit 0
  exit 1
}
trap finish EXIT
trap 'exit 130' INT TERM

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
secret() { node -e "console.log(require('crypto').randomBytes($1).toString('$2'))"; }

# ---- images -----------------------------------------------------------------------------------
bash infra/scripts/ensure-podman.sh || { check "tools installed (podman, runc, debootstrap, docker-compose)" 1; exit 1; }
bash "$PODMAN_DIR/build-images.sh" || { check "base images built from Debian packages" 1; exit 1; }
phase_done "base-images"
log "building the app image (Dockerfile)"
podman build -q -t tideline/tideline:local "$ROOT" >"$WORK/build.log" 2>&1
check "the app image builds from the Dockerfile" $? || true
[ "$failed" = 0 ] || { tail -n 30 "$WORK/build.log"; exit 1; }
phase_done "app-image"

# The observability profile's Prometheus: its image builds from Debian's package and promtool
# accepts the configuration with the alert rules of deploy/prometheus/rules/ (Jaeger needs Docker Hub).
podman build -q -t tideline/prometheus:local "$ROOT/infra/compose/prometheus" >"$WORK/prometheus-build.log" 2>&1 &&
  podman run --rm --entrypoint promtool \
    -v "$ROOT/infra/compose/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" \
    -v "$ROOT/deploy/prometheus/rules:/etc/prometheus/rules:ro" \
    tideline/prometheus:local check config /etc/prometheus/prometheus.yml >"$WORK/promtool.log" 2>&1
check "observability: the Prometheus image builds and promtool accepts its configuration and rules" $?

# The console of the development override: with TIDELINE_ENV=development it serves the page, its
# configuration and same-origin tokens; in production there is no token route.
console_check() { # <environment> <expected /token status>
  local port name status
  port=$(free_port)
  name="$PROJECT-console-$1"
  podman run -d --rm --name "$name" -e "TIDELINE_ENV=$1" -e "TIDELINE_JWT_SECRET=$(secret 32 base64)" \
    -e TIDELINE_CONSOLE_HOST=0.0.0.0 -p "127.0.0.1:$port:5173" tideline/tideline:local console >/dev/null || return 1
  for _ in $(seq 1 60); do curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 1; done
  status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/token")
  curl -sf "http://127.0.0.1:$port/" | grep -q '<title>Tideline console' || status=page-missing
  podman rm -f "$name" >/dev/null 2>&1
  [ "$status" = "$2" ]
}

console_check development 200
check "development console: the page and same-origin /token" $?
console_check production 404
check "production console: no token route" $?
phase_done "image-checks"

# ---- configuration: random secrets (never printed), free loopback ports -----------------------
GW1=$(free_port) GW2=$(free_port) API=$(free_port) INFORMER=$(free_port) CACHE=$(free_port) NATS=$(free_port)
JWT_SECRET=$(secret 32 base64)
(
  umask 077
  cat >"$WORK/stack.env" <<EOF
TIDELINE_JWT_SECRET=$JWT_SECRET
TIDELINE_POSTGRES_PASSWORD=$(secret 16 hex)
TIDELINE_REDIS_PASSWORD=$(secret 16 hex)
TIDELINE_NATS_PASSWORD=$(secret 16 hex)
TIDELINE_INFORMER_REGISTRATION_KEY=$(secret 32 base64)
TIDELINE_INFORMER_API_SERVER_HOSTS=kube-demo:6443
TIDELINE_PUBLISH_GATEWAY_1=127.0.0.1:$GW1
TIDELINE_PUBLISH_GATEWAY_2=127.0.0.1:$GW2
TIDELINE_PUBLISH_WEBSITE_API=127.0.0.1:$API
TIDELINE_PUBLISH_INFORMER=127.0.0.1:$INFORMER
EOF
)
# The local override: the cache on a loopback port too (the scenarios read its snapshots) and NATS
# (the history checker reads the nodes topic); nothing else changes. This machine runs its own
# PostgreSQL/Redis/NATS on the standard ports: the compose file publishes none of them.
cat >"$WORK/local.yml" <<EOF
services:
  cache:
    ports: ["127.0.0.1:$CACHE:3002"]
  nats:
    ports: ["127.0.0.1:$NATS:4222"]
EOF

# ---- up ---------------------------------------------------------------------------------------
podman system service --time=0 "$DOCKER_HOST" >"$WORK/service.log" 2>&1 &
echo $! >"$WORK/service.pid"
for _ in $(seq 1 100); do [ -S "$WORK/podman.sock" ] && break; sleep 0.1; done
"$PODMAN_DIR/health-pump.sh" "$PROJECT" >"$WORK/pump.log" 2>&1 &
echo $! >"$WORK/pump.pid"
log "compose up (project $PROJECT)"
"${DC[@]}" up -d --no-build >"$WORK/up.log" 2>&1
up_status=$?
[ "$up_status" = 0 ] || tail -n 30 "$WORK/up.log"

healthy() { # all serving services healthy
  local name cid state
  for name in "${SERVING[@]}"; do
    cid=$("${DC[@]}" ps -q "$name" 2>/dev/null)
    [ -n "$cid" ] || return 1
    state=$(podman inspect -f '{{.State.Health.Status}}' "$cid" 2>/dev/null)
    [ "$state" = healthy ] || return 1
  done
}
deadline=$(($(date +%s) + UP_TIMEOUT_SECONDS))
until healthy; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    up_status=1
    "${DC[@]}" ps
    for name in "${SERVING[@]}" migrate kube-demo; do echo "--- $name"; "${DC[@]}" logs --tail 15 "$name" 2>&1; done
    break
  fi
  sleep 2
done
check "compose up: every service healthy (migrate exited 0 first)" "$up_status"
phase_done "up"
[ "$up_status" = 0 ] || exit 1

# Every app container runs its compiled service with node under the init, nothing else in between.
processes_ok=0
for name in "${SERVING[@]}"; do
  service="${name%-[0-9]}"
  cmdlines=$(podman exec "$("${DC[@]}" ps -q "$name")" sh -c 'for f in /proc/[0-9]*/cmdline; do tr "\0" " " <"$f"; echo; done' 2>/dev/null)
  if ! grep -q "^node --enable-source-maps /app/bin/$service.mjs" <<<"$cmdlines" || grep -Eq "(^|/)(npm|npx|tsx)( |$)" <<<"$cmdlines"; then
    log "$name runs: $(tr '\n' '|' <<<"$cmdlines")"
    processes_ok=1
  fi
done
check "every app container runs node on its compiled service (no npm, npx or tsx)" "$processes_ok"

# ---- scenarios against the containers ---------------------------------------------------------
export TIDELINE_STACK_GATEWAY_URLS="http://127.0.0.1:$GW1,http://127.0.0.1:$GW2"
export TIDELINE_STACK_WEBSITE_API_URL="http://127.0.0.1:$API"
export TIDELINE_STACK_CACHE_URL="http://127.0.0.1:$CACHE"
export TIDELINE_STACK_INFORMER_URL="http://127.0.0.1:$INFORMER"
export TIDELINE_STACK_CLUSTER=demo
export TIDELINE_STACK_JWT_SECRET="$JWT_SECRET"
# The fault round drives the engine: these name the containers and the way to reach it.
export TIDELINE_COMPOSE_PROJECT="$PROJECT" TIDELINE_COMPOSE_WORK="$WORK" TIDELINE_COMPOSE_NATS_URL="nats://127.0.0.1:$NATS"

run_vitest() { # <label> <file>
  local report="$WORK/$1.json"
  npx vitest run "$2" --project integration --reporter=default --reporter=json --outputFile.json="$report" >"$WORK/$1.log" 2>&1
  local status=$?
  grep -E "scenarios|passed|failed|✓|×|skipped" "$WORK/$1.log" | tail -n 40
  if [ -s "$report" ]; then
    local counts
    counts=$(node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      let failed = r.numFailedTests + (r.numFailedTestSuites > 0 && r.numFailedTests === 0 ? r.numFailedTestSuites : 0);
      if (Number(process.argv[2]) !== 0 && failed === 0) failed = 1;
      console.log(`${r.numPassedTests} ${failed}`);
    ' "$report" "$status")
    passed=$((passed + ${counts% *}))
    failed=$((failed + ${counts#* }))
    log "$1: ${counts% *} passed, ${counts#* } failed"
  else
    tail -n 30 "$WORK/$1.log"
    check "$1 (no report)" 1
  fi
}
run_vitest stack-scenarios packages/stack-tests/test/stack.int.test.ts
phase_done "scenarios"
run_vitest browser packages/stack-tests/test/console.browser.int.test.ts
phase_done "browser"
run_vitest faults packages/stack-tests/test/compose-faults.int.test.ts
phase_done "faults"

# A graceful stop within the grace period: SIGTERM drains and the gateway exits 0 by itself (an
# engine kill after the grace period would leave 137).
stop_started=$(date +%s)
"${DC[@]}" stop push-gateway-2 >"$WORK/stop.log" 2>&1
stop_seconds=$(($(date +%s) - stop_started))
exit_code=$(podman inspect -f '{{.State.ExitCode}}' "$("${DC[@]}" ps -q push-gateway-2)" 2>/dev/null)
log "push-gateway-2 stopped in ${stop_seconds} s with exit code ${exit_code}"
[ "$exit_code" = 0 ]
check "docker-compose stop: a gateway drains and exits 0 within its stop_grace_period" $?
phase_done "stop"
