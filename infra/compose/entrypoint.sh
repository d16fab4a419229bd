#!/bin/sh
# The image's entrypoint: runs the service named by the first argument (compiled JavaScript under
# /app/bin, see infra/compose/bundle.mjs) as `node` itself, so signals reach the service directly
# (compose adds `init: true`; Kubernetes sends SIGTERM to this process).
set -eu
name="${1:-help}"
if [ "$name" = help ] || [ ! -f "/app/bin/$name.mjs" ]; then
  echo "usage: <image> <service> [args]   services: $(tr -d '[]"\n ' </app/services.json | tr ',' ' ')" >&2
  [ "$name" = help ] && exit 0
  exit 64
fi
shift
exec node --enable-source-maps "/app/bin/$name.mjs" "$@"
