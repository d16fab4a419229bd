#!/bin/sh
# podman 4.3 schedules health checks with systemd timers; without systemd they never run
# ("unable to get systemd connection to add healthchecks"), so `depends_on: service_healthy` would
# wait forever. This loop runs the health check of every running container of one compose project
# itself, every HEALTH_INTERVAL seconds (the compose file's own interval is 5 s).
#   health-pump.sh <compose project name>
project="$1"
while :; do
  for c in $(podman ps -q --filter status=running --filter "label=com.docker.compose.project=$project"); do
    if [ "$(podman inspect -f '{{if .Config.Healthcheck}}y{{end}}' "$c" 2>/dev/null)" = y ]; then
      podman healthcheck run "$c" >/dev/null 2>&1
    fi
  done
  sleep "${HEALTH_INTERVAL:-3}"
done
