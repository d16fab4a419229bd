# One image for every Tideline service (docker-compose.yml, deploy/kubernetes). The first argument
# names the service: website-api, cache, informer, push-gateway, migrate, seed, kube-demo,
# dev-token, console — e.g. `docker run tideline/tideline:local website-api`.
#
# Stage 1 compiles the TypeScript to JavaScript (infra/compose/bundle.mjs, esbuild) and builds the
# console (vite); stage 2 holds only the compiled services, the packages they import and Node.js:
# no tsx, no TypeScript, no devDependencies, npm not in the process tree.
# The Node.js of .nvmrc; keep the two in step (a test checks it).
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.base.json turbo.json .nvmrc .node-version ./
COPY apps ./apps
COPY packages ./packages
RUN npm ci --no-audit --no-fund && npm run db:generate
COPY infra/compose ./infra/compose
# /out: the compiled services, exactly the packages they import (with their dependencies), the
# migrations, the Lua scripts and the built console.
RUN node infra/compose/bundle.mjs /out --node-modules \
  && node --import tsx node_modules/vite/bin/vite.js build apps/console --outDir /out/console --emptyOutDir

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /out ./
COPY infra/compose/entrypoint.sh /usr/local/bin/tideline
# The demo cluster writes its kubeconfig here (a named volume shared with the informer): the
# directory exists in the image and belongs to the runtime user, so a fresh volume inherits both.
RUN mkdir -p /var/lib/tideline/kube-demo && chown -R node:node /var/lib/tideline
USER node
ENTRYPOINT ["/usr/local/bin/tideline"]
CMD ["help"]
