#!/usr/bin/env bash
# The compose-file tests validate docker-compose.yml with the real docker-compose (Debian's 1.29;
# `config` needs no container engine). Installed from Debian's packages when missing.
set -euo pipefail
if command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1; then exit 0; fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
echo "[infra] installing docker-compose"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq docker-compose >/dev/null
