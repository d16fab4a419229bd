# One image for every Tideline service; pick the service with the command (see docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY apps ./apps
COPY packages ./packages
COPY infra/scripts ./infra/scripts
COPY tsconfig.base.json turbo.json ./
RUN npm ci --no-audit --no-fund && npm run db:generate && npm cache clean --force
USER node
CMD ["npx", "tsx", "apps/push-gateway/src/main.ts"]
