#!/usr/bin/env bash
# Prometheus and promtool (Debian's `prometheus` package) for the rules tests and the real-Prometheus
# dashboard test. Idempotent. The package would start a daemon on :9090; tests never use it (they run
# their own Prometheus on a free port), and this script keeps the package from starting one.
set -euo pipefail
if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then exit 0; fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
echo "[infra] installing Prometheus (promtool)"
# policy-rc.d answering 101 tells the package scripts not to start services; put one in place only
# for this install when the machine has none.
added_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  added_policy=1
fi
cleanup() { if [ -n "$added_policy" ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT
$SUDO apt-get update -qq -o DPkg::Lock::Timeout=600
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  -o DPkg::Lock::Timeout=600 prometheus >/dev/null
# Where a service manager started it anyway, stop it: nothing of Tideline's listens on :9090.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  $SUDO systemctl stop prometheus && $SUDO systemctl disable prometheus >/dev/null 2>&1 || true
fi
command -v promtool >/dev/null
