#!/usr/bin/env bash
# Makes sure PostgreSQL, Redis and NATS JetStream answer on 127.0.0.1 (5432, 6379, 4222):
# installs them from Debian's packages when missing, starts them when down, waits until they answer.
# Idempotent: running services are left alone. Used by `.ci/run` and `npm run infra:up`.
set -euo pipefail

WAIT_SECONDS="${TIDELINE_INFRA_WAIT_SECONDS:-60}"
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
APT_UPDATED=0

log() { echo "[infra] $*"; }

apt_install() {
  if [ "$APT_UPDATED" = "0" ]; then
    $SUDO apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && exec 3>&- 3<&-; }

wait_for() {
  local name="$1" check="$2" i
  for ((i = 0; i < WAIT_SECONDS * 4; i++)); do
    if eval "$check" >/dev/null 2>&1; then
      log "$name is up"
      return 0
    fi
    sleep 0.25
  done
  log "$name did not come up within ${WAIT_SECONDS}s"
  return 1
}

# ---- PostgreSQL --------------------------------------------------------------------------------
pg_ok() { pg_isready -q -h 127.0.0.1 -p 5432 && psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; }
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  log "installing PostgreSQL"
  apt_install postgresql postgresql-client
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  version="$(ls /etc/postgresql | sort -V | tail -1)"
  log "starting PostgreSQL $version"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
fi
wait_for PostgreSQL "pg_isready -q -h 127.0.0.1 -p 5432"
if ! pg_ok; then
  # A fresh Debian install authenticates TCP clients by password; tests and `npm start` expect
  # trust on loopback (development/CI machines only).
  version="$(ls /etc/postgresql | sort -V | tail -1)"
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  log "allowing trust authentication on loopback in $hba"
  $SUDO sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  wait_for "PostgreSQL (trust on loopback)" pg_ok
fi
psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1 from pg_database where datname = 'tideline'" | grep -q 1 ||
  psql -h 127.0.0.1 -U postgres -d postgres -qc 'create database tideline'

# ---- Redis ---------------------------------------------------------------------------------------
if ! command -v redis-server >/dev/null 2>&1; then
  log "installing Redis"
  apt_install redis-server redis-tools
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting Redis"
  $SUDO mkdir -p /var/lib/redis /var/log/redis
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
wait_for Redis "redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG"

# ---- NATS with JetStream -------------------------------------------------------------------------
if ! command -v nats-server >/dev/null 2>&1; then
  log "installing NATS server"
  apt_install nats-server
fi
if ! port_open 4222; then
  log "starting NATS with JetStream"
  $SUDO mkdir -p /var/lib/nats-server
  $SUDO start-stop-daemon --start --oknodo --background --exec "$(command -v nats-server)" -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
fi
wait_for "NATS JetStream" "port_open 4222"
