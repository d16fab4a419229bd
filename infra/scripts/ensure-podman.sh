#!/usr/bin/env bash
# `npm run test:compose` runs docker-compose.yml on podman (no Docker engine, no registry needed):
# podman + runc (crun refuses hybrid cgroup hosts), catatonit (the init of `init: true`), debootstrap (base images from Debian packages)
# and Debian's docker-compose 1.29 without its recommends (which would pull docker.io/containerd).
# Installed from Debian's packages when missing; idempotent.
set -euo pipefail
missing=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if ! command -v docker-compose >/dev/null 2>&1; then missing+=(docker-compose); fi
# The compose file runs services with `init: true`; podman looks for catatonit there, and its
# package only recommends "catatonit | tini | dumb-init" (a machine with tini already has no catatonit).
[ -x /usr/libexec/podman/catatonit ] || missing+=(catatonit)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
echo "[infra] installing ${missing[*]}"
$SUDO apt-get update -qq
for package in "${missing[@]}"; do
  if [ "$package" = docker-compose ]; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
  else
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$package" >/dev/null
  fi
done
